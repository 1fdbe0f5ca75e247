"""Run one batch: request (through the one attempt loop), extract, validate, each batch
on its own.

A batch's failure becomes a `BatchResult` with status "failed", never an
exception that cancels its siblings. Only cancellation (an interrupt) and errors
that make the run pointless (the output disk failing) leave `schedule`.

The checks of a reply's items are one pure function of plain data (client.pairs.
batchwork: pairs, rejections and the pairs' near-duplicate signatures out), done by
the session's `CheckPool`: in a worker process, or inline with generation.workers 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

import structlog

from client.errors import ContentError
from client.pairs.align import rewrite_response_format
from client.pairs.batchwork import BatchWork
from client.pairs.extract import Extracted, extract_items
from client.pairs.prompts import retry_seed
from client.pairs.records import (
    AttemptFailure,
    BatchResult,
    BatchSpec,
    Completion,
)
from client.pairs.schema import PairRules
from client.run.attempts import AttemptLoop, Call, RequestOutcome
from client.run.workers import CheckPool

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


class GenerationCall(Call[Extracted]):
    """A batch's request: pairs to write (free generation) or input lines to rewrite
    (an input run). A reply with no JSON item in it is a content failure, retried with
    the next seed of the batch (when seeds are sent)."""

    kind = "batch"

    def __init__(self, template: RequestTemplate, spec: BatchSpec) -> None:
        self.template = template
        self.spec = spec
        self.index = spec.index
        self.model = template.model
        self.messages = template.messages(spec)

    def params(self, content_retries: int) -> dict[str, Any]:
        params = self.template.params_for(self.spec)
        if self.template.send_seed:
            params["seed"] = retry_seed(self.spec.seed, content_retries)
        return params

    def read(self, completion: Completion) -> Extracted:
        extracted = extract_items(completion.text)
        if not extracted.found:
            raise ContentError(
                _no_json_message(completion),
                raw_text=completion.text,
                finish_reason=completion.finish_reason,
            )
        return extracted


class BatchRunner:
    """One batch, start to finish: `run` -> the attempt loop -> `_succeeded` (the reply's
    items checked) or `_failed`."""

    def __init__(
        self,
        *,
        attempts: AttemptLoop,
        template: RequestTemplate,
        checks: CheckPool,
        observer: RunObserver,
        quiet_success: bool = False,
    ) -> None:
        # The caller decides: with a progress bar on screen a line per batch is noise.
        self.quiet_success = quiet_success
        self.attempts = attempts
        self.template = template
        self.checks = checks
        self.observer = observer

    @property
    def run_id(self) -> str:
        return self.attempts.run_id

    async def run(self, spec: BatchSpec) -> BatchResult:
        self.observer.batch_started(spec)
        outcome = await self.attempts.run(
            GenerationCall(self.template, spec),
            on_retry=partial(self.observer.batch_retrying, spec),
        )
        extracted = outcome.value
        if extracted is None:
            return self._failed(spec, outcome)
        return await self._succeeded(spec, outcome, extracted)

    def _failed(self, spec: BatchSpec, outcome: RequestOutcome[Extracted]) -> BatchResult:
        log.error(
            "batch failed",
            run_id=self.run_id,
            batch=spec.index,
            reason=outcome.error_reason,
            attempts=outcome.attempts,
            error=outcome.error_message,
        )
        return BatchResult(
            spec=spec,
            status="failed",
            attempts=outcome.attempts,
            started_at=outcome.started_at,
            finished_at=outcome.finished_at,
            completion=outcome.completion,
            failures=outcome.failures,
            sampling_seed=outcome.params.get("seed"),
            error_reason=outcome.error_reason,
            error_message=outcome.error_message,
            error_status=outcome.error_status,
        )

    async def _succeeded(
        self, spec: BatchSpec, outcome: RequestOutcome[Extracted], extracted: Extracted
    ) -> BatchResult:
        completion = outcome.completion
        # Raises WorkerError when a worker process died: the run stops (run.generate).
        checked = await self.checks.check(
            BatchWork(extracted.items, self.run_id, spec.index, outcome.finished_at, spec.inputs)
        )
        accepted, rejected = checked.accepted, checked.rejected
        cut = completion is not None and completion.finish_reason == "length"
        result = BatchResult(
            spec=spec,
            status="truncated" if cut or extracted.broken else "ok",
            attempts=outcome.attempts,
            started_at=outcome.started_at,
            finished_at=outcome.finished_at,
            completion=completion,
            accepted=accepted,
            rejected=rejected,
            extraction=extracted.method,
            failures=outcome.failures,
            sampling_seed=outcome.params.get("seed"),
            signatures=checked.signatures,
        )
        done = log.debug if self.quiet_success else log.info
        done(
            "batch done",
            run_id=self.run_id,
            batch=spec.index,
            status=result.status,
            accepted=len(accepted),
            rejected=len(rejected),
            attempts=outcome.attempts,
            latency_s=round(completion.latency_s, 3) if completion else None,
            endpoint=completion.endpoint if completion else None,
        )
        return result
