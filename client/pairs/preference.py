"""Preference pairs for DPO, in the shape TRL's DPOTrainer reads. Pure.

TRL's conversational preference format (docs/source/dataset_formats.md in TRL):

    {"prompt":   [{"role": "system", "content": ...}, {"role": "user", "content": standard}],
     "chosen":   [{"role": "assistant", "content": persona line}],
     "rejected": [{"role": "assistant", "content": a worse line}]}

`rejected` is a persona line for the same standard line that the run rejected for
how it sounds (`DPO_REJECTED_REASONS`: no first person, low quality score, not
Japanese, or the judge's verdict), the first one found in batch order; where the run
rejected none, it is the plain standard line itself, which teaches the model that
answering in the standard register is the worse answer. A pair a person edited in
`client review` has the best rejected line of all: the model's own line they
corrected (`edited_from`), which comes first. Next comes a line a person rejected in
review for the same standard line (`review_rejected_lines`): the pair left the
dataset, but where another pair of that standard line stays, it is its worse answer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from client.pairs.dedup import normalise

# Rejections about the persona line's voice, not about the item's structure: what
# the judge, the first-person check and the quality score turn down.
DPO_REJECTED_REASONS = frozenset(
    {"missing_first_person", "low_quality", "not_japanese", "judge", "register"}
)
DPO_COLUMNS = ("prompt", "chosen", "rejected")
REVIEW_REJECTED = "rejected_in_review"


def rejected_lines(records: Iterable[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    """Normalised standard line -> (first rejected persona line, its reason), from raw
    batch records in batch order."""
    found: dict[str, tuple[str, str]] = {}
    for record in records:
        for rejection in record.get("rejected") or []:
            if not isinstance(rejection, dict):
                continue
            reason = str(rejection.get("reason"))
            item = rejection.get("item")
            if reason not in DPO_REJECTED_REASONS or not isinstance(item, dict):
                continue
            standard, gyaru = item.get("standard"), item.get("gyaru")
            if isinstance(standard, str) and isinstance(gyaru, str) and gyaru.strip():
                found.setdefault(normalise(standard), (gyaru.strip(), reason))
    return found


def review_rejected_lines(
    pairs: Iterable[dict[str, Any]], found: dict[str, tuple[str, str]]
) -> dict[str, tuple[str, str]]:
    """`found` (from rejected_lines) with the lines a person rejected in review put
    first: normalised standard line -> (their persona line, "rejected_in_review")."""
    merged = dict(found)
    reviewed: dict[str, tuple[str, str]] = {}
    for pair in pairs:
        standard, gyaru = pair.get("standard"), pair.get("gyaru")
        if isinstance(standard, str) and isinstance(gyaru, str) and gyaru.strip():
            reviewed.setdefault(normalise(standard), (gyaru.strip(), REVIEW_REJECTED))
    merged.update(reviewed)
    return merged


@dataclass
class PreferenceCounts:
    from_rejections: Counter[str] = field(default_factory=Counter)
    from_standard: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "rejected_from_run": dict(self.from_rejections.most_common()),
            "rejected_is_standard_line": self.from_standard,
        }


def preference(
    pair: dict[str, Any],
    *,
    system: str | None,
    rejected: dict[str, tuple[str, str]],
    counts: PreferenceCounts,
) -> dict[str, Any]:
    standard, chosen = pair["standard"], pair["gyaru"]
    worse = rejected.get(normalise(standard))
    edited_from = pair.get("edited_from")
    if isinstance(edited_from, str) and normalise(edited_from) != normalise(chosen):
        worse = (edited_from, "edited_in_review")
    if worse is not None and normalise(worse[0]) != normalise(chosen):
        line = worse[0]
        counts.from_rejections[worse[1]] += 1
    else:
        line = standard
        counts.from_standard += 1
    prompt = [{"role": "system", "content": system}] if system else []
    prompt.append({"role": "user", "content": standard})
    return {
        "prompt": prompt,
        "chosen": [{"role": "assistant", "content": chosen}],
        "rejected": [{"role": "assistant", "content": line}],
    }
