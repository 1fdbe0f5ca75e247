"""Tying each rewrite in a reply to the input it rewrites. Pure.

A rewrite request lists its inputs as `{"id": N, "standard": "..."}`; the reply must
return, for each, `{"id": N, "standard": <the same text>, "topic": ..., "gyaru": ...}`.
With guided decoding the schema fixes each position's `id` and `standard` (a random-
weight model on vLLM 0.32 still returns every input once, in order); without it, or
with a server that ignores the schema, the check here is what holds. An item is tied:

- by its id, when the id is one of the batch's and its `standard` is that input's
  line (compared normalised: width, case, spaces, punctuation), or it has none;
- by its text, when it has no usable id (none, not a number, not one of the batch's):
  its `standard` is one input's line, exactly or else once normalised.

It cannot be tied, and is `misaligned`, never attached to a line, when it matches no
input by id or text, when its id and its line name different inputs (or its line
was changed), or when its input was already answered. An input no item was tied to
is `missing`.

The standard line of a pair is always the input's own text, never the model's copy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

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


TiedBy = Literal["id", "text"]


@dataclass(frozen=True, slots=True)
class Tied:
    position: int  # of the item in the reply
    input: InputItem
    item: dict[str, Any]  # the reply's item, its `standard` replaced by the input's text
    by: TiedBy = "id"


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

    @property
    def tied_by_text(self) -> int:
        return sum(t.by == "text" for t in self.tied)


def _as_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


class _Inputs:
    """A batch's inputs by id, by exact line and by normalised line."""

    def __init__(self, inputs: Sequence[InputItem]) -> None:
        self.by_id = {item.id: item for item in inputs}
        self.by_exact = {item.text: item for item in inputs}
        self.by_normalised = {normalise(item.text): item for item in inputs}
        self.by_normalised.pop("", None)

    def by_text(self, echoed: Any) -> InputItem | None:
        """The input whose line `echoed` is: exactly, else once normalised."""
        if not isinstance(echoed, str):
            return None
        exact = self.by_exact.get(echoed) or self.by_exact.get(echoed.strip())
        return exact or self.by_normalised.get(normalise(echoed))


def _by_id(ident: int, target: InputItem, echoed: Any, named: InputItem | None) -> str:
    """Why an item whose id names `target` cannot be tied to it ("" when it can)."""
    if not isinstance(echoed, str) or named is target:
        return ""
    if named is not None:
        return f"id {ident} carries the text of input {named.id}"
    return f"id {ident}: the standard line was changed ({echoed!r})"


def _untied_by_text(item: dict[str, Any], ident: int | None) -> str:
    echoed = item.get("standard")
    if ident is None:
        which = f"no usable id ({item.get('id')!r})"
    else:
        which = f"id {ident} is not one of this batch's inputs"
    if not isinstance(echoed, str):
        return f"{which}, and no standard line"
    return f"{which}, and its standard line ({echoed!r}) is none of the batch's inputs"


def _tie(item: Any, inputs: _Inputs, answered: set[int]) -> tuple[InputItem, TiedBy] | str:
    """The input this item rewrites and how it was tied, or why it cannot be tied."""
    if not isinstance(item, dict):
        return f"item is a {type(item).__name__}, not an object"
    ident = _as_id(item.get("id"))
    target = inputs.by_id.get(ident) if ident is not None else None
    named = inputs.by_text(item.get("standard"))
    if target is not None:
        problem = _by_id(target.id, target, item.get("standard"), named)
        if problem:
            return problem
        if target.id in answered:
            return f"id {target.id} answered twice"
        return target, "id"
    if named is None:
        return _untied_by_text(item, ident)
    if named.id in answered:
        return f"the line of input {named.id} answered twice"
    return named, "text"


def align(inputs: Sequence[InputItem], items: Sequence[Any]) -> Alignment:
    lookup = _Inputs(inputs)
    answered: set[int] = set()
    result = Alignment()
    for position, item in enumerate(items):
        tie = _tie(item, lookup, answered)
        if isinstance(tie, str):
            result.untied.append(Untied(position, item, tie))
            continue
        target, by = tie
        answered.add(target.id)
        result.tied.append(Tied(position, target, {**item, "standard": target.text}, by))
    result.missing = [item for item in inputs if item.id not in answered]
    return result
