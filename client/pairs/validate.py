"""One generated item to a `Pair` or a `Rejection` with its reason. Pure.

Reason codes (counted in summaries, documented in docs/dataset.md):
schema, empty, topic, length, not_japanese, identical, missing_first_person, then the
Japanese-aware checks' (client.pairs.checks), then low_quality. A check that is not
sure rejects nothing: the pair carries its note (`check_note`) to the judge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from client.pairs.checks import PairChecker
from client.pairs.dedup import normalise
from client.pairs.quality import quality_score
from client.pairs.records import Pair, Rejection
from client.pairs.schema import PairRules, clean_line


@dataclass(frozen=True)
class ValidationContext:
    rules: PairRules
    style_markers: tuple[str, ...]
    min_quality: float
    # The persona's Japanese-aware checks; None when `checks.enabled` is false.
    checker: PairChecker | None = None
    # Models write "tech" or "ＴＥＣＨ" as often as "Tech"; the canonical spelling is kept.
    topic_lookup: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "topic_lookup", {normalise(t): t for t in self.rules.topics})


def _reject(index: int, item: Any, reason: str, detail: str) -> Rejection:
    return Rejection(index=index, reason=reason, detail=detail, item=item)


def _check_line(
    name: str, text: str, low: int, high: int, rules: PairRules
) -> tuple[str, str] | None:
    if len(text) < low or len(text) > high:
        return "length", f"{name} is {len(text)} characters, outside {low}..{high}"
    problem = rules.japanese_problem(text)
    if problem is not None:
        return "not_japanese", f"{name} {problem}"
    return None


def _fields(item: Any) -> dict[str, str] | tuple[str, str]:
    """The item's three lines, cleaned; or the reason and detail of why it has none."""
    if not isinstance(item, dict):
        return "schema", f"item is a {type(item).__name__}, not an object"
    fields: dict[str, str] = {}
    for key in ("topic", "standard", "gyaru"):
        value = item.get(key)
        if value is None:
            return "schema", f"missing field '{key}'"
        if not isinstance(value, str):
            return "schema", f"field '{key}' is a {type(value).__name__}, not a string"
        fields[key] = clean_line(value)
    for key in ("standard", "gyaru"):
        if not fields[key]:
            return "empty", f"{key} is empty"
    return fields


def _topic(given: str, ctx: ValidationContext) -> str | None:
    if given in ctx.rules.topics:
        return given
    return ctx.topic_lookup.get(normalise(given))


def validate_item(
    index: int,
    item: Any,
    *,
    ctx: ValidationContext,
    pair_id: str,
    batch: int,
    generated_at: str,
) -> Pair | Rejection:
    fields = _fields(item)
    if isinstance(fields, tuple):
        return _reject(index, item, *fields)
    rules = ctx.rules
    topic = _topic(fields["topic"], ctx)
    if topic is None:
        return _reject(
            index, item, "topic", f"topic {fields['topic']!r} is not one of {list(rules.topics)}"
        )

    standard, gyaru = fields["standard"], fields["gyaru"]
    problem = _check_line(
        "standard", standard, rules.standard_min_chars, rules.standard_max_chars, rules
    ) or _check_line("gyaru", gyaru, rules.gyaru_min_chars, rules.gyaru_max_chars, rules)
    if problem is not None:
        return _reject(index, item, *problem)
    normalised = (normalise(standard), normalise(gyaru))
    if normalised[0] == normalised[1]:
        return _reject(index, item, "identical", "gyaru line is the standard line unchanged")
    if rules.first_person is not None and rules.first_person not in gyaru:
        return _reject(
            index, item, "missing_first_person", f"gyaru line lacks {rules.first_person}"
        )

    failure = None if ctx.checker is None else ctx.checker.check(standard, gyaru)
    if failure is not None and failure.sure:
        return _reject(index, item, failure.reason, failure.detail)
    score = quality_score(standard, gyaru, ctx.style_markers, rules.first_person)
    if score < ctx.min_quality:
        return _reject(
            index, item, "low_quality", f"quality {score:.2f} is below {ctx.min_quality:.2f}"
        )
    return Pair(
        id=pair_id,
        batch=batch,
        topic=topic,
        standard=standard,
        gyaru=gyaru,
        generated_at=generated_at,
        quality=score,
        normalised=normalised,
        check_note=None if failure is None else failure.note,
    )


def validate_items(
    items: Sequence[Any], *, ctx: ValidationContext, run_id: str, batch: int, generated_at: str
) -> tuple[list[Pair], list[Rejection]]:
    accepted: list[Pair] = []
    rejected: list[Rejection] = []
    for index, item in enumerate(items):
        outcome = validate_item(
            index,
            item,
            ctx=ctx,
            pair_id=f"{run_id}-b{batch:04d}-{index:03d}",
            batch=batch,
            generated_at=generated_at,
        )
        (accepted if isinstance(outcome, Pair) else rejected).append(outcome)  # type: ignore[arg-type]
    return accepted, rejected
