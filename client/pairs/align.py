"""Tying each rewrite in a reply to the input it rewrites. Pure.

A rewrite request lists its inputs as `{"id": N, "standard": "..."}`; the reply must
return, for each, `{"id": N, "standard": <the same text>, "topic": ..., "gyaru": ...}`.
With guided decoding the schema fixes each position's `id` and `standard` (a random-
weight model on vLLM 0.32 still returns every input once, in order); without it, or
with a server that ignores the schema, the check here is what holds:

- an item whose id is not one of the batch's, whose id was already answered, or whose
  `standard` is not its input's text (normalised: width, case, punctuation) cannot be
  tied to one input: it is `misaligned`, never attached to a line;
- an input no item was tied to is `missing`.

The standard line of a pair is always the input's own text, never the model's copy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from client.pairs.dedup import normalise
from client.pairs.inputs import InputItem
from client.pairs.schema import ITEMS_KEY, PairRules

MISALIGNED = "misaligned"
MISSING = "missing"
# Rejections that say nothing about the input itself: a later session asks again.
RETRYABLE_REASONS = frozenset({MISALIGNED, MISSING})


def render_inputs(inputs: Sequence[InputItem]) -> str:
    """The inputs as the user message lists them: one JSON object a line."""
    return "\n".join(
        json.dumps({"id": item.id, "standard": item.text}, ensure_ascii=False) for item in inputs
    )


def rewrite_item_schema(rules: PairRules, item: InputItem) -> dict[str, Any]:
    """The reply item for one input: its id and standard line fixed, topic and rewrite free."""
    base = rules.item_schema()["properties"]
    return {
        "type": "object",
        "properties": {
            "id": {"const": item.id},
            "standard": {"const": item.text},
            "topic": base["topic"],
            "gyaru": base["gyaru"],
        },
        "required": ["id", "standard", "topic", "gyaru"],
        "additionalProperties": False,
    }


def rewrite_response_format(rules: PairRules, inputs: Sequence[InputItem]) -> dict[str, Any]:
    """One item per input, in input order, each with its input's id and line as constants
    (`prefixItems`; vLLM 0.32's guided decoding keeps to them): with structured output a
    reply cannot skip, repeat or swap an input."""
    schema = rules.batch_schema(len(inputs))
    array = schema["properties"][ITEMS_KEY]
    del array["items"]
    array["prefixItems"] = [rewrite_item_schema(rules, item) for item in inputs]
    array["items"] = False
    return {
        "type": "json_schema",
        "json_schema": {"name": "gyaru_rewrites", "strict": True, "schema": schema},
    }


@dataclass(frozen=True, slots=True)
class Tied:
    position: int  # of the item in the reply
    input: InputItem
    item: dict[str, Any]  # the reply's item, its `standard` replaced by the input's text


@dataclass(frozen=True, slots=True)
class Untied:
    position: int
    item: Any
    detail: str


@dataclass
class Alignment:
    tied: list[Tied] = field(default_factory=list)
    untied: list[Untied] = field(default_factory=list)  # rejected `misaligned`
    missing: list[InputItem] = field(default_factory=list)  # rejected `missing`


def _as_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _untie_reason(
    item: Any, by_id: dict[int, InputItem], by_text: dict[str, InputItem], answered: set[int]
) -> tuple[InputItem | None, str]:
    """The input this item rewrites, or None and why it cannot be tied to one."""
    if not isinstance(item, dict):
        return None, f"item is a {type(item).__name__}, not an object"
    ident = _as_id(item.get("id"))
    if ident is None:
        return None, f"no usable id ({item.get('id')!r})"
    target = by_id.get(ident)
    if target is None:
        return None, f"id {ident} is not one of this batch's inputs"
    echoed = item.get("standard")
    if not isinstance(echoed, str):
        return None, f"id {ident}: no copy of the standard line to check it against"
    if normalise(echoed) != normalise(target.text):
        other = by_text.get(normalise(echoed))
        if other is not None:
            return None, f"id {ident} carries the text of input {other.id}"
        return None, f"id {ident}: the standard line was changed ({echoed!r})"
    if ident in answered:
        return None, f"id {ident} answered twice"
    return target, ""


def align(inputs: Sequence[InputItem], items: Sequence[Any]) -> Alignment:
    by_id = {item.id: item for item in inputs}
    by_text = {normalise(item.text): item for item in inputs}
    answered: set[int] = set()
    result = Alignment()
    for position, item in enumerate(items):
        target, detail = _untie_reason(item, by_id, by_text, answered)
        if target is None:
            result.untied.append(Untied(position, item, detail))
            continue
        answered.add(target.id)
        result.tied.append(Tied(position, target, {**item, "standard": target.text}))
    result.missing = [item for item in inputs if item.id not in answered]
    return result
