"""What the judge step of one batch came to, as it is stored in the batch's raw file.

`judged`: every pair has a verdict (kept, or rejected as `judge`).
`unreadable`: the reply, after its content retries, left some pairs (or all) without
    readable grades: those it graded have their verdicts, the others wait for the judge.
`failed`: the judge could not be reached or refused the request; the pairs wait.
`stopped`: not sent, because the judge had stopped (it could not be read batch after
    batch); the pairs wait.

A pair waiting for the judge stays among the batch's accepted pairs without grades;
a resumed run grades it (or, with --no-judge, lets it into the dataset unjudged).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from client.pairs.judge import UNREADABLE, Verdict
from client.pairs.records import AttemptFailure, BatchResult, Completion, Pair, Rejection

JudgeStatus = Literal["judged", "unreadable", "failed", "stopped"]
# The error reason of a `stopped` step.
STOPPED_REASON = "judge_stopped"


@dataclass(frozen=True)
class JudgeOutcome:
    status: JudgeStatus
    model: str
    attempts: int
    started_at: str
    finished_at: str
    completion: Completion | None = None
    failures: list[AttemptFailure] = field(default_factory=list)
    # One per pair sent (judged, unreadable); None: no readable grades, the pair waits.
    verdicts: Sequence[Verdict | None] = field(default_factory=list)
    error_reason: str | None = None
    error_message: str | None = None
    error_status: int | None = None

    @property
    def judged(self) -> bool:
        """Every pair has a verdict."""
        return self.status == "judged"

    @property
    def graded(self) -> bool:
        """Some pairs may have verdicts to apply (judged, or unreadable in part)."""
        return self.status in ("judged", "unreadable")

    @property
    def kept(self) -> int:
        return sum(v is not None and v.kept for v in self.verdicts)

    @property
    def rejected(self) -> int:
        return sum(v is not None and not v.kept for v in self.verdicts)

    @property
    def awaiting(self) -> int:
        """Pairs an unreadable reply left without a verdict (a failed or stopped step
        has no verdicts: all its pairs wait)."""
        return sum(v is None for v in self.verdicts)

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
            "kept": self.kept,
            "rejected": self.rejected,
            "awaiting": self.awaiting,
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
        if self.status != "judged":
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
    return Rejection(
        index=_position(pair.id),
        reason=verdict.reason,
        detail=verdict.detail,
        item={**pair.to_json(), "judge": verdict.grades.to_json()},
        input=pair.input,
        tied_by_text=pair.tied_by_text,
    )


def judge_rejection_json(pair: dict[str, Any], verdict: Verdict) -> dict[str, Any]:
    """The same for a pair read back from a raw file, as the raw file stores it."""
    assert verdict.reason is not None
    data: dict[str, Any] = {
        "index": _position(str(pair.get("id", ""))),
        "reason": verdict.reason,
        "detail": verdict.detail,
        "item": {**pair, "judge": verdict.grades.to_json()},
    }
    if isinstance(pair.get("input"), dict):
        data["input"] = pair["input"]
    return data


def apply_verdicts(result: BatchResult, verdicts: Sequence[Verdict | None]) -> BatchResult:
    """The batch as the judge left it: kept pairs carry their grades, pairs without a
    verdict stay as they were (waiting for the judge), the others join the rejected
    items with the judge's reason."""
    accepted: list[Pair] = []
    rejected = list(result.rejected)
    for pair, verdict in zip(result.accepted, verdicts, strict=True):
        if verdict is None:
            accepted.append(pair)
        elif verdict.kept:
            accepted.append(replace(pair, judge=verdict.grades))
        else:
            rejected.append(judge_rejection(pair, verdict))
    rejected.sort(key=lambda r: r.index)
    return replace(result, accepted=accepted, rejected=rejected)


def apply_verdicts_json(
    accepted: Sequence[dict[str, Any]], verdicts: Sequence[Verdict | None]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[bool]]:
    """The same for a batch's accepted pairs read back from a raw file (a resumed run),
    whose pairs without grades were sent to the judge, in order, and got `verdicts`:
    the pairs that stay accepted (graded before, kept now with their grades, or still
    without a verdict), the judge's rejections, and which of `accepted` stay."""
    ungraded = [pair for pair in accepted if not is_graded(pair)]
    if len(ungraded) != len(verdicts):
        raise ValueError(f"{len(verdicts)} verdicts for {len(ungraded)} pairs without grades")
    decided = iter(verdicts)
    stay: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    mask: list[bool] = []
    for pair in accepted:
        verdict = None if is_graded(pair) else next(decided)
        if verdict is not None and not verdict.kept:
            rejected.append(judge_rejection_json(pair, verdict))
        elif verdict is not None:
            stay.append({**pair, "judge": verdict.grades.to_json()})
        else:
            stay.append(pair)
        mask.append(verdict is None or verdict.kept)
    return stay, rejected, mask


def is_graded(pair: Any) -> bool:
    """Whether a stored pair carries the judge's grades."""
    return isinstance(pair, dict) and isinstance(pair.get("judge"), dict)


def returned_unreadable(rejected: Sequence[Any]) -> tuple[list[dict[str, Any]], list[Any]]:
    """Runs made before only a readable grade was a verdict rejected a pair without
    readable grades as `judge_unreadable`: those pairs, taken back as pairs waiting for
    the judge, and the rejections that stay."""
    returned: list[dict[str, Any]] = []
    kept: list[Any] = []
    for rejection in rejected:
        item = rejection.get("item") if isinstance(rejection, dict) else None
        if isinstance(item, dict) and rejection.get("reason") == UNREADABLE:
            returned.append({k: v for k, v in item.items() if k != "judge"})
        else:
            kept.append(rejection)
    return returned, kept


def pair_position(pair: dict[str, Any]) -> int:
    """A stored pair's position in its batch's reply (for keeping pairs in that order)."""
    return _position(str(pair.get("id", "")))
