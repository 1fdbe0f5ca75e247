"""Screening the user's sentences: blanks, duplicates, lines no rewrite could pass."""

from __future__ import annotations

import hashlib

import pytest

from client.pairs.digests import DigestSet, hex64
from client.pairs.inputs import (
    FREE,
    InputFingerprint,
    InputItem,
    InputLine,
    InputRejection,
    InputScreen,
    RecordedInput,
    batches_of,
    column_of,
    free_indexes,
    input_differences,
    input_digest,
    input_refusal,
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


BASE = ["今日は晴れです。", "明日は雨です。", "駅前にカフェができました。"]


@pytest.mark.parametrize(
    ("lines", "same"),
    [
        (BASE, True),
        (["", *BASE, "  "], True),  # blank lines
        ([f"  {line} " for line in BASE], True),  # spaces around
        (["今日は晴れです", "明日は、雨です！", "駅前にｶﾌｪができました。"], True),  # normalised
        (BASE[:2], False),  # a line dropped
        ([*BASE, "新しいゲームです。"], False),  # a line added
        ([BASE[1], BASE[0], BASE[2]], False),  # lines moved
        (["今日は曇りです。", *BASE[1:]], False),  # a line changed
        (["今日は晴れです。明日は雨です。", BASE[2]], False),  # two lines joined
    ],
)
def test_the_digest_of_an_input_follows_its_normalised_lines(lines: list[str], same: bool) -> None:
    assert (input_digest(lines) == input_digest(BASE)) is same


def test_the_screen_fingerprints_what_it_read() -> None:
    screen, _ = screen_all(["", *BASE, BASE[0], "English only"])
    fingerprint = screen.fingerprint("in.txt")
    assert fingerprint == InputFingerprint(
        "in.txt", 6, input_digest([*BASE, BASE[0], "English only"])
    )
    assert InputFingerprint.from_json(fingerprint.to_json()) == fingerprint
    assert InputFingerprint.from_json({"file": "in.txt", "lines": "6"}) is None
    assert InputFingerprint.from_json(None) is None


RUN = InputFingerprint("in.txt", 60, "d" * 32)


@pytest.mark.parametrize(
    ("recorded", "current", "message"),
    [
        (RUN, RUN, None),
        (RUN, InputFingerprint("renamed.txt", 60, "d" * 32), None),  # the same lines
        (FREE, None, None),
        (None, RUN, None),  # a manifest from before runs recorded their input
        (None, None, None),
        (
            RUN,
            InputFingerprint("in.txt", 58, "e" * 32),
            "run r1 was made from in.txt (60 lines), and --input in.txt differs (58 lines, "
            "not 60): resume it with the file it was made from, or start a new run with a "
            "new --run-id",
        ),
        (
            RUN,
            InputFingerprint("other.txt", 60, "e" * 32),
            "run r1 was made from in.txt (60 lines), and --input other.txt differs (file "
            "other.txt, not in.txt; the same number of lines, with other text): resume it "
            "with the file it was made from, or start a new run with a new --run-id",
        ),
        (
            RUN,
            None,
            "run r1 was made from in.txt (60 lines); without --input it would turn into free "
            "generation: resume it with --input in.txt, or start a new run with a new --run-id",
        ),
        (
            FREE,
            RUN,
            "run r1 generates its own pairs from no input file, and --input in.txt cannot "
            "join it: start a new run with a new --run-id",
        ),
    ],
)
def test_a_resumed_run_refuses_another_input_in_one_line(
    recorded: RecordedInput | None, current: InputFingerprint | None, message: str | None
) -> None:
    assert input_refusal("r1", recorded, current) == message


def test_what_differs_names_the_file_the_count_and_the_text() -> None:
    assert input_differences(RUN, RUN) == []
    assert input_differences(RUN, InputFingerprint("b.txt", 61, "e" * 32)) == [
        "file b.txt, not in.txt",
        "61 lines, not 60",
    ]
    assert input_differences(RUN, InputFingerprint("in.txt", 60, "e" * 32)) == [
        "the same number of lines, with other text"
    ]
