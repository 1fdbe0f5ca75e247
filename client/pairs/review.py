"""A person's decisions about pairs, and what they do to a dataset. Pure.

A decision names a pair by id and carries a fingerprint of the two lines it was
made on: pair ids are positions in a run (`<run>-b0003-012`), so a dataset rebuilt
with other lines under the same id must not inherit a verdict about different text.
A decision about an item the run rejected (client.pairs.rescue) keeps the item too.

| decision | on a dataset pair: export and stats | on a run-rejected item | labels file |
| --- | --- | --- | --- |
| accepted | the pair as it is | added to the dataset (rescued) | the line, good |
| rejected | left out | stays out | the line, bad |
| edited | the pair with the person's persona line | added with the person's line | the edited line good, the original bad |

Label rows say what the run decided (`run`: accepted or rejected, with `run_reason`),
so a good label on a line the checks rejected is plain to see.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from client.pairs.rescue import RunItem, rescued_pair

Verdict = Literal["accepted", "rejected", "edited"]
VERDICTS: tuple[Verdict, ...] = ("accepted", "rejected", "edited")
# A persona line longer than this is not a sentence; the page refuses it.
MAX_EDIT_CHARS = 2000
# The judge's grades a labels row keeps (its reason is the judge's, not the reviewer's).
_GRADE_KEYS = ("meaning", "voice", "naturalness", "safety", "topic_ok")


def pair_key(pair: Mapping[str, Any], index: int) -> str:
    """The name a decision files a pair under: its id, or its place in a dataset
    written without ids."""
    pair_id = pair.get("id")
    return str(pair_id) if pair_id not in (None, "") else f"#{index + 1}"


def fingerprint(standard: str, gyaru: str) -> str:
    """A short digest of both lines: enough to tell that a pair changed under its id."""
    digest = hashlib.sha256(f"{standard}\x00{gyaru}".encode()).hexdigest()
    return digest[:16]


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    lines: str  # fingerprint() of the pair as it was reviewed
    at: str
    gyaru: str | None = None  # the person's persona line, for "edited" only

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown decision {self.verdict!r}")
        if (self.verdict == "edited") != (self.gyaru is not None):
            raise ValueError("an edited decision, and only that, carries a persona line")
        if self.gyaru is not None and not (0 < len(self.gyaru.strip()) <= MAX_EDIT_CHARS):
            raise ValueError(f"an edited persona line must hold 1 to {MAX_EDIT_CHARS} characters")

    def applies_to(self, pair: Mapping[str, Any]) -> bool:
        return self.lines == fingerprint(pair["standard"], pair["gyaru"])

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"decision": self.verdict, "lines": self.lines, "at": self.at}
        if self.gyaru is not None:
            data["gyaru"] = self.gyaru
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Decision:
        """Raises ValueError (or KeyError/TypeError) for anything not written by to_json."""
        gyaru = data.get("gyaru")
        return cls(
            verdict=data["decision"],
            lines=str(data["lines"]),
            at=str(data.get("at", "")),
            gyaru=gyaru if isinstance(gyaru, str) else None,
        )


@dataclass(frozen=True, slots=True)
class RunDecision:
    """A decision about an item the run rejected, with the item as it was decided on
    (the review file keeps it: export needs no raw file to add a rescued pair)."""

    decision: Decision
    item: RunItem

    @property
    def rescued(self) -> bool:
        return self.decision.verdict != "rejected"

    def to_json(self) -> dict[str, Any]:
        return {**self.decision.to_json(), "item": self.item.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunDecision:
        item = data["item"]
        if not isinstance(item, Mapping):
            raise ValueError("the decision keeps no item")
        return cls(Decision.from_json(data), RunItem.from_json(item))


@dataclass(frozen=True)
class Review:
    """Everything a review file holds: decisions about the dataset's pairs (by pair id)
    and about the items the run rejected (by item id)."""

    decisions: Mapping[str, Decision] = field(default_factory=dict)
    run_items: Mapping[str, RunDecision] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.decisions) + len(self.run_items)


@dataclass(frozen=True)
class Reviewed:
    """A dataset's pairs after the decisions: what export writes and stats counts."""

    pairs: list[dict[str, Any]]
    counts: dict[str, int] = field(default_factory=dict)  # verdict -> pairs it applied to
    # The lines a person rejected (dataset pairs left out, run items they agreed the
    # run was right about): worse answers for DPO.
    rejected: list[dict[str, Any]] = field(default_factory=list)
    stale: int = 0  # decisions about lines that are no longer in the dataset
    rescued: int = 0  # run-rejected items added to the pairs
    confirmed: int = 0  # run-rejected items the person rejected too

    @property
    def reviewed(self) -> int:
        return sum(self.counts.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "reviewed": self.reviewed,
            **self.counts,
            "rescued": self.rescued,
            "rejection_confirmed": self.confirmed,
            "stale": self.stale,
        }


def _current(
    pairs: Sequence[Mapping[str, Any]], decisions: Mapping[str, Decision]
) -> Iterator[tuple[Mapping[str, Any], Decision | None]]:
    for index, pair in enumerate(pairs):
        decision = decisions.get(pair_key(pair, index))
        yield pair, decision if decision is not None and decision.applies_to(pair) else None


def _run_decisions(review: Review) -> list[RunDecision]:
    # By id: a run's items in batch order, wherever the page put them in the file.
    return [review.run_items[key] for key in sorted(review.run_items)]


def apply_review(pairs: Sequence[Mapping[str, Any]], review: Review) -> Reviewed:
    """Rejected pairs left out, edited ones with the person's line, order kept; then
    the run-rejected items the person rescued."""
    kept: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    counts: Counter[str] = Counter()
    matched = 0
    for pair, decision in _current(pairs, review.decisions):
        if decision is None:
            kept.append(dict(pair))
            continue
        matched += 1
        counts[decision.verdict] += 1
        if decision.verdict == "accepted":
            kept.append(dict(pair))
        elif decision.verdict == "edited":
            kept.append({**pair, "gyaru": decision.gyaru, "edited_from": pair["gyaru"]})
        else:
            rejected.append(dict(pair))
    runs = _run_decisions(review)
    for run in runs:
        if run.rescued:
            kept.append(rescued_pair(run.item, run.decision.gyaru))
        else:
            rejected.append(
                {"id": run.item.id, "standard": run.item.standard, "gyaru": run.item.gyaru}
            )
    rescued = sum(run.rescued for run in runs)
    return Reviewed(
        pairs=kept,
        rejected=rejected,
        counts={v: counts[v] for v in VERDICTS},
        stale=len(review.decisions) - matched,
        rescued=rescued,
        confirmed=len(runs) - rescued,
    )


def _grades(judged: Any) -> dict[str, Any]:
    """The judge's grades of a line, as a labels row keeps them (none if ungraded)."""
    if not isinstance(judged, Mapping):
        return {}
    return {"judge": {k: judged[k] for k in _GRADE_KEYS if k in judged}}


def label_rows(
    pairs: Sequence[Mapping[str, Any]], review: Review, *, persona: str | None = None
) -> list[dict[str, Any]]:
    """Every reviewed line as a labelled example for calibrating the checks; `persona`
    (the dataset's) lets calibration refuse a config of another persona. A row says
    what the run decided about a line it saw (`run`, and `run_reason` when it
    rejected it); a person's own line was never seen by the run. A line the judge
    graded carries its grades (`judge`), so `client calibrate --suggest` can learn the
    judge's minimum grades from the review too."""
    rows: list[dict[str, Any]] = []
    tail = {"persona": persona} if persona else {}

    def label(standard: str, gyaru: str, topic: str, verdict: str, seen: dict[str, Any]) -> None:
        rows.append(
            {"standard": standard, "gyaru": gyaru, "topic": topic, "label": verdict} | tail | seen
        )

    def decided(standard: str, gyaru: str, topic: str, d: Decision, seen: dict[str, Any]) -> None:
        if d.verdict == "edited" and d.gyaru is not None:
            label(standard, gyaru, topic, "bad", seen)
            label(standard, d.gyaru, topic, "good", {})  # neither the run nor the judge saw it
        else:
            label(standard, gyaru, topic, "good" if d.verdict == "accepted" else "bad", seen)

    for pair, decision in _current(pairs, review.decisions):
        if decision is not None:
            topic = str(pair.get("topic", ""))
            seen = {"run": "accepted"} | _grades(pair.get("judge"))
            decided(pair["standard"], pair["gyaru"], topic, decision, seen)
    for run in _run_decisions(review):
        item = run.item
        seen = {"run": "rejected", "run_reason": item.reason}
        seen |= _grades(item.judge.to_json() if item.judge is not None else None)
        decided(item.standard, item.gyaru, item.topic, run.decision, seen)
    return rows
