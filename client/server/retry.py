"""The one retry policy (tenacity): what is retried, how long to wait, when to stop.

- Retried: TransientError (connection, timeout, 408/409/429/5xx) and ContentError
  (no usable JSON in the reply). Never a bare Exception, never a FatalRequestError.
- Wait: the server's Retry-After when it sent one (capped at `max_wait_s`), else
  exponential backoff with jitter; zero when the failure was the endpoint's and
  another endpoint can take the retry.
- Stop: after `max_attempts` attempts, after `max_content_attempts` content
  failures, or before a wait that would pass `max_elapsed_s` for the batch.
- Tests switch waits off with `set_testing(True)`, so retry tests run in milliseconds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio
import tenacity
from tenacity import AsyncRetrying, RetryCallState

from client.errors import ContentError, TransientError

_testing = False


def set_testing(on: bool) -> None:
    """No real sleeping between retries (waits are still computed and reported)."""
    global _testing
    _testing = on


async def _sleep(seconds: float) -> None:
    if not _testing:
        await anyio.sleep(seconds)


class _ContentFailures(tenacity.stop.stop_base):
    """Stop after this many replies with no usable JSON (one instance per batch)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0

    def __call__(self, retry_state: RetryCallState) -> bool:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, ContentError):
            self.count += 1
        return self.count >= self.limit


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    max_content_attempts: int
    initial_wait_s: float
    max_wait_s: float
    max_elapsed_s: float

    def retrying(
        self,
        *,
        before_sleep: Callable[[RetryCallState], Awaitable[None] | None] | None = None,
        failover: Callable[[BaseException], bool] | None = None,
    ) -> AsyncRetrying:
        """A fresh retry loop for one batch.

        `failover(exc)` answers whether another endpoint can take the retry at
        once, in which case the backoff wait is skipped.
        """
        backoff = tenacity.wait_exponential_jitter(
            multiplier=self.initial_wait_s, max=self.max_wait_s, jitter=self.initial_wait_s
        )

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, TransientError) and exc.retry_after_s is not None:
                return min(exc.retry_after_s, self.max_wait_s)
            if exc is not None and failover is not None and failover(exc):
                return 0.0
            return float(backoff(state))

        stop = (
            tenacity.stop_after_attempt(self.max_attempts)
            | tenacity.stop_before_delay(self.max_elapsed_s)
            | _ContentFailures(self.max_content_attempts)
        )
        return AsyncRetrying(
            sleep=_sleep,
            stop=stop,
            wait=wait,
            retry=tenacity.retry_if_exception_type((TransientError, ContentError)),
            before_sleep=before_sleep,
            reraise=True,
        )
