"""A rewrite batch's reply to one outcome per input, and which inputs are done. Pure.

Every input of a batch that got a reply ends with exactly one outcome in that batch's
record: a pair (its standard line the input's own text), a rejection from the
persona's checks, or `missing` (no item of the reply could be tied to it). Items
that could not be tied to an input are rejected `misaligned` with no input.

An input is done, and never requested again under the same run id, once a finished
batch holds its pair or a final rejection; `missing` is not final (the model skipped
the line, which says nothing about the line), so a later session asks again.

Record shapes (the raw batch file): each accepted pair and each rejection tied to an
input carries `"input": {"id", "line", "key"}` (plus `"tied_by": "text"` when the
reply's item had no usable id and was tied by its standard line); a misaligned item
carries none.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from client.pairs.align import MISALIGNED, MISSING, RETRYABLE_REASONS, align
from client.pairs.digests import DigestSet, hex64
from client.pairs.inputs import InputCounts, InputItem
from client.pairs.records import Pair, Rejection
from client.pairs.validate import ValidationContext, validate_item

PAIRED = "paired"
# Why a line sent is not settled yet, as the summary says it.
PENDING_MISSING = "missing"  # the reply had no item that could be tied to it
PENDING_UNANSWERED = "unanswered"  # its batch failed, or was never sent
PENDING_JUDGE = "awaiting_judge"  # its pair waits for the judge
NOT_IN_REPLY = -1  # the `index` of a `missing` rejection: no item of the reply


def check_rewrites(
    inputs: Sequence[InputItem],
    items: Sequence[Any],
    *,
    ctx: ValidationContext,
    run_id: str,
    batch: int,
    generated_at: str,
) -> tuple[list[Pair], list[Rejection]]:
    """The batch's pairs and rejections: one outcome per input, in input order, each
    carrying its input; then the items tied to none (`misaligned`)."""
    alignment = align(inputs, items)
    outcomes: list[Pair | Rejection] = []
    for tied in alignment.tied:
        outcome = validate_item(
            tied.position,
            tied.item,
            ctx=ctx,
            pair_id=f"{run_id}-b{batch:04d}-{tied.position:03d}",
            batch=batch,
            generated_at=generated_at,
        )
        by_text = tied.by == "text"
        outcomes.append(replace(outcome, input=tied.input, tied_by_text=by_text))
    for item in alignment.missing:
        detail = "no item of the reply could be tied to this input"
        echo = {"id": item.id, "standard": item.text}
        outcomes.append(Rejection(NOT_IN_REPLY, MISSING, detail, echo, input=item))
    outcomes.sort(key=lambda o: o.input.id if o.input else 0)
    accepted = [o for o in outcomes if isinstance(o, Pair)]
    rejected = [o for o in outcomes if isinstance(o, Rejection)]
    rejected += [Rejection(u.position, MISALIGNED, u.detail, u.item) for u in alignment.untied]
    return accepted, rejected


def _input_key(entry: Any) -> str | None:
    """The input key of a pair or rejection entry: its own `input`, or, for a rejection
    made later from a pair (the judge's), the `input` of the pair it holds as `item`."""
    ref = _input_ref(entry)
    key = ref.get("key") if ref is not None else None
    return key if isinstance(key, str) else None


def _tied_by_text(entry: Any) -> bool:
    ref = _input_ref(entry)
    return ref is not None and ref.get("tied_by") == "text"


def _input_ref(entry: Any) -> dict[str, Any] | None:
    """The `input` of a pair or rejection entry, or of the pair a rejection holds."""
    if not isinstance(entry, dict):
        return None
    ref = entry.get("input")
    if ref is None and isinstance(entry.get("item"), dict):
        ref = entry["item"].get("input")
    return ref if isinstance(ref, dict) else None


def _digest(entry: Any) -> int | None:
    key = _input_key(entry)
    try:
        return hex64(key) if key is not None else None
    except ValueError:
        return None


def settled_keys(record: dict[str, Any]) -> Iterator[str]:
    """The keys of the inputs a finished batch record settles: paired or finally rejected."""
    for pair in record.get("accepted") or []:
        key = _input_key(pair)
        if key is not None:
            yield key
    for rejection in record.get("rejected") or []:
        key = _input_key(rejection)
        if key is not None and rejection.get("reason") not in RETRYABLE_REASONS:
            yield key


class InputTally:
    """How the inputs of finished records ended: `paired` or the rejection reason. A
    settled outcome wins over `missing` whatever the batch order (a resumed session
    may reuse a lower batch number); only one settled outcome exists per input."""

    def __init__(self) -> None:
        # Nearly every input of a large file ends paired: those are 8-byte digests in a
        # DigestSet; the few rejected or missing ones keep their reason in a dict.
        self._paired = DigestSet()
        self._other: dict[int, str] = {}
        # The settled inputs whose reply item was tied by its text, not its id.
        self._by_text = DigestSet()

    def add(self, record: dict[str, Any]) -> None:
        for pair in record.get("accepted") or []:
            key = _digest(pair)
            if key is not None:
                self._paired.add(key)
                if _tied_by_text(pair):
                    self._by_text.add(key)
        other = self._other
        for rejection in record.get("rejected") or []:
            key = _digest(rejection)
            if key is not None and other.get(key) in (None, MISSING):
                other[key] = sys.intern(str(rejection.get("reason")))
                if _tied_by_text(rejection):
                    self._by_text.add(key)

    @property
    def tied_by_text(self) -> int:
        return len(self._by_text)

    def counts(self) -> Counter[str]:
        paired = self._paired
        outcomes = Counter(reason for key, reason in self._other.items() if key not in paired)
        if paired:
            outcomes[PAIRED] = len(paired)
        return outcomes


def final_outcomes(records: Iterable[dict[str, Any]]) -> Counter[str]:
    tally = InputTally()
    for record in records:
        tally.add(record)
    return tally.counts()


def input_summary(counts: InputCounts, tally: InputTally, *, awaiting: int = 0) -> dict[str, Any]:
    """How every line of the file ended, as the summary's `inputs`: the file's counts,
    then the lines paired, rejected by reason, tied by text, and pending with why.
    `awaiting`: lines whose pair waits for the judge (the tally never sees those)."""
    outcomes = tally.counts()
    paired = outcomes.pop(PAIRED, 0)
    missing = outcomes.pop(MISSING, 0)
    rejected = sum(outcomes.values())
    # Sent and not settled: skipped by the model, waiting for the judge, in a failed
    # batch, or never sent.
    pending = max(counts.sent - paired - rejected, 0)
    missing = min(missing, pending)
    awaiting = min(awaiting, pending - missing)
    reasons = {
        PENDING_MISSING: missing,
        PENDING_JUDGE: awaiting,
        PENDING_UNANSWERED: pending - missing - awaiting,
    }
    return {
        **counts.to_json(),
        "paired": paired,
        "rejected": dict(outcomes.most_common()),
        "tied_by_text": tally.tied_by_text,
        "pending": pending,
        "pending_reasons": {reason: n for reason, n in reasons.items() if n},
    }
