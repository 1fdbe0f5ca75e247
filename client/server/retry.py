"""The one retry policy, and the one module that imports tenacity: what is retried, how
long to wait, when to stop.

- Retried: TransientError (connection, timeout, 408/409/429/5xx) and ContentError
  (no usable reply). Never a bare Exception, never a FatalRequestError.
- Wait: the server's Retry-After when it sent one (capped at `max_wait_s`), else
  exponential backoff with jitter; zero when the failure was the endpoint's and
  another endpoint can take the retry.
- Stop: after `max_attempts` attempts, after `max_content_attempts` content
  failures, or before a wait that would pass `max_elapsed_s` for the request.
- Tests switch waits off with `set_testing(True)`, so retry tests run in milliseconds.

Callers see none of tenacity: `RetryPolicy.run` takes the attempt as a coroutine
function and tells `before_sleep` about each retry as a `RetryWait`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio
import tenacity
from tenacity import AsyncRetrying, RetryCallState

from client.errors import ContentError, RequestError, TransientError

_testing = False


def set_testing(on: bool) -> None:
    """No real sleeping between retries (waits are still computed and reported)."""
    global _testing
    _testing = on


async def _sleep(seconds: float) -> None:
    if not _testing:
        await anyio.sleep(seconds)


@dataclass(frozen=True, slots=True)
class RetryWait:
    """One failed attempt that will be retried: which, why, and the wait before the next."""

    attempt: int
    error: RequestError
    wait_s: float


class _ContentFailures(tenacity.stop.stop_base):
    """Stop after this many unusable replies (one instance per request)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0

    def __call__(self, retry_state: RetryCallState) -> bool:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, ContentError):
            self.count += 1
        return self.count >= self.limit


def _error(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome else None


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    max_content_attempts: int
    initial_wait_s: float
    max_wait_s: float
    max_elapsed_s: float

    def _retrying(
        self,
        before_sleep: Callable[[RetryWait], None] | None,
        failover: Callable[[BaseException], bool] | None,
    ) -> AsyncRetrying:
        backoff = tenacity.wait_exponential_jitter(
            multiplier=self.initial_wait_s, max=self.max_wait_s, jitter=self.initial_wait_s
        )

        def wait(state: RetryCallState) -> float:
            exc = _error(state)
            if isinstance(exc, TransientError) and exc.retry_after_s is not None:
                return min(exc.retry_after_s, self.max_wait_s)
            if exc is not None and failover is not None and failover(exc):
                return 0.0
            return float(backoff(state))

        def sleeping(state: RetryCallState) -> None:
            exc = _error(state)
            if before_sleep is not None and isinstance(exc, RequestError):
                before_sleep(RetryWait(state.attempt_number, exc, round(state.upcoming_sleep, 3)))

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
            before_sleep=sleeping,
            reraise=True,
        )

    async def run(
        self,
        attempt: Callable[[], Awaitable[None]],
        *,
        before_sleep: Callable[[RetryWait], None] | None = None,
        failover: Callable[[BaseException], bool] | None = None,
    ) -> None:
        """Await `attempt()` until it returns, or raise the last error once the policy
        gives up (a FatalRequestError at once).

        `before_sleep` hears of every retry before its wait; `failover(exc)` answers
        whether another endpoint can take the retry at once, which skips the wait.
        """
        async for try_ in self._retrying(before_sleep, failover):
            with try_:
                await attempt()
