"""extract: every way a model wraps (or breaks) its JSON, table-driven."""

from __future__ import annotations

import json

import pytest

from client.pairs.extract import extract_items

P1 = {"topic": "Tech", "standard": "新しいです。", "gyaru": "あーし新しい！"}
P2 = {"topic": "Daily", "standard": "眠いです。", "gyaru": "あーし眠い〜"}
ARRAY = json.dumps([P1, P2], ensure_ascii=False)
OBJECT = json.dumps({"pairs": [P1, P2]}, ensure_ascii=False)


@pytest.mark.parametrize(
    ("text", "method", "count", "broken"),
    [
        (OBJECT, "json", 2, False),
        (ARRAY, "json", 2, False),
        ("  \n" + OBJECT + "\n", "json", 2, False),
        (json.dumps(P1, ensure_ascii=False), "json", 1, False),
        (json.dumps({"data": [P1, P2]}, ensure_ascii=False), "json", 2, False),
        (json.dumps({"whatever": [P1]}, ensure_ascii=False), "json", 1, False),
        (f"はい！\n```json\n{ARRAY}\n```\nどうぞ", "fenced", 2, False),
        (f"```\n{OBJECT}\n```", "fenced", 2, False),
        (f"````json\n{ARRAY}\n````", "fenced", 2, False),
        (f"Here you go: {OBJECT} Hope it helps!", "embedded", 2, False),
        (f"結果：\n{ARRAY}\n以上", "embedded", 2, False),
        (OBJECT[: OBJECT.rfind('{"topic"') + 20], "salvaged", 1, True),
        (ARRAY[:-5], "salvaged", 1, True),
        (
            '[{"topic": "Tech", "standard": "a", "gyaru": "b"}, {"standard": oops}, '
            + json.dumps(P2, ensure_ascii=False)
            + "]",
            "salvaged",
            2,
            True,
        ),
        ("ごめんなさい、できません。", "none", 0, False),
        ("", "none", 0, False),
        ("{not json at all", "none", 0, False),
    ],
)
def test_extract(text: str, method: str, count: int, broken: bool) -> None:
    got = extract_items(text)
    assert (got.method, len(got.items), got.broken) == (method, count, broken)


def test_raw_control_characters_inside_strings_are_kept() -> None:
    text = '{"pairs": [{"topic": "Tech", "standard": "一行目\n二行目\tです。", "gyaru": "あーし\n無理"}]}'
    got = extract_items(text)
    assert got.method == "json"
    assert got.items[0]["standard"] == "一行目\n二行目\tです。"


def test_fence_closing_must_match_opening() -> None:
    # A ``` inside a ```` block does not end it.
    inner = '[{"standard": "a```b", "gyaru": "c"}]'
    got = extract_items(f"````json\n{inner}\n````")
    assert got.method == "fenced"
    assert got.items[0]["standard"] == "a```b"


def test_json_fence_preferred_over_other_fences() -> None:
    text = f"```python\nprint('x')\n```\n```json\n{ARRAY}\n```"
    got = extract_items(text)
    assert got.method == "fenced" and len(got.items) == 2


def test_truncated_reply_keeps_every_complete_item() -> None:
    items = [dict(P1, standard=f"文{i}です。") for i in range(10)]
    text = json.dumps({"pairs": items}, ensure_ascii=False)
    cut = text[: text.rfind('{"topic"') + 15]
    got = extract_items(cut)
    assert got.broken and len(got.items) == 9
    assert [i["standard"] for i in got.items] == [f"文{i}です。" for i in range(9)]
