"""A rewrite batch's reply to one outcome per input, and which inputs are done. Pure.

Every input of a batch that got a reply ends with exactly one outcome in that batch's
record: a pair (its standard line the input's own text), a rejection from the
persona's checks, or `missing` (no item of the reply could be tied to it). Items
that could not be tied to an input are rejected `misaligned` with no input.

An input is done, and never requested again under the same run id, once a finished
batch holds its pair or a final rejection; `missing` is not final (the model skipped
the line, which says nothing about the line), so a later session asks again.

Record shapes (the raw batch file): each accepted pair and each rejection carries
`"input": {"id", "line", "key"}`, or `"input": null` for a misaligned item.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from client.pairs.align import MISALIGNED, MISSING, RETRYABLE_REASONS, align
from client.pairs.inputs import InputItem
from client.pairs.records import Pair, Rejection
from client.pairs.validate import ValidationContext, validate_item

NOT_IN_REPLY = -1  # the `index` of a `missing` rejection: no item of the reply


@dataclass
class RewriteResult:
    outcomes: list[tuple[InputItem, Pair | Rejection]] = field(default_factory=list)
    untied: list[Rejection] = field(default_factory=list)

    @property
    def accepted(self) -> list[tuple[InputItem, Pair]]:
        return [(i, o) for i, o in self.outcomes if isinstance(o, Pair)]

    @property
    def rejected(self) -> list[tuple[InputItem | None, Rejection]]:
        tied = [(i, o) for i, o in self.outcomes if isinstance(o, Rejection)]
        return [*tied, *((None, r) for r in self.untied)]


def check_rewrites(
    inputs: Sequence[InputItem],
    items: Sequence[Any],
    *,
    ctx: ValidationContext,
    run_id: str,
    batch: int,
    generated_at: str,
) -> RewriteResult:
    alignment = align(inputs, items)
    result = RewriteResult()
    for tied in alignment.tied:
        outcome = validate_item(
            tied.position,
            tied.item,
            ctx=ctx,
            pair_id=f"{run_id}-b{batch:04d}-{tied.position:03d}",
            batch=batch,
            generated_at=generated_at,
        )
        result.outcomes.append((tied.input, outcome))
    for untied in alignment.untied:
        result.untied.append(Rejection(untied.position, MISALIGNED, untied.detail, untied.item))
    for item in alignment.missing:
        detail = "no item of the reply could be tied to this input"
        echo = {"id": item.id, "standard": item.text}
        result.outcomes.append((item, Rejection(NOT_IN_REPLY, MISSING, detail, echo)))
    # The record lists outcomes in input order, whatever order the reply had.
    result.outcomes.sort(key=lambda pair: pair[0].id)
    return result


def record_entries(result: RewriteResult) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The `accepted` and `rejected` lists of the raw batch record."""
    accepted = [{**pair.to_json(), "input": item.to_json()} for item, pair in result.accepted]
    rejected = [
        {**rejection.to_json(), "input": item.to_json() if item else None}
        for item, rejection in result.rejected
    ]
    return accepted, rejected


def _input_key(entry: Any) -> str | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("input"), dict):
        return None
    key = entry["input"].get("key")
    return key if isinstance(key, str) else None


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


def final_outcomes(records: Iterable[dict[str, Any]]) -> Counter[str]:
    """How the inputs of finished records ended: `paired` or the rejection reason. A
    settled outcome wins over `missing` whatever the batch order (a resumed session
    may reuse a lower batch number); only one settled outcome exists per input."""
    last: dict[str, str] = {}
    for record in records:
        for pair in record.get("accepted") or []:
            key = _input_key(pair)
            if key is not None:
                last[key] = "paired"
        for rejection in record.get("rejected") or []:
            key = _input_key(rejection)
            if key is not None and last.get(key) in (None, MISSING):
                last[key] = str(rejection.get("reason"))
    return Counter(last.values())
