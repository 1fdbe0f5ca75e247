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

from client.judge_config import JudgeConfig
from client.pairs.judge import Verdict
from client.pairs.judge_outcome import JudgeOutcome
from client.run.judge import JudgeStage

log = structlog.get_logger("client.run.judge_dataset")


@dataclass(frozen=True)
class DatasetItem:
    """A dataset pair as the judge sees it, with the pair itself kept whole."""

    pair: dict[str, Any]

    @property
    def topic(self) -> str:
        return str(self.pair.get("topic", ""))

    @property
    def standard(self) -> str:
        return str(self.pair["standard"])

    @property
    def gyaru(self) -> str:
        return str(self.pair["gyaru"])


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


def chunks(pairs: Sequence[dict[str, Any]], size: int) -> list[list[DatasetItem]]:
    return [
        [DatasetItem(p) for p in pairs[start : start + size]]
        for start in range(0, len(pairs), size)
    ]


def _apply(
    result: JudgedDataset, index: int, items: list[DatasetItem], outcome: JudgeOutcome
) -> None:
    if not outcome.judged:
        result.unjudged += len(items)
        result.failed_chunks.append(
            {
                "chunk": index,
                "pairs": len(items),
                "reason": outcome.error_reason,
                "message": outcome.error_message,
            }
        )
        return
    for item, verdict in zip(items, outcome.verdicts, strict=True):
        _apply_verdict(result, item, verdict)


def _apply_verdict(result: JudgedDataset, item: DatasetItem, verdict: Verdict) -> None:
    grades = verdict.grades.to_json() if verdict.grades is not None else None
    if verdict.kept:
        result.kept.append({**item.pair, "judge": grades})
        return
    assert verdict.reason is not None
    result.reasons[verdict.reason] += 1
    result.rejected.append(
        {"reason": verdict.reason, "detail": verdict.detail, "judge": grades, "pair": item.pair}
    )


async def judge_chunks(
    stage: JudgeStage, groups: list[list[DatasetItem]], *, workers: int
) -> JudgedDataset:
    """Judge every chunk, at most `workers` at once; the result keeps the source's order."""
    outcomes: dict[int, JudgeOutcome] = {}
    queue: Iterator[tuple[int, list[DatasetItem]]] = iter(enumerate(groups, start=1))

    async def worker() -> None:
        for index, items in queue:
            outcomes[index] = await stage.judge(index, items)
            log.info(
                "chunk judged" if outcomes[index].judged else "chunk not judged",
                chunk=index,
                of=len(groups),
                kept=sum(v.kept for v in outcomes[index].verdicts),
            )

    async with anyio.create_task_group() as tg:
        for _ in range(max(1, min(workers, len(groups)))):
            tg.start_soon(worker)
    result = JudgedDataset()
    for index, items in enumerate(groups, start=1):
        _apply(result, index, items, outcomes[index])
    return result


def rejected_path(out: Path) -> Path:
    return out.with_name(f"{out.stem}.rejected.jsonl")
