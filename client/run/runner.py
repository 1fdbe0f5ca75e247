"""Run batches: every batch scheduled at once, at most `concurrency` requests in
flight per endpoint, each batch retried on its own.

A batch's failure becomes a `BatchResult` with status "failed", never an
exception that cancels its siblings. Only cancellation (an interrupt) and errors
that make the run pointless (the output disk failing) leave `schedule`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import anyio
import structlog
from tenacity import RetryCallState

from client.errors import (
    ContentError,
    FatalRequestError,
    RequestError,
    TransientError,
    unwrap_group,
)
from client.pairs.extract import extract_items
from client.pairs.prompts import retry_seed
from client.pairs.records import AttemptFailure, BatchResult, BatchSpec, Completion
from client.pairs.validate import ValidationContext, validate_items
from client.server.pool import EndpointPool
from client.server.retry import RetryPolicy
from client.storage.runstore import utc_now

log = structlog.get_logger("client.run.runner")


class RunObserver(Protocol):
    def batch_started(self, spec: BatchSpec) -> None: ...
    def batch_retrying(self, spec: BatchSpec, failure: AttemptFailure) -> None: ...
    def batch_finished(self, result: BatchResult, new_unique: int) -> None: ...


@dataclass(frozen=True)
class RequestTemplate:
    model: str
    system_prompt: str
    # Sampling parameters and response_format, the same for every batch.
    params: Mapping[str, Any]
    # Send each batch's seed as the sampling seed (generation.send_seed).
    send_seed: bool = False

    def messages(self, spec: BatchSpec) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": self.system_prompt},
            {"role": "user", "content": spec.user_message},
        ]


def _no_json_message(completion: Completion) -> str:
    if completion.finish_reason == "length":
        return (
            f"reply was cut at max tokens ({completion.completion_tokens} tokens) before the "
            "first complete pair; raise generation.max_new_tokens or lower num_pairs_per_batch"
        )
    preview = completion.text.strip().replace("\n", " ")[:80]
    return f"reply holds no JSON pairs (finish_reason={completion.finish_reason}): {preview!r}"


class BatchRunner:
    def __init__(
        self,
        *,
        pool: EndpointPool,
        policy: RetryPolicy,
        template: RequestTemplate,
        validation: ValidationContext,
        run_id: str,
        observer: RunObserver,
        quiet_success: bool = False,
    ) -> None:
        self.quiet_success = quiet_success
        self.pool = pool
        self.policy = policy
        self.template = template
        self.validation = validation
        self.run_id = run_id
        self.observer = observer

    async def run(self, spec: BatchSpec) -> BatchResult:
        blog = log.bind(run_id=self.run_id, batch=spec.index)
        started_at = utc_now()
        failures: list[AttemptFailure] = []
        attempts = 0
        content_retries = 0
        last_url: str | None = None
        sampling_seed: int | None = None
        completion: Completion | None = None
        messages = self.template.messages(spec)
        self.observer.batch_started(spec)

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            if not isinstance(exc, RequestError):
                return
            failure = AttemptFailure(
                attempt=state.attempt_number,
                reason=exc.reason,
                message=exc.message,
                endpoint=last_url,
                wait_s=round(state.upcoming_sleep, 3),
            )
            failures.append(failure)
            blog.warning(
                "retrying batch",
                attempt=state.attempt_number,
                reason=exc.reason,
                wait_s=failure.wait_s,
                error=exc.message,
            )
            self.observer.batch_retrying(spec, failure)

        retrying = self.policy.retrying(
            before_sleep=before_sleep,
            failover=lambda exc: self.pool.can_failover(exc, last_url),
        )
        try:
            async for attempt in retrying:
                with attempt:
                    attempts += 1
                    params = dict(self.template.params)
                    if self.template.send_seed:
                        sampling_seed = retry_seed(spec.seed, content_retries)
                        params["seed"] = sampling_seed
                    async with self.pool.slot(avoid=last_url) as endpoint:
                        last_url = endpoint.base_url
                        try:
                            completion = await endpoint.chat(
                                model=self.template.model, messages=messages, params=params
                            )
                        except TransientError as exc:
                            if self.pool.report_failure(endpoint, exc):
                                blog.warning(
                                    "endpoint taken out of rotation",
                                    endpoint=endpoint.base_url,
                                    reason=exc.reason,
                                )
                            raise
                        self.pool.report_success(endpoint)
                    extracted = extract_items(completion.text)
                    if not extracted.found:
                        content_retries += 1
                        raise ContentError(
                            _no_json_message(completion),
                            raw_text=completion.text,
                            finish_reason=completion.finish_reason,
                        )
        except RequestError as exc:
            failures.append(
                AttemptFailure(
                    attempt=attempts,
                    reason=exc.reason,
                    message=exc.message,
                    endpoint=last_url,
                    wait_s=None,
                )
            )
            blog.error("batch failed", reason=exc.reason, attempts=attempts, error=exc.message)
            return BatchResult(
                spec=spec,
                status="failed",
                attempts=attempts,
                started_at=started_at,
                finished_at=utc_now(),
                completion=completion,
                failures=failures,
                sampling_seed=sampling_seed,
                error_reason=exc.reason,
                error_message=exc.message,
                error_status=exc.status if isinstance(exc, FatalRequestError) else None,
            )

        assert completion is not None  # the loop only ends without raising after a reply
        finished_at = utc_now()
        accepted, rejected = validate_items(
            extracted.items,
            ctx=self.validation,
            run_id=self.run_id,
            batch=spec.index,
            generated_at=finished_at,
        )
        truncated = completion.finish_reason == "length" or extracted.broken
        result = BatchResult(
            spec=spec,
            status="truncated" if truncated else "ok",
            attempts=attempts,
            started_at=started_at,
            finished_at=finished_at,
            completion=completion,
            accepted=accepted,
            rejected=rejected,
            extraction=extracted.method,
            failures=failures,
            sampling_seed=sampling_seed,
        )
        # With a progress bar on screen a line per batch is noise: debug level then.
        done = blog.debug if self.quiet_success else blog.info
        done(
            "batch done",
            status=result.status,
            accepted=len(accepted),
            rejected=len(rejected),
            attempts=attempts,
            latency_s=round(completion.latency_s, 3),
            endpoint=completion.endpoint,
        )
        return result


class TargetGate:
    """Target mode: admit another batch only while the pairs expected from the
    batches in flight would not already reach the target."""

    def __init__(self, target: int, *, num_pairs: int, unique_so_far: int = 0) -> None:
        self.target = target
        self.num_pairs = num_pairs
        self.unique = unique_so_far
        self.in_flight = 0
        self._finished = 0
        self._yield = 0
        self._changed = anyio.Condition()

    @property
    def reached(self) -> bool:
        return self.unique >= self.target

    def _expected_per_batch(self) -> float:
        return self._yield / self._finished if self._finished else float(self.num_pairs)

    async def admit(self) -> bool:
        async with self._changed:
            while True:
                if self.reached:
                    return False
                expected = self.unique + self.in_flight * self._expected_per_batch()
                if self.in_flight == 0 or expected < self.target:
                    self.in_flight += 1
                    return True
                await self._changed.wait()

    async def done(self, new_unique: int) -> None:
        async with self._changed:
            self.in_flight -= 1
            self._finished += 1
            self._yield += new_unique
            self.unique += new_unique
            self._changed.notify_all()


async def schedule(
    specs: Iterator[BatchSpec],
    *,
    workers: int,
    run_batch: Callable[[BatchSpec], Awaitable[BatchResult]],
    on_result: Callable[[BatchResult], Awaitable[int]],
    gate: TargetGate | None = None,
) -> None:
    """Run every spec through `workers` concurrent workers.

    Specs are pulled lazily, so a plan of a million batches costs nothing up
    front. `on_result` stores a result and answers how many new unique pairs it
    brought (for target mode).
    """

    async def worker() -> None:
        while True:
            if gate is not None and not await gate.admit():
                return
            spec = next(specs, None)
            if spec is None:
                if gate is not None:
                    await gate.done(0)
                return
            result = await run_batch(spec)
            new_unique = await on_result(result)
            if gate is not None:
                await gate.done(new_unique)

    try:
        async with anyio.create_task_group() as tg:
            for _ in range(workers):
                tg.start_soon(worker)
    except BaseExceptionGroup as group:
        raise unwrap_group(group) from None
