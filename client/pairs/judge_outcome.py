"""What the judge step of one batch came to, as it is stored in the batch's raw file.

`judged`: every pair has a verdict (kept, `judge`, or `judge_unreadable`).
`failed`: the judge could not be reached or refused the request; the pairs wait,
and a resumed run judges them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from client.pairs.judge import Verdict
from client.pairs.records import AttemptFailure, BatchResult, Completion, Pair, Rejection

JudgeStatus = Literal["judged", "failed"]


@dataclass(frozen=True)
class JudgeOutcome:
    status: JudgeStatus
    model: str
    attempts: int
    started_at: str
    finished_at: str
    completion: Completion | None = None
    failures: list[AttemptFailure] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    error_reason: str | None = None
    error_message: str | None = None
    error_status: int | None = None

    @property
    def judged(self) -> bool:
        return self.status == "judged"

    def to_json(self) -> dict[str, Any]:
        completion = self.completion
        data: dict[str, Any] = {
            "status": self.status,
            "model": self.model,
            "endpoint": completion.endpoint if completion else None,
            "attempts": self.attempts,
            "failures": [f.to_json() for f in self.failures],
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "latency_s": round(completion.latency_s, 3) if completion else None,
            "reply": None,
            "kept": sum(v.kept for v in self.verdicts),
            "rejected": sum(not v.kept for v in self.verdicts),
            "error": None,
        }
        if completion is not None:
            data["reply"] = {
                "text": completion.text,
                "finish_reason": completion.finish_reason,
                "usage": {
                    "prompt_tokens": completion.prompt_tokens,
                    "completion_tokens": completion.completion_tokens,
                },
            }
        if self.status == "failed":
            data["error"] = {
                "reason": self.error_reason,
                "status": self.error_status,
                "message": self.error_message,
            }
        return data


def _position(pair_id: str) -> int:
    # Ids end in the item's position in the reply (validate.validate_items).
    try:
        return int(pair_id.rsplit("-", 1)[-1])
    except ValueError:
        return -1


def judge_rejection(pair: Pair, verdict: Verdict) -> Rejection:
    """A pair the judge turned down, as a rejection that keeps the pair, its grades and
    (in an --input run) the input line it settles."""
    assert verdict.reason is not None
    grades = verdict.grades.to_json() if verdict.grades is not None else None
    return Rejection(
        index=_position(pair.id),
        reason=verdict.reason,
        detail=verdict.detail,
        item={**pair.to_json(), "judge": grades},
        input=pair.input,
        tied_by_text=pair.tied_by_text,
    )


def judge_rejection_json(pair: dict[str, Any], verdict: Verdict) -> dict[str, Any]:
    """The same for a pair read back from a raw file, as the raw file stores it."""
    assert verdict.reason is not None
    grades = verdict.grades.to_json() if verdict.grades is not None else None
    data: dict[str, Any] = {
        "index": _position(str(pair.get("id", ""))),
        "reason": verdict.reason,
        "detail": verdict.detail,
        "item": {**pair, "judge": grades},
    }
    if isinstance(pair.get("input"), dict):
        data["input"] = pair["input"]
    return data


def apply_verdicts(result: BatchResult, verdicts: Sequence[Verdict]) -> BatchResult:
    """The batch as the judge left it: kept pairs carry their grades, the others join
    the rejected items with the judge's reason."""
    kept: list[Pair] = []
    rejected = list(result.rejected)
    for pair, verdict in zip(result.accepted, verdicts, strict=True):
        if verdict.kept:
            kept.append(replace(pair, judge=verdict.grades))
        else:
            rejected.append(judge_rejection(pair, verdict))
    rejected.sort(key=lambda r: r.index)
    return replace(result, accepted=kept, rejected=rejected)


def apply_verdicts_json(
    accepted: Sequence[dict[str, Any]], verdicts: Sequence[Verdict]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[bool]]:
    """The same for pairs read back from a raw file (a resumed run): the kept pairs
    with grades, the judge's rejections, and which of `accepted` were kept."""
    kept: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    mask: list[bool] = []
    for pair, verdict in zip(accepted, verdicts, strict=True):
        mask.append(verdict.kept)
        if verdict.kept:
            grades = verdict.grades.to_json() if verdict.grades is not None else None
            kept.append({**pair, "judge": grades})
        else:
            rejected.append(judge_rejection_json(pair, verdict))
    return kept, rejected, mask
