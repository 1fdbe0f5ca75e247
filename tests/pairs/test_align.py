"""Alignment: every rewrite tied to its own input, or rejected; never attached elsewhere."""

from __future__ import annotations

import json
from typing import Any

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


def test_skipped_unknown_repeated_and_broken_items() -> None:
    items = [
        answer(7, INPUTS[0].text),
        answer(7, INPUTS[0].text, "あーし二回目〜"),
        answer(42, INPUTS[1].text),
        answer(True, INPUTS[1].text),
        {"id": 8, "topic": "Daily", "gyaru": "あーし"},
        "not an object",
    ]
    result = align(INPUTS, items)
    assert [t.input.id for t in result.tied] == [7]
    details = [u.detail for u in result.untied]
    assert details == [
        "id 7 answered twice",
        "id 42 is not one of this batch's inputs",
        "no usable id (True)",
        "id 8: no copy of the standard line to check it against",
        "item is a str, not an object",
    ]
    assert [u.position for u in result.untied] == [1, 2, 3, 4, 5]
    assert [m.id for m in result.missing] == [8, 9]


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
