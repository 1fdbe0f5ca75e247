"""The own-shape fake (tests/ownshape.py), read by the real parsers: what each mode
means for extraction, alignment and the judge's reply reader."""

from __future__ import annotations

import json
from typing import Any

import pytest

from client.pairs.align import align, render_inputs
from client.pairs.extract import extract_items
from client.pairs.inputs import InputItem
from client.pairs.judge import read_reply
from client.pairs.judge_request import user_message
from tests.fakeserver import inputs_of, make_pairs, rewrites
from tests.judgefake import judge_content
from tests.ownshape import GENERATION_ONLY, JUDGE_ONLY, MODES, OwnShape, loose_copy, reshape
from tests.pairs.test_judge_fake import THREE

INPUTS = [
    InputItem(1, 1, "今日は晴れです。", "k1"),
    InputItem(2, 2, "明日は、雨が降ります。", "k2"),
    InputItem(3, 3, "新しいPCを買いました。", "k3"),
]
REWRITE = {"messages": [{"role": "user", "content": "書き換えて。\n" + render_inputs(INPUTS)}]}
FREE = {"messages": [{"role": "user", "content": "今回のバッチ番号は1です。ちょうど3組"}]}
JUDGE = {"messages": [{"role": "user", "content": user_message(THREE)}]}


def schema_reply(body: dict[str, Any]) -> str:
    """What the loopback server's `ok` answers to `body`."""
    if body is JUDGE:
        return judge_content("ok", body)[0]
    items = rewrites("ok", inputs_of(body), "Daily") if body is REWRITE else make_pairs(3, "own")
    return json.dumps({"pairs": items}, ensure_ascii=False)


@pytest.mark.parametrize(
    ("mode", "method", "tied"),
    [
        ("ok", "json", ["id", "id", "id"]),
        ("noids", "json", ["text", "text", "text"]),
        ("loosecopy", "json", ["text", "text", "text"]),
        ("prose", "embedded", ["id", "id", "id"]),
        ("fenced", "fenced", ["id", "id", "id"]),
        ("extrakeys", "json", ["id", "id", "id"]),
        # Modes of the judge leave a generation reply as the schema asks.
        ("gradeprose", "json", ["id", "id", "id"]),
        ("pairs", "json", ["id", "id", "id"]),
    ],
)
def test_each_rewrite_shape_is_extracted_and_tied_to_every_line(
    mode: str, method: str, tied: list[str]
) -> None:
    extracted = extract_items(reshape(mode, REWRITE, schema_reply(REWRITE)))
    assert extracted.method == method
    alignment = align(INPUTS, extracted.items)
    assert [t.by for t in alignment.tied] == tied
    assert not alignment.untied and not alignment.missing
    if mode in ("noids", "loosecopy"):
        assert all("id" not in item for item in extracted.items)
    if mode == "extrakeys":
        assert all({"note", "confidence"} <= item.keys() for item in extracted.items)


def test_a_loose_copy_is_the_same_line_once_normalised_never_the_same_text() -> None:
    copies = [item["standard"] for item in json.loads(reshape("loosecopy", REWRITE,
                                                              schema_reply(REWRITE)))["pairs"]]  # fmt: skip
    assert copies == ["今日は晴れです", "明日は、 雨が降ります", "新しいＰＣを買いました"]
    assert loose_copy("晴れ") == " 晴れ"  # nothing to change: a space in front


@pytest.mark.parametrize("mode", ["noids", "prose", "fenced", "extrakeys"])
def test_free_generation_shapes_keep_every_pair(mode: str) -> None:
    extracted = extract_items(reshape(mode, FREE, schema_reply(FREE)))
    assert [i["standard"] for i in extracted.items] == [p["standard"] for p in make_pairs(3, "own")]


@pytest.mark.parametrize(
    ("mode", "graded"),
    [
        ("ok", [True, True, True]),
        ("noids", [True, True, True]),
        ("prose", [True, True, True]),
        ("fenced", [True, True, True]),
        ("extrakeys", [True, True, True]),
        ("fewer", [True, True, False]),
        ("gradeprose", [False, False, False]),
        ("outofrange", [False, False, False]),
        ("pairs", [False, False, False]),
        ("loosecopy", [True, True, True]),  # a generation mode: the grades as asked
    ],
)
def test_each_judge_shape_as_the_reply_reader_sees_it(mode: str, graded: list[bool]) -> None:
    reading = read_reply(reshape(mode, JUDGE, schema_reply(JUDGE)), 3)
    assert [g is not None for g in reading.grades] == graded


def test_pairs_for_grades_writes_the_judged_pairs_back() -> None:
    doc = json.loads(reshape("pairs", JUDGE, schema_reply(JUDGE)))
    assert [(p["standard"], p["gyaru"]) for p in doc["pairs"]] == [
        (i.standard, i.gyaru) for i in THREE
    ]


def test_grades_in_prose_carry_every_grade_in_words() -> None:
    text = reshape("gradeprose", JUDGE, schema_reply(JUDGE))
    assert "{" not in text and text.count("意味5点") == 3 and "ペア3:" in text


def bodies(n: int) -> list[dict[str, Any]]:
    return [
        {"messages": [{"role": "user", "content": user_message(THREE[: 1 + i % 3])}], "i": i}
        for i in range(n)
    ] + [{"messages": [{"role": "user", "content": f"バッチ番号は{i}です。"}]} for i in range(n)]


def test_mixed_modes_are_drawn_per_request_by_seed_and_body() -> None:
    shape = OwnShape(MODES, seed=7)
    drawn = [shape.mode_for(body) for body in bodies(60)]
    judge, generation = drawn[:60], drawn[60:]
    # Each kind draws every mode that applies to it, and none that does not.
    assert set(judge) == set(MODES) - set(GENERATION_ONLY)
    assert set(generation) == set(MODES) - set(JUDGE_ONLY)
    # The same request always gets the same shape; another seed draws others.
    assert drawn == [shape.mode_for(body) for body in bodies(60)]
    assert drawn != [OwnShape(MODES, seed=8).mode_for(body) for body in bodies(60)]


def test_a_single_mode_applies_to_its_kind_only() -> None:
    assert OwnShape(["pairs"]).mode_for(JUDGE) == "pairs"
    assert OwnShape(["pairs"]).mode_for(FREE) == "ok"
    assert OwnShape(["noids", "gradeprose"]).mode_for(REWRITE) == "noids"


def test_shapes_are_named_or_refused() -> None:
    assert OwnShape.parse("noids, pairs", 3) == OwnShape(["noids", "pairs"], 3)
    assert OwnShape.parse("all").modes == MODES
    with pytest.raises(ValueError, match="unknown or no shape modes"):
        OwnShape(["nods"])
    with pytest.raises(ValueError, match="unknown or no shape modes"):
        OwnShape([])
