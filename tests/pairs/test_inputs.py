"""Screening the user's sentences: blanks, duplicates, lines no rewrite could pass."""

from __future__ import annotations

import hashlib

import pytest

from client.pairs.digests import DigestSet, hex64
from client.pairs.inputs import (
    InputItem,
    InputLine,
    InputRejection,
    InputScreen,
    batches_of,
    column_of,
    free_indexes,
    text_of_json,
    text_of_row,
)
from client.pairs.schema import PairRules

RULES = PairRules(
    topics=("Tech", "Daily"),
    first_person="あーし",
    standard_min_chars=2,
    standard_max_chars=20,
    gyaru_min_chars=2,
    gyaru_max_chars=40,
)


def screen_all(texts: list[str]) -> tuple[InputScreen, list[InputItem | InputRejection | None]]:
    screen = InputScreen(RULES)
    return screen, [screen.screen(InputLine(i, t)) for i, t in enumerate(texts, start=1)]


def test_unique_lines_are_numbered_in_file_order_and_keep_their_text() -> None:
    _, out = screen_all(["今日は晴れです。", "明日は雨です。"])
    assert out == [
        InputItem(1, 1, "今日は晴れです。", out[0].key),  # type: ignore[union-attr]
        InputItem(2, 2, "明日は雨です。", out[1].key),  # type: ignore[union-attr]
    ]


def test_blank_lines_are_skipped_and_counted() -> None:
    screen, out = screen_all(["", "今日は晴れです。", ""])
    assert out[0] is None and out[2] is None
    assert isinstance(out[1], InputItem) and out[1].id == 1
    assert screen.counts.empty == 2 and screen.counts.lines == 3


def test_exact_and_normalised_duplicates_are_sent_once_and_name_the_first_line() -> None:
    screen, out = screen_all(["今日は晴れです。", "今日は晴れです。", "今日は、晴れです！", "ｷｮｳﾊ"])
    assert isinstance(out[0], InputItem)
    assert isinstance(out[1], InputRejection) and out[1].reason == "duplicate"
    assert out[1].detail == "same as line 1"
    assert isinstance(out[2], InputRejection) and out[2].reason == "duplicate"
    assert screen.counts.duplicates_exact == 1
    assert screen.counts.duplicates_normalised == 1
    assert screen.counts.sent == 2


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("あ" * 21, "length"),
        ("あ", "length"),
        ("I am fine today.", "not_japanese"),
        ("今日は\t晴れです。", "control_chars"),
    ],
)
def test_lines_no_rewrite_could_pass_are_rejected_before_any_request(
    text: str, reason: str
) -> None:
    screen, out = screen_all([text])
    assert isinstance(out[0], InputRejection) and out[0].reason == reason
    assert screen.counts.rejected[reason] == 1 and screen.counts.sent == 0


def test_keys_depend_on_the_text_only() -> None:
    _, first = screen_all(["今日は晴れです。"])
    _, again = screen_all(["", "明日は雨です。", "今日は晴れです。"])
    assert isinstance(first[0], InputItem) and isinstance(again[2], InputItem)
    assert first[0].key == again[2].key and first[0].line != again[2].line


def test_jsonl_records() -> None:
    assert text_of_json('{"standard": "文です。"}', "standard") == "文です。"
    assert text_of_json('{"text": "文です。", "x": 1}', "text") == "文です。"
    assert text_of_json("   ", "standard") is None
    assert text_of_json('{"standard": null}', "standard") is None
    for raw, message in [
        ("{oops", "not a JSON object"),
        ("[1, 2]", "a JSON list"),
        ('{"text": "文"}', "no field 'standard' (fields: text)"),
        ('{"standard": 3}', "is a int, not a string"),
    ]:
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
            text_of_json(raw, "standard")


def test_csv_columns_and_rows() -> None:
    assert column_of(["\ufeffid", " text "], "text") == 1
    with pytest.raises(ValueError, match=r"no column 'body' \(columns: id, text\)"):
        column_of(["id", "text"], "body")
    assert text_of_row(["1", "文です。"], 1, 2) == "文です。"
    assert text_of_row([], 1, 2) is None
    with pytest.raises(ValueError, match="3 fields where the header has 2"):
        text_of_row(["1", "a", "b"], 1, 2)


def items(n: int) -> list[InputItem]:
    return [InputItem(i, i, f"文{i}", key(i)) for i in range(1, n + 1)]


def key(i: int) -> str:
    return hashlib.blake2b(str(i).encode(), digest_size=12).hexdigest()


def test_batches_skip_done_inputs_and_keep_order() -> None:
    done = DigestSet(hex64(key(i)) for i in (2, 5))
    chunks = list(batches_of(items(7), 3, done=done))
    assert [[i.id for i in chunk] for chunk in chunks] == [[1, 3, 4], [6, 7]]


def test_free_indexes_fill_gaps_before_going_past_the_end() -> None:
    slots = free_indexes({1, 2, 4})
    assert [next(slots) for _ in range(4)] == [3, 5, 6, 7]
