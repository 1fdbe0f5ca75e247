"""Run one batch: request, retry, extract, validate, each batch on its own.

A batch's failure becomes a `BatchResult` with status "failed", never an
exception that cancels its siblings. Only cancellation (an interrupt) and errors
that make the run pointless (the output disk failing) leave `schedule`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

import structlog
from tenacity import RetryCallState

from client.clock import utc_now
from client.errors import (
    ContentError,
    FatalRequestError,
    RequestError,
    TransientError,
)
from client.pairs.align import rewrite_response_format
from client.pairs.extract import Extracted, extract_items
from client.pairs.prompts import retry_seed
from client.pairs.records import AttemptFailure, BatchResult, BatchSpec, Completion
from client.pairs.rewrites import check_rewrites
from client.pairs.schema import PairRules
from client.pairs.validate import ValidationContext, validate_items
from client.server.pool import EndpointPool
from client.server.retry import RetryPolicy

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
    # Input runs: each rewrite batch's response_format fixes its own inputs.
    rules: PairRules | None = None

    def params_for(self, spec: BatchSpec) -> dict[str, Any]:
        params = dict(self.params)
        if spec.inputs and self.rules is not None and "response_format" in params:
            params["response_format"] = rewrite_response_format(self.rules, spec.inputs)
        return params

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


@dataclass
class _Batch:
    """What one batch's attempts have gathered so far."""

    spec: BatchSpec
    started_at: str
    messages: list[dict[str, str]]
    failures: list[AttemptFailure] = field(default_factory=list)
    attempts: int = 0
    content_retries: int = 0
    last_url: str | None = None
    sampling_seed: int | None = None
    completion: Completion | None = None
    extracted: Extracted | None = None


class BatchRunner:
    """One batch, start to finish: `run` -> `_attempt_loop` (retries) -> `_attempt` (one
    request) -> `_succeeded` / `_failed` (the result)."""

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
        # The caller decides: with a progress bar on screen a line per batch is noise.
        self.quiet_success = quiet_success
        self.pool = pool
        self.policy = policy
        self.template = template
        self.validation = validation
        self.run_id = run_id
        self.observer = observer

    async def run(self, spec: BatchSpec) -> BatchResult:
        batch = _Batch(spec=spec, started_at=utc_now(), messages=self.template.messages(spec))
        self.observer.batch_started(spec)
        try:
            await self._attempt_loop(batch)
        except RequestError as exc:
            return self._failed(batch, exc)
        return self._succeeded(batch)

    async def _attempt_loop(self, batch: _Batch) -> None:
        retrying = self.policy.retrying(
            before_sleep=lambda state: self._before_sleep(batch, state),
            failover=lambda exc: self.pool.can_failover(exc, batch.last_url),
        )
        async for attempt in retrying:
            with attempt:
                await self._attempt(batch)

    def _before_sleep(self, batch: _Batch, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if not isinstance(exc, RequestError):
            return
        failure = AttemptFailure(
            attempt=state.attempt_number,
            reason=exc.reason,
            message=exc.message,
            endpoint=batch.last_url,
            wait_s=round(state.upcoming_sleep, 3),
        )
        batch.failures.append(failure)
        log.warning(
            "retrying batch",
            run_id=self.run_id,
            batch=batch.spec.index,
            attempt=state.attempt_number,
            reason=exc.reason,
            wait_s=failure.wait_s,
            error=exc.message,
        )
        self.observer.batch_retrying(batch.spec, failure)

    async def _attempt(self, batch: _Batch) -> None:
        """One request; raises what the retry loop decides on."""
        batch.attempts += 1
        params = self.template.params_for(batch.spec)
        if self.template.send_seed:
            batch.sampling_seed = retry_seed(batch.spec.seed, batch.content_retries)
            params["seed"] = batch.sampling_seed
        async with self.pool.slot(avoid=batch.last_url) as endpoint:
            batch.last_url = endpoint.base_url
            try:
                completion = await endpoint.chat(
                    model=self.template.model, messages=batch.messages, params=params
                )
            except TransientError as exc:
                if self.pool.report_failure(endpoint, exc):
                    log.warning(
                        "endpoint taken out of rotation",
                        run_id=self.run_id,
                        batch=batch.spec.index,
                        endpoint=endpoint.base_url,
                        reason=exc.reason,
                    )
                raise
            self.pool.report_success(endpoint, completion)
        batch.completion = completion
        batch.extracted = extract_items(completion.text)
        if not batch.extracted.found:
            batch.content_retries += 1
            raise ContentError(
                _no_json_message(completion),
                raw_text=completion.text,
                finish_reason=completion.finish_reason,
            )

    def _failed(self, batch: _Batch, exc: RequestError) -> BatchResult:
        batch.failures.append(
            AttemptFailure(
                attempt=batch.attempts,
                reason=exc.reason,
                message=exc.message,
                endpoint=batch.last_url,
                wait_s=None,
            )
        )
        log.error(
            "batch failed",
            run_id=self.run_id,
            batch=batch.spec.index,
            reason=exc.reason,
            attempts=batch.attempts,
            error=exc.message,
        )
        return BatchResult(
            spec=batch.spec,
            status="failed",
            attempts=batch.attempts,
            started_at=batch.started_at,
            finished_at=utc_now(),
            completion=batch.completion,
            failures=batch.failures,
            sampling_seed=batch.sampling_seed,
            error_reason=exc.reason,
            error_message=exc.message,
            error_status=exc.status if isinstance(exc, FatalRequestError) else None,
        )

    def _succeeded(self, batch: _Batch) -> BatchResult:
        completion, extracted = batch.completion, batch.extracted
        # The loop only ends without raising after a reply with JSON in it.
        assert completion is not None
        assert extracted is not None
        finished_at = utc_now()
        # A rewrite batch ties each item to its input first (pairs.rewrites).
        check = partial(check_rewrites, batch.spec.inputs) if batch.spec.inputs else validate_items
        accepted, rejected = check(
            extracted.items,
            ctx=self.validation,
            run_id=self.run_id,
            batch=batch.spec.index,
            generated_at=finished_at,
        )
        truncated = completion.finish_reason == "length" or extracted.broken
        result = BatchResult(
            spec=batch.spec,
            status="truncated" if truncated else "ok",
            attempts=batch.attempts,
            started_at=batch.started_at,
            finished_at=finished_at,
            completion=completion,
            accepted=accepted,
            rejected=rejected,
            extraction=extracted.method,
            failures=batch.failures,
            sampling_seed=batch.sampling_seed,
        )
        done = log.debug if self.quiet_success else log.info
        done(
            "batch done",
            run_id=self.run_id,
            batch=batch.spec.index,
            status=result.status,
            accepted=len(accepted),
            rejected=len(rejected),
            attempts=batch.attempts,
            latency_s=round(completion.latency_s, 3),
            endpoint=completion.endpoint,
        )
        return result
