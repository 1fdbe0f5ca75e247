"""A person's decisions about pairs, and what they do to a dataset. Pure.

A decision names a pair by id and carries a fingerprint of the two lines it was
made on: pair ids are positions in a run (`<run>-b0003-012`), so a dataset rebuilt
with other lines under the same id must not inherit a verdict about different text.

| decision | export and stats | labels file |
| --- | --- | --- |
| accepted | the pair as it is | the pair, good |
| rejected | left out | the pair, bad |
| edited | the pair with the person's persona line | the edited line good, the original bad |
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

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


@dataclass(frozen=True)
class Reviewed:
    """A dataset's pairs after the decisions: what export writes and stats counts."""

    pairs: list[dict[str, Any]]
    counts: dict[str, int] = field(default_factory=dict)  # verdict -> pairs it applied to
    # The pairs a person rejected: left out of `pairs`, and worse answers for DPO.
    rejected: list[dict[str, Any]] = field(default_factory=list)
    stale: int = 0  # decisions about lines that are no longer in the dataset

    @property
    def reviewed(self) -> int:
        return sum(self.counts.values())

    def to_json(self) -> dict[str, Any]:
        return {"reviewed": self.reviewed, **self.counts, "stale": self.stale}


def _current(
    pairs: Sequence[Mapping[str, Any]], decisions: Mapping[str, Decision]
) -> Iterator[tuple[Mapping[str, Any], Decision | None]]:
    for index, pair in enumerate(pairs):
        decision = decisions.get(pair_key(pair, index))
        yield pair, decision if decision is not None and decision.applies_to(pair) else None


def apply_review(pairs: Sequence[Mapping[str, Any]], decisions: Mapping[str, Decision]) -> Reviewed:
    """Rejected pairs left out, edited ones with the person's line; order kept."""
    kept: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    counts: Counter[str] = Counter()
    matched = 0
    for pair, decision in _current(pairs, decisions):
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
    return Reviewed(
        pairs=kept,
        rejected=rejected,
        counts={v: counts[v] for v in VERDICTS},
        stale=len(decisions) - matched,
    )


def label_rows(
    pairs: Sequence[Mapping[str, Any]],
    decisions: Mapping[str, Decision],
    *,
    persona: str | None = None,
) -> list[dict[str, Any]]:
    """Every reviewed pair as labelled examples for calibrating the checks; `persona`
    (the dataset's) lets calibration refuse a config of another persona. A line the
    judge graded carries its grades (`judge`), so `client calibrate --suggest` can learn
    the judge's minimum grades from the review too."""
    rows: list[dict[str, Any]] = []

    def label(pair: Mapping[str, Any], gyaru: str, verdict: str, graded: bool = True) -> None:
        row = {"standard": pair["standard"], "gyaru": gyaru, "topic": str(pair.get("topic", ""))}
        row |= {"label": verdict} | ({"persona": persona} if persona else {})
        grades = pair.get("judge")
        if graded and isinstance(grades, Mapping):
            row["judge"] = {k: grades[k] for k in _GRADE_KEYS if k in grades}
        rows.append(row)

    for pair, decision in _current(pairs, decisions):
        if decision is None:
            continue
        if decision.verdict == "edited" and decision.gyaru is not None:
            label(pair, pair["gyaru"], "bad")
            label(pair, decision.gyaru, "good", graded=False)  # the judge never saw this line
        else:
            label(pair, pair["gyaru"], "good" if decision.verdict == "accepted" else "bad")
    return rows
