"""Preference pairs for DPO, in the shape TRL's DPOTrainer reads. Pure.

TRL's conversational preference format (docs/source/dataset_formats.md in TRL):

    {"prompt":   [{"role": "system", "content": ...}, {"role": "user", "content": standard}],
     "chosen":   [{"role": "assistant", "content": persona line}],
     "rejected": [{"role": "assistant", "content": a worse line}]}

`rejected` is the best worse line known for the same standard line, in this order:

1. the model's own line a person corrected in `client review` (`edited_from`):
   the same sentence, minus exactly what the person fixed;
2. a line a person rejected in review (`review_rejected_lines`: a dataset pair they
   rejected, or an item the run rejected that they agreed was bad);
3. a line the run rejected for how it sounds, by `DPO_REASON_RANK`: first its voice
   (`register`: polite speech in the persona line, `near_copy`: the standard line
   with a word or two changed, `missing_first_person`), then the judge's verdict,
   then a low quality score, then not Japanese; the first in batch order among equals;
4. the plain standard line itself, which teaches that answering in the standard
   register is the worse answer.

A line the dataset keeps (a rescued item among them) is never a worse answer, and
neither is a line equal to the chosen one; a pair left with no worse answer at all
(its persona line is its standard line) gets no row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from client.pairs.dedup import normalise

# Rejections about the persona line's voice, not about the item's structure, best
# first: a worse answer should differ from the chosen one in the persona's voice.
DPO_REASON_RANK = {
    "register": 0,
    "near_copy": 0,
    "missing_first_person": 0,
    "judge": 1,
    "low_quality": 2,
    "not_japanese": 3,
}
DPO_REJECTED_REASONS = frozenset(DPO_REASON_RANK)
DPO_COLUMNS = ("prompt", "chosen", "rejected")
REVIEW_REJECTED = "rejected_in_review"


def _kept_lines(pairs: Iterable[Mapping[str, Any]]) -> set[tuple[str, str]]:
    return {
        (normalise(p["standard"]), normalise(p["gyaru"]))
        for p in pairs
        if isinstance(p.get("standard"), str) and isinstance(p.get("gyaru"), str)
    }


def rejected_lines(
    records: Iterable[Mapping[str, Any]], *, keep: Iterable[Mapping[str, Any]] = ()
) -> dict[str, tuple[str, str]]:
    """Normalised standard line -> (the best rejected persona line, its reason), from
    raw batch records in batch order; a line of a pair in `keep` (the dataset as
    reviewed) is not rejected whatever the run said."""
    kept = _kept_lines(keep)
    found: dict[str, tuple[str, str]] = {}
    for record in records:
        for rejection in record.get("rejected") or []:
            if not isinstance(rejection, dict):
                continue
            reason = str(rejection.get("reason"))
            item = rejection.get("item")
            if reason not in DPO_REASON_RANK or not isinstance(item, dict):
                continue
            standard, gyaru = item.get("standard"), item.get("gyaru")
            if not (isinstance(standard, str) and isinstance(gyaru, str) and gyaru.strip()):
                continue
            key = normalise(standard)
            if (key, normalise(gyaru)) in kept:
                continue
            best = found.get(key)
            if best is None or DPO_REASON_RANK[reason] < DPO_REASON_RANK[best[1]]:
                found[key] = (gyaru.strip(), reason)
    return found


def review_rejected_lines(
    pairs: Iterable[Mapping[str, Any]], found: dict[str, tuple[str, str]]
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
    # Pairs with no worse answer at all: a persona line that is its standard line (an
    # `identical` item a person rescued) and no other line known.
    skipped: int = 0

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "rejected_from_run": dict(self.from_rejections.most_common()),
            "rejected_is_standard_line": self.from_standard,
        }
        if self.skipped:
            data["skipped_no_worse_answer"] = self.skipped
        return data


def _worse(
    pair: Mapping[str, Any], rejected: Mapping[str, tuple[str, str]]
) -> tuple[str, str | None]:
    """The pair's worse answer and where it came from (None: the standard line)."""
    standard, chosen = pair["standard"], pair["gyaru"]
    worse = rejected.get(normalise(standard))
    edited_from = pair.get("edited_from")
    if isinstance(edited_from, str) and normalise(edited_from) != normalise(chosen):
        worse = (edited_from, "edited_in_review")
    if worse is not None and normalise(worse[0]) != normalise(chosen):
        return worse
    return standard, None


def _row(standard: str, chosen: str, worse: str, system: str | None) -> dict[str, Any]:
    prompt = [{"role": "system", "content": system}] if system else []
    prompt.append({"role": "user", "content": standard})
    return {
        "prompt": prompt,
        "chosen": [{"role": "assistant", "content": chosen}],
        "rejected": [{"role": "assistant", "content": worse}],
    }


def preference(
    pair: Mapping[str, Any],
    *,
    system: str | None,
    rejected: Mapping[str, tuple[str, str]],
    counts: PreferenceCounts,
) -> dict[str, Any]:
    line, source = _worse(pair, rejected)
    if source is None:
        counts.from_standard += 1
    else:
        counts.from_rejections[source] += 1
    return _row(pair["standard"], pair["gyaru"], line, system)


def preference_rows(
    pairs: Iterable[Mapping[str, Any]],
    *,
    system: str | None,
    rejected: Mapping[str, tuple[str, str]],
    counts: PreferenceCounts,
) -> Iterator[dict[str, Any]]:
    """A row for every pair that has a worse answer; one whose only candidate is its
    own line (chosen and rejected the same) teaches nothing: skipped and counted."""
    for pair in pairs:
        line, _ = _worse(pair, rejected)
        if normalise(line) == normalise(pair["gyaru"]):
            counts.skipped += 1
            continue
        yield preference(pair, system=system, rejected=rejected, counts=counts)
