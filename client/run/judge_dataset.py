"""`client judge SOURCE`: grade an existing dataset (one made before the judge, or with
other thresholds) into a new one, with the same judge step a run uses.

The pairs go to the judge in chunks of `generation.num_pairs_per_batch`, as many at
once as the endpoint pool allows. Kept pairs carry their grades into the new
dataset; rejected ones go to a JSONL file beside it with the judge's reason. A
chunk whose judge step failed (server down) leaves its pairs out and the result
incomplete: running the command again grades the whole source again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import structlog
from pydantic import SecretStr

from client.clock import utc_now
from client.config import JudgeConfig, Settings
from client.errors import EXIT_FAILED, EXIT_OK
from client.pairs.judge import Verdict
from client.pairs.judge_outcome import JudgeOutcome
from client.pairs.judge_request import DictPair, JudgedItem, JudgePrompt
from client.run.attempts import AttemptLoop
from client.run.job import endpoint_pool, retry_policy
from client.run.judge import JudgeStage
from client.server.pool import EndpointPool
from client.server.readiness import resolve_model, wait_for_endpoints
from client.storage.dataset import Dataset, save_dataset

log = structlog.get_logger("client.run.judge_dataset")


@dataclass
class JudgedDataset:
    """The new dataset's pairs, the rejected ones, and the numbers."""

    kept: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    unjudged: int = 0
    failed_chunks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.unjudged == 0

    def summary(self, *, source: str, model: str, config: JudgeConfig) -> dict[str, Any]:
        return {
            "source": source,
            "model": model,
            "status": "complete" if self.complete else "incomplete",
            "kept": len(self.kept),
            "rejected": dict(self.reasons.most_common()),
            "unjudged": self.unjudged,
            "failed_chunks": self.failed_chunks,
            "thresholds": {
                "min_meaning": config.min_meaning,
                "min_voice": config.min_voice,
                "min_naturalness": config.min_naturalness,
                "min_safety": config.min_safety,
                "require_topic": config.require_topic,
            },
        }


@dataclass(frozen=True)
class ChunkFailure:
    chunk: int
    pairs: int
    reason: str | None
    message: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "chunk": self.chunk,
            "pairs": self.pairs,
            "reason": self.reason,
            "message": self.message,
        }


async def judge_in_chunks(
    stage: JudgeStage, items: Sequence[JudgedItem], *, size: int, workers: int
) -> tuple[list[Verdict | None], list[ChunkFailure]]:
    """A verdict per item, in order (None where its chunk could not be judged), and
    the chunks that could not; at most `workers` chunks at once."""
    groups = [items[start : start + size] for start in range(0, len(items), size)]
    outcomes: dict[int, JudgeOutcome] = {}
    queue: Iterator[tuple[int, Sequence[JudgedItem]]] = iter(enumerate(groups, start=1))

    async def worker() -> None:
        for index, group in queue:
            outcome = outcomes[index] = await stage.judge(index, group)
            log.info(
                "chunk judged" if outcome.judged else "chunk not judged",
                chunk=index,
                of=len(groups),
                kept=sum(v.kept for v in outcome.verdicts),
            )

    async with anyio.create_task_group() as tg:
        for _ in range(max(1, min(workers, len(groups)))):
            tg.start_soon(worker)
    verdicts: list[Verdict | None] = []
    failures: list[ChunkFailure] = []
    for index, group in enumerate(groups, start=1):
        outcome = outcomes[index]
        if outcome.judged:
            verdicts += outcome.verdicts
        else:
            verdicts += [None] * len(group)
            failures.append(
                ChunkFailure(index, len(group), outcome.error_reason, outcome.error_message)
            )
    return verdicts, failures


def judged_dataset(
    pairs: Sequence[dict[str, Any]],
    verdicts: Sequence[Verdict | None],
    failures: Sequence[ChunkFailure],
) -> JudgedDataset:
    result = JudgedDataset(failed_chunks=[f.to_json() for f in failures])
    for pair, verdict in zip(pairs, verdicts, strict=True):
        if verdict is None:
            result.unjudged += 1
            continue
        grades = verdict.grades.to_json() if verdict.grades is not None else None
        reason = verdict.reason
        if reason is None:  # kept
            result.kept.append({**pair, "judge": grades})
            continue
        result.reasons[reason] += 1
        result.rejected.append(
            {"reason": reason, "detail": verdict.detail, "judge": grades, "pair": pair}
        )
    return result


@dataclass(frozen=True)
class JudgeRun:
    source: Path
    out: Path
    rejected: Path
    model: str
    result: JudgedDataset

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.result.complete else EXIT_FAILED


# `--concurrency auto` tunes a generate run; grading a dataset uses the plain default.
AUTO_CONCURRENCY_FALLBACK = 4


def _pool(settings: Settings, api_key: SecretStr | None) -> EndpointPool:
    level = settings.generation.concurrency
    capacity = level if isinstance(level, int) else AUTO_CONCURRENCY_FALLBACK
    if settings.judge.base_url is None:
        return endpoint_pool(settings, api_key, capacity=capacity)
    judge_server = settings.model_copy(
        update={
            "server": settings.server.model_copy(update={"base_urls": (settings.judge.base_url,)})
        }
    )
    return endpoint_pool(judge_server, api_key, capacity=capacity)


@dataclass(frozen=True)
class JudgedItems:
    model: str
    verdicts: list[Verdict | None]
    failures: list[ChunkFailure]


async def judge_items(
    settings: Settings, items: Sequence[JudgedItem], *, api_key: SecretStr | None, label: str
) -> JudgedItems:
    """Grade any items (a dataset's pairs, a labelled set) on the judge's server, in
    chunks of generation.num_pairs_per_batch; `label` names them in the logs."""
    config, persona = settings.judge, settings.persona
    prompt = JudgePrompt.load(
        config.prompt_path,
        persona_name=persona.name,
        first_person=persona.first_person,
        topics=persona.topics,
    )
    pool = _pool(settings, api_key)
    try:
        statuses = await wait_for_endpoints(pool.endpoints, wait_s=settings.server.wait_s)
        default = "auto" if config.base_url else settings.server.model
        model = resolve_model(config.model or default, statuses)
        stage = JudgeStage(
            attempts=AttemptLoop(pool=pool, policy=retry_policy(settings), run_id=label),
            model=model,
            prompt=prompt,
            config=config,
            structured_output=settings.generation.structured_output,
        )
        verdicts, failures = await judge_in_chunks(
            stage, items, size=settings.generation.num_pairs_per_batch, workers=pool.total_capacity
        )
    finally:
        with anyio.CancelScope(shield=True):
            await pool.aclose()
    return JudgedItems(model, verdicts, failures)


async def judge_dataset(
    settings: Settings, *, api_key: SecretStr | None, dataset: Dataset, out: Path
) -> JudgeRun:
    """Grade `dataset` into `out` (and the rejected pairs beside it)."""
    items = [DictPair(p) for p in dataset.pairs]
    judged = await judge_items(settings, items, api_key=api_key, label=dataset.path.stem)
    result = judged_dataset(dataset.pairs, judged.verdicts, judged.failures)
    summary = result.summary(source=str(dataset.path), model=judged.model, config=settings.judge)
    metadata = {**dataset.metadata, "judged_at": utc_now(), "judge": summary}
    rejected = save_dataset(out, metadata, result.kept, rejected=result.rejected)
    return JudgeRun(dataset.path, out, rejected, judged.model, result)
