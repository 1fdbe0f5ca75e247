"""The fake judge's actions, read by the real reply parser: what each one means for
the loopback and respx tests that script them."""

from __future__ import annotations

import pytest

from client.pairs.judge import Thresholds, read_reply, verdicts
from client.pairs.judge_request import user_message
from tests.judgefake import grade_when, is_judge_request, judge_content
from tests.pairs.test_judge_request import ITEMS, Item

THREE = [
    *ITEMS,
    Item("Tech", "新しいスマホを買いました。", "新しいスマホ買った！あーしマジ嬉しい〜"),
]
BODY = {
    "messages": [
        {"role": "system", "content": "…"},
        {"role": "user", "content": user_message(THREE)},
    ]
}


@pytest.mark.parametrize(
    ("action", "graded"),
    [
        ("ok", [True, True, True]),
        ("fenced", [True, True, True]),
        ("strings", [True, True, True]),
        ("reversed", [True, True, True]),
        ("short", [True, True, False]),
        ("broken", [True, False, False]),
        ("outofrange", [False, False, False]),
        ("prose", [False, False, False]),
    ],
)
def test_each_action_reads_as_documented(action: str, graded: list[bool]) -> None:
    text, _ = judge_content(action, BODY)
    reading = read_reply(text, 3)
    assert [g is not None for g in reading.grades] == graded


def test_a_scripted_grader_turns_down_exactly_the_pairs_it_names() -> None:
    grader = grade_when("三連勝", meaning=1, reason="勝ち負けが逆")
    reading = read_reply(judge_content("ok", BODY, grader)[0], 3)
    assert [v.kept for v in verdicts(reading, Thresholds())] == [False, True, True]


def test_judge_requests_are_told_from_generation_requests() -> None:
    assert is_judge_request(BODY)
    generation = {"messages": [{"role": "user", "content": "今回のバッチ番号は1です。"}]}
    assert not is_judge_request(generation)
    assert not is_judge_request(None)
