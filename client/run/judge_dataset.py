"""`client judge SOURCE`: grade an existing dataset (one made before the judge, or with
other thresholds) into a new one, with the same judge step a run uses.

The pairs go to the judge in chunks of `generation.num_pairs_per_batch`, as many at
once as the endpoint pool allows. Kept pairs carry their grades into the new
dataset; rejected ones go to a JSONL file beside it with the judge's reason. A
pair the judge could not grade (its server down, its reply unreadable, or the judge
stopped after replies it could not read) is left out and the result incomplete:
running the command again grades the whole source again. A judge that grades none
of the pairs is an error (`JudgeCannotGrade`), and nothing is written.
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
from client.errors import EXIT_FAILED, EXIT_OK, GyaruError
from client.pairs.judge import UNREADABLE, Verdict
from client.pairs.judge_outcome import JudgeOutcome
from client.pairs.judge_request import DictPair, JudgedItem, JudgePrompt
from client.run.attempts import AttemptLoop
from client.run.job import endpoint_pool, retry_policy
from client.run.judge import JudgeStage, remedies
from client.server.pool import EndpointPool
from client.server.readiness import resolve_model, wait_for_endpoints
from client.storage.dataset import Dataset, save_dataset
from client.storage.processed import UNJUDGED

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
    """A chunk some of whose pairs the judge did not grade: `pairs` of them, and why."""

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


class JudgeCannotGrade(GyaruError):
    """The judge graded none of the pairs it was given (exit 1)."""


def _chunk_verdicts(
    index: int, size: int, outcome: JudgeOutcome
) -> tuple[list[Verdict | None], ChunkFailure | None]:
    """A chunk's verdicts (None for each pair not graded) and, when some are None,
    what kept them from the judge."""
    found: list[Verdict | None] = list(outcome.verdicts) if outcome.graded else [None] * size
    waiting = sum(v is None for v in found)
    if not waiting:
        return found, None
    return found, ChunkFailure(index, waiting, outcome.error_reason, outcome.error_message)


async def judge_in_chunks(
    stage: JudgeStage, items: Sequence[JudgedItem], *, size: int, workers: int
) -> tuple[list[Verdict | None], list[ChunkFailure]]:
    """A verdict per item, in order (None where the judge did not grade it), and the
    chunks it left pairs of ungraded; at most `workers` chunks at once."""
    groups = [items[start : start + size] for start in range(0, len(items), size)]
    outcomes: dict[int, JudgeOutcome] = {}
    queue: Iterator[tuple[int, Sequence[JudgedItem]]] = iter(enumerate(groups, start=1))

    async def worker() -> None:
        for index, group in queue:
            outcome = outcomes[index] = await stage.judge(index, group)
            log.info(
                "chunk judged" if outcome.judged else f"chunk not judged in full: {outcome.status}",
                chunk=index,
                of=len(groups),
                kept=outcome.kept,
            )

    async with anyio.create_task_group() as tg:
        for _ in range(max(1, min(workers, len(groups)))):
            tg.start_soon(worker)
    verdicts: list[Verdict | None] = []
    failures: list[ChunkFailure] = []
    for index, group in enumerate(groups, start=1):
        found, failure = _chunk_verdicts(index, len(group), outcomes[index])
        verdicts += found
        if failure is not None:
            failures.append(failure)
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
        grades = verdict.grades.to_json()
        reason = verdict.reason
        if reason is None:  # kept
            graded = {k: v for k, v in pair.items() if k != UNJUDGED}
            result.kept.append({**graded, "judge": grades})
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
    # Why some pairs have no verdict (empty when every pair has one).
    why_ungraded: str = ""

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
    # The judge's one message when it stopped sending (replies it could not read).
    stopped: str | None = None
    # What to change when its replies cannot be read (run.judge.remedies).
    advice: str = ""

    @property
    def ungraded(self) -> int:
        return sum(v is None for v in self.verdicts)

    def why_ungraded(self) -> str:
        """Why pairs are without a verdict, in words: the stop message, or the first
        chunk's problem (with the remedies when a reply could not be read)."""
        if self.stopped:
            return self.stopped
        if not self.failures:
            return "every pair graded"
        first = self.failures[0]
        why = first.message or first.reason or "no verdict"
        if first.reason == UNREADABLE and self.advice:
            why += f". To have the pairs graded: {self.advice}"
        return why


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
    structured = settings.generation.structured_output
    advice = remedies(config, structured_output=structured, flags=False, no_judge=False)
    stopped: list[str] = []
    try:
        statuses = await wait_for_endpoints(pool.endpoints, wait_s=settings.server.wait_s)
        default = "auto" if config.base_url else settings.server.model
        model = resolve_model(config.model or default, statuses)
        stage = JudgeStage(
            attempts=AttemptLoop(pool=pool, policy=retry_policy(settings), run_id=label),
            model=model,
            prompt=prompt,
            config=config,
            structured_output=structured,
            # The command says it once, in its own last line.
            on_stop=stopped.append,
            advice=advice,
        )
        verdicts, failures = await judge_in_chunks(
            stage, items, size=settings.generation.num_pairs_per_batch, workers=pool.total_capacity
        )
    finally:
        with anyio.CancelScope(shield=True):
            await pool.aclose()
    return JudgedItems(model, verdicts, failures, stopped[0] if stopped else None, advice)


async def judge_dataset(
    settings: Settings, *, api_key: SecretStr | None, dataset: Dataset, out: Path
) -> JudgeRun:
    """Grade `dataset` into `out` (and the rejected pairs beside it)."""
    items = [DictPair(p) for p in dataset.pairs]
    judged = await judge_items(settings, items, api_key=api_key, label=dataset.path.stem)
    if items and judged.ungraded == len(items):
        raise JudgeCannotGrade(
            f"{dataset.path}: the judge graded none of its {len(items)} pairs, so nothing "
            f"was written: {judged.why_ungraded()}"
        )
    result = judged_dataset(dataset.pairs, judged.verdicts, judged.failures)
    summary = result.summary(source=str(dataset.path), model=judged.model, config=settings.judge)
    metadata = {**dataset.metadata, "judged_at": utc_now(), "judge": summary}
    rejected = save_dataset(out, metadata, result.kept, rejected=result.rejected)
    why = judged.why_ungraded() if judged.ungraded else ""
    return JudgeRun(dataset.path, out, rejected, judged.model, result, why)
