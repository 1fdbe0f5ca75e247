"""What a run remembers of its input file, and the refusal of another one on resume."""

from __future__ import annotations

import pytest

from client.pairs.fingerprint import (
    FREE,
    InputFingerprint,
    RecordedInput,
    input_differences,
    input_digest,
    input_refusal,
)
from tests.pairs.test_inputs import screen_all

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
