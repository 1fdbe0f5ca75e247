"""Alignment: every rewrite tied to its own input, or rejected; never attached elsewhere."""

from __future__ import annotations

import json
from typing import Any

import pytest

from client.pairs.align import align, render_inputs, rewrite_response_format
from client.pairs.inputs import InputItem
from client.pairs.schema import PairRules

RULES = PairRules(
    topics=("Tech", "Daily"),
    first_person="あーし",
    standard_min_chars=2,
    standard_max_chars=60,
    gyaru_min_chars=2,
    gyaru_max_chars=80,
)
INPUTS = [
    InputItem(7, 10, "今日は晴れです。", "a"),
    InputItem(8, 11, "明日は雨が降ります。", "b"),
    InputItem(9, 12, "駅前にカフェができました。", "c"),
]


def answer(ident: Any, standard: str, gyaru: str = "あーし的にマジ晴れ〜") -> dict[str, Any]:
    return {"id": ident, "standard": standard, "topic": "Daily", "gyaru": gyaru}


def test_an_aligned_reply_ties_every_item_in_any_order() -> None:
    items = [answer(9, INPUTS[2].text), answer(7, INPUTS[0].text), answer("8", INPUTS[1].text)]
    result = align(INPUTS, items)
    assert [(t.position, t.input.id) for t in result.tied] == [(0, 9), (1, 7), (2, 8)]
    assert not result.untied and not result.missing


def test_the_standard_line_is_the_inputs_own_text_not_the_models_copy() -> None:
    copy = "今日は晴れです"  # punctuation dropped: the same line once normalised
    result = align(INPUTS[:1], [answer(7, copy)])
    assert result.tied[0].item["standard"] == "今日は晴れです。"


def test_a_rewritten_standard_line_is_misaligned_and_its_input_missing() -> None:
    result = align(INPUTS[:1], [answer(7, "今日はとても晴れています。")])
    assert not result.tied
    assert "standard line was changed" in result.untied[0].detail
    assert result.missing == INPUTS[:1]


def test_an_item_answering_another_input_is_never_attached_to_either() -> None:
    items = [answer(7, INPUTS[1].text), answer(9, INPUTS[2].text)]
    result = align(INPUTS, items)
    assert [t.input.id for t in result.tied] == [9]
    assert result.untied[0].detail == "id 7 carries the text of input 8"
    assert [m.id for m in result.missing] == [7, 8]


def without_id(standard: str) -> dict[str, Any]:
    return {"standard": standard, "topic": "Daily", "gyaru": "あーし的にマジ晴れ〜"}


# One item against INPUTS: the input it is tied to and how, or the misaligned detail.
CASES: list[tuple[str, Any, tuple[int, str] | str]] = [
    ("id and line agree", answer(8, INPUTS[1].text), (8, "id")),
    ("id as a string", answer("8", INPUTS[1].text), (8, "id")),
    ("id, line copied loosely", answer(8, "明日は 雨が降ります"), (8, "id")),
    ("id and no line", {"id": 8, "topic": "Daily", "gyaru": "あーし"}, (8, "id")),
    ("no id, the exact line", without_id(INPUTS[1].text), (8, "text")),
    ("no id, the line with spaces around", without_id(f" {INPUTS[1].text} "), (8, "text")),
    ("no id, half-width kana", without_id("駅前にｶﾌｪができました。"), (9, "text")),
    ("no id, spaces and punctuation", without_id("明日は、 雨が降ります！"), (8, "text")),
    ("id null", answer(None, INPUTS[2].text), (9, "text")),
    ("id a boolean", answer(True, INPUTS[2].text), (9, "text")),
    ("id not a number", answer("eight", INPUTS[1].text), (8, "text")),
    ("id not in the batch", answer(42, INPUTS[1].text), (8, "text")),
    ("id and line name different inputs", answer(7, INPUTS[1].text),
     "id 7 carries the text of input 8"),
    ("id and a changed line", answer(7, "今日は曇りです。"),
     "id 7: the standard line was changed ('今日は曇りです。')"),
    ("no id and a changed line", without_id("今日は曇りです。"),
     "no usable id (None), and its standard line ('今日は曇りです。') is none of the batch's inputs"),
    ("no id and no line", {"topic": "Daily", "gyaru": "あーし"},
     "no usable id (None), and no standard line"),
    ("a foreign id and a changed line", answer(42, "今日は曇りです。"),
     "id 42 is not one of this batch's inputs, and its standard line ('今日は曇りです。') is "
     "none of the batch's inputs"),
    ("no id and an empty line", without_id("。"),
     "no usable id (None), and its standard line ('。') is none of the batch's inputs"),
    ("not an object", "not an object", "item is a str, not an object"),
]  # fmt: skip


@pytest.mark.parametrize(("item", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_an_item_is_tied_by_id_or_by_its_line_or_is_misaligned(
    item: Any, expected: tuple[int, str] | str
) -> None:
    result = align(INPUTS, [item])
    if isinstance(expected, str):
        assert not result.tied and [u.detail for u in result.untied] == [expected]
        assert len(result.missing) == 3
        return
    (tied,) = result.tied
    assert (tied.input.id, tied.by) == expected
    assert tied.item["standard"] == tied.input.text  # the input's own text, not the copy
    assert result.tied_by_text == (expected[1] == "text")
    assert [m.id for m in result.missing] == [i.id for i in INPUTS if i.id != expected[0]]


def test_a_reply_without_ids_in_any_order_ties_every_line() -> None:
    items = [without_id(INPUTS[2].text), without_id("今日は晴れです"), without_id(INPUTS[1].text)]
    result = align(INPUTS, items)
    assert [(t.position, t.input.id, t.by) for t in result.tied] == [
        (0, 9, "text"),
        (1, 7, "text"),
        (2, 8, "text"),
    ]
    assert result.tied_by_text == 3 and not result.untied and not result.missing


def test_skipped_unknown_repeated_and_broken_items() -> None:
    items = [
        answer(7, INPUTS[0].text),
        answer(7, INPUTS[0].text, "あーし二回目〜"),
        answer(42, INPUTS[1].text),
        answer(True, INPUTS[1].text),
        without_id("今日は晴れです"),
        "not an object",
    ]
    result = align(INPUTS, items)
    assert [(t.input.id, t.by) for t in result.tied] == [(7, "id"), (8, "text")]
    details = [u.detail for u in result.untied]
    assert details == [
        "id 7 answered twice",
        "the line of input 8 answered twice",
        "the line of input 7 answered twice",
        "item is a str, not an object",
    ]
    assert [u.position for u in result.untied] == [1, 3, 4, 5]
    assert [m.id for m in result.missing] == [9]


def test_the_schema_fixes_each_positions_id_and_standard_line() -> None:
    fmt = rewrite_response_format(RULES, INPUTS)
    schema = fmt["json_schema"]["schema"]
    array = schema["properties"]["pairs"]
    assert array["minItems"] == array["maxItems"] == 3 and array["items"] is False
    for item, inp in zip(array["prefixItems"], INPUTS, strict=True):
        assert item["properties"]["id"] == {"const": inp.id}
        assert item["properties"]["standard"] == {"const": inp.text}
        assert item["properties"]["gyaru"]["pattern"] == RULES.gyaru_pattern
        assert set(item["required"]) == {"id", "standard", "topic", "gyaru"}


def test_inputs_are_listed_one_json_object_a_line() -> None:
    lines = render_inputs(INPUTS).splitlines()
    assert [json.loads(line) for line in lines] == [
        {"id": i.id, "standard": i.text} for i in INPUTS
    ]
