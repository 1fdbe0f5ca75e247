"""The one attempt loop: every request the run sends (a batch to generate, a batch to
judge, a batch of input lines to rewrite, a chunk of `client judge`) goes through it.

A request kind is a `Call` (distilabel's task shape: `messages` and `params` say what
to send, `read` turns a reply into what the stage wants or raises ContentError), and
`AttemptLoop.run` sends it under the retry policy:

    run ── policy.run ──> _attempt ── pool.slot ──> call.prepare, call.params
                              │                     endpoint.chat
                              │                     pool.report_success / report_failure
                              └─> call.read(completion)  (ContentError: a content retry)

so every kind takes a slot of the endpoint pool (the one bound on requests in flight),
fails over to another endpoint, feeds the concurrency tuner with its reply (through
`report_success`), and logs "retrying <kind>" and "endpoint taken out of rotation" the
same way. What the attempts came to is a `RequestOutcome`, never an exception: the
stage decides what a failure means for its batch (curator's lesson: exhausted retries
are data).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import structlog

from client.clock import utc_now
from client.errors import ContentError, FatalRequestError, RequestError, TransientError
from client.pairs.records import AttemptFailure, Completion
from client.server.api import Endpoint
from client.server.pool import EndpointPool
from client.server.retry import RetryPolicy, RetryWait

log = structlog.get_logger("client.run.attempts")

R = TypeVar("R")


class Call(ABC, Generic[R]):
    """One request of a stage, as the attempt loop sees it.

    Subclasses set `kind` (the word in "retrying <kind>"), `index` (the batch or chunk
    it belongs to, for the logs), `model` and `messages`, and define `params` and
    `read`; `prepare` is for a stage that must look at the endpoint before it sends
    (the judge fits its reply into the context left)."""

    kind: str
    index: int
    model: str
    messages: list[dict[str, str]]

    @abstractmethod
    def params(self, content_retries: int) -> dict[str, Any]:
        """Sampling parameters of the next attempt; `content_retries` is how many replies
        so far were unusable (a stage may sample differently after one)."""

    async def prepare(self, endpoint: Endpoint) -> None:
        """Called in the slot before every request, on the endpoint it will go to. May
        raise a RequestError (a FatalRequestError: nothing is sent)."""
        return

    @abstractmethod
    def read(self, completion: Completion) -> R:
        """What the stage makes of a reply; raises ContentError when it is unusable."""


@dataclass(frozen=True)
class RequestOutcome(Generic[R]):
    """What one request's attempts came to.

    `value` is `read`'s result for the reply that ended the loop; None when no reply was
    usable, and then `error` says why (the last attempt's error). `completion` is the
    last reply that arrived (usable or not), `params` what the last attempt sent."""

    attempts: int
    failures: list[AttemptFailure]
    started_at: str
    finished_at: str
    completion: Completion | None = None
    value: R | None = None
    error: RequestError | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def error_reason(self) -> str | None:
        return self.error.reason if self.error is not None else None

    @property
    def error_message(self) -> str | None:
        return self.error.message if self.error is not None else None

    @property
    def error_status(self) -> int | None:
        """The HTTP status of a refused request (None for any other failure)."""
        return self.error.status if isinstance(self.error, FatalRequestError) else None

    @property
    def out_of_content_retries(self) -> bool:
        """Every reply arrived but none was usable (the last one is in `completion`)."""
        return isinstance(self.error, ContentError) and self.completion is not None


@dataclass
class _Tally(Generic[R]):
    """What one request's attempts have gathered so far."""

    started_at: str
    attempts: int = 0
    content_retries: int = 0
    failures: list[AttemptFailure] = field(default_factory=list)
    last_url: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    completion: Completion | None = None
    value: R | None = None

    def failure(self, exc: RequestError, attempt: int, wait_s: float | None) -> AttemptFailure:
        return AttemptFailure(
            attempt=attempt,
            reason=exc.reason,
            message=exc.message,
            endpoint=self.last_url,
            wait_s=wait_s,
        )

    def outcome(self, error: RequestError | None) -> RequestOutcome[R]:
        return RequestOutcome(
            attempts=self.attempts,
            failures=self.failures,
            started_at=self.started_at,
            finished_at=utc_now(),
            completion=self.completion,
            value=self.value if error is None else None,
            error=error,
            params=self.params,
        )


@dataclass(frozen=True)
class AttemptLoop:
    """The engine every stage shares: the endpoint pool, the retry policy, and the run
    id its log lines carry."""

    pool: EndpointPool
    policy: RetryPolicy
    run_id: str

    async def run(
        self, call: Call[R], *, on_retry: Callable[[AttemptFailure], None] | None = None
    ) -> RequestOutcome[R]:
        """Send `call` until a reply reads, or the policy gives up; never raises a
        RequestError. `on_retry` hears of each failed attempt that will be retried."""
        tally: _Tally[R] = _Tally(started_at=utc_now())
        try:
            await self.policy.run(
                lambda: self._attempt(call, tally),
                before_sleep=lambda wait: self._retrying(call, tally, wait, on_retry),
                failover=lambda exc: self.pool.can_failover(exc, tally.last_url),
            )
        except RequestError as exc:
            tally.failures.append(tally.failure(exc, tally.attempts, None))
            return tally.outcome(exc)
        return tally.outcome(None)

    async def _attempt(self, call: Call[R], tally: _Tally[R]) -> None:
        """One request; raises what the retry policy decides on."""
        tally.attempts += 1
        async with self.pool.slot(avoid=tally.last_url) as endpoint:
            tally.last_url = endpoint.base_url
            await call.prepare(endpoint)
            tally.params = call.params(tally.content_retries)
            try:
                completion = await endpoint.chat(
                    model=call.model, messages=call.messages, params=tally.params
                )
            except TransientError as exc:
                self._failed_on(call, endpoint, exc)
                raise
            # With the reply, so --concurrency auto counts its tokens (whatever the kind).
            self.pool.report_success(endpoint, completion)
        tally.completion = completion
        try:
            tally.value = call.read(completion)
        except ContentError:
            tally.content_retries += 1
            raise

    def _failed_on(self, call: Call[R], endpoint: Endpoint, exc: TransientError) -> None:
        if self.pool.report_failure(endpoint, exc):
            log.warning(
                "endpoint taken out of rotation",
                run_id=self.run_id,
                batch=call.index,
                endpoint=endpoint.base_url,
                reason=exc.reason,
            )

    def _retrying(
        self,
        call: Call[R],
        tally: _Tally[R],
        wait: RetryWait,
        on_retry: Callable[[AttemptFailure], None] | None,
    ) -> None:
        failure = tally.failure(wait.error, wait.attempt, wait.wait_s)
        tally.failures.append(failure)
        log.warning(
            f"retrying {call.kind}",
            run_id=self.run_id,
            batch=call.index,
            attempt=wait.attempt,
            reason=wait.error.reason,
            wait_s=wait.wait_s,
            error=wait.error.message,
        )
        if on_retry is not None:
            on_retry(failure)
