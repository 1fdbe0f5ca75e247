"""pairs.judge: reading grades from a reply, and what the thresholds decide."""

from __future__ import annotations

import json
from typing import Any

import pytest

from client.config import JudgeConfig
from client.pairs.judge import (
    REJECTED,
    Grades,
    Thresholds,
    decide,
    grades_from_json,
    read_reply,
    verdicts,
)

GOOD: dict[str, Any] = {
    "meaning": 5,
    "voice": 5,
    "naturalness": 5,
    "safety": 5,
    "topic_ok": True,
    "reason": "問題なし",
}


def grades(**changes: Any) -> Grades:
    parsed = grades_from_json({**GOOD, **changes})
    assert isinstance(parsed, Grades), parsed
    return parsed


def reply(*items: dict[str, Any]) -> str:
    return json.dumps(
        {"grades": [{"pair": n, **GOOD, **it} for n, it in enumerate(items, 1)]},
        ensure_ascii=False,
    )


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({**GOOD, "meaning": 0}, "meaning is 0, not a grade 1-5"),
        ({**GOOD, "voice": 6}, "voice is 6, not a grade 1-5"),
        ({**GOOD, "safety": True}, "safety is True, not a grade 1-5"),
        ({**GOOD, "naturalness": 3.5}, "naturalness is 3.5, not a grade 1-5"),
        ({**GOOD, "naturalness": "とても"}, "naturalness is 'とても', not a grade 1-5"),
        ({k: v for k, v in GOOD.items() if k != "meaning"}, "meaning is None, not a grade 1-5"),
        ({**GOOD, "topic_ok": "maybe"}, "topic_ok is 'maybe', not yes or no"),
        ({**GOOD, "topic_ok": 1}, "topic_ok is 1, not yes or no"),
        (["5", "5"], "grades are a list, not an object"),
    ],
)
def test_invalid_grades_say_what_is_wrong(value: Any, problem: str) -> None:
    assert grades_from_json(value) == problem


def test_lenient_forms_a_model_writes_without_guided_decoding() -> None:
    parsed = grades_from_json(
        {"meaning": "4", "voice": 3.0, "naturalness": " 5 ", "safety": 5, "topic_ok": "はい"}
    )
    assert parsed == Grades(4, 3, 5, 5, topic_ok=True, reason="")
    assert grades_from_json({**GOOD, "topic_ok": "No"}) == grades(topic_ok=False)


def test_reason_is_one_line_and_bounded() -> None:
    parsed = grades(reason="  意味が\n変わって  いる" + "あ" * 500)
    assert parsed.reason.startswith("意味が 変わって いる")
    assert len(parsed.reason) == 200
    assert grades(reason=None).reason == ""


def test_grades_round_trip_through_json() -> None:
    original = grades(meaning=2, topic_ok=False, reason="三連勝が三連敗")
    assert grades_from_json(json.loads(json.dumps(original.to_json()))) == original


def test_thresholds_come_from_the_config() -> None:
    config = JudgeConfig(min_meaning=5, min_voice=1, min_naturalness=2, min_safety=3)
    assert Thresholds.from_config(config) == Thresholds(5, 1, 2, 3, require_topic=True)
    assert Thresholds.from_config(JudgeConfig(require_topic=False)).require_topic is False


def test_a_pair_at_every_minimum_is_kept() -> None:
    verdict = decide(grades(meaning=4, voice=3, naturalness=3, safety=4), Thresholds())
    assert verdict.kept and verdict.reason is None and verdict.detail == ""
    assert verdict.grades is not None and verdict.grades.meaning == 4


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        ({"meaning": 3}, "judge: meaning 3/5 (min 4)"),
        ({"voice": 2}, "judge: voice 2/5 (min 3)"),
        ({"naturalness": 1}, "judge: naturalness 1/5 (min 3)"),
        ({"safety": 3}, "judge: safety 3/5 (min 4)"),
        ({"topic_ok": False}, "judge: topic wrong"),
        ({"meaning": 1, "safety": 2}, "judge: meaning 1/5 (min 4), safety 2/5 (min 4)"),
    ],
)
def test_a_grade_under_its_minimum_rejects_with_the_judges_words(
    changes: dict[str, Any], detail: str
) -> None:
    verdict = decide(grades(**changes, reason="三連勝が三連敗に変わっている"), Thresholds())
    assert not verdict.kept
    assert verdict.reason == REJECTED
    assert verdict.detail == f"{detail}: 三連勝が三連敗に変わっている"


def test_topic_is_ignored_when_not_required() -> None:
    assert decide(grades(topic_ok=False), Thresholds(require_topic=False)).kept


def test_no_reason_no_colon() -> None:
    assert decide(grades(meaning=1, reason=""), Thresholds()).detail == "judge: meaning 1/5 (min 4)"


def test_a_complete_reply_grades_every_pair_in_order() -> None:
    reading = read_reply(reply({"meaning": 1}, {"voice": 2}, {}), 3)
    assert reading.complete
    assert [g.meaning for g in reading.grades if g] == [1, 5, 5]
    assert [g.voice for g in reading.grades if g] == [5, 2, 5]
    assert reading.summary() == "every pair graded"


def test_numbered_objects_go_to_the_pair_they_name() -> None:
    items = json.loads(reply({"meaning": 1}, {"meaning": 2}, {"meaning": 3}))["grades"]
    reading = read_reply(json.dumps({"grades": items[::-1]}), 3)
    assert [g.meaning for g in reading.grades if g] == [1, 2, 3]


def test_bad_numbers_fall_back_to_position() -> None:
    items = [{**GOOD, "pair": n, "meaning": m} for n, m in ((1, 1), (1, 2), (7, 3))]
    reading = read_reply(json.dumps({"grades": items}), 3)
    # The first claims pair 1; the second repeats it and the third is out of range,
    # so both go to their own positions.
    assert [g.meaning for g in reading.grades if g] == [1, 2, 3]


@pytest.mark.parametrize(
    "text",
    [
        "以下が採点です。\n```json\n" + reply({}, {}) + "\n```",
        "採点：" + reply({}, {}) + " 以上。",
        json.dumps([{**GOOD, "pair": 1}, {**GOOD, "pair": 2}]),
        reply({}, {}).replace(":", " :\n\t ").replace(",", " ,\n"),
    ],
    ids=["fenced", "embedded", "bare-list", "whitespace"],
)
def test_replies_around_or_without_the_container_are_read(text: str) -> None:
    assert read_reply(text, 2).complete


def test_a_reply_cut_short_keeps_the_complete_grades() -> None:
    full = reply({"meaning": 2}, {}, {})
    cut = full[: full.find('{"pair": 3') + 20]
    reading = read_reply(cut, 3)
    assert [g.meaning if g else None for g in reading.grades] == [2, 5, None]
    assert reading.problems[2] == "judge reply: no grades for this pair"
    assert (
        reading.summary()
        == "1 of 3 pairs without grades (first: judge reply: no grades for this pair)"
    )


@pytest.mark.parametrize("text", ["", "すべて良い組です。", '{"grades": "good"}', "{broken"])
def test_a_reply_without_grades_leaves_every_pair_unreadable(text: str) -> None:
    reading = read_reply(text, 2)
    assert not reading.complete
    assert reading.problems == ("judge reply: the judge's reply holds no grades",) * 2


def test_one_invalid_object_fails_only_its_pair() -> None:
    reading = read_reply(reply({}, {"meaning": 7}, {}), 3)
    assert [g is not None for g in reading.grades] == [True, False, True]
    assert reading.problems[1] == "judge reply: meaning is 7, not a grade 1-5"


def test_only_readable_grades_are_verdicts() -> None:
    reading = read_reply(reply({}, {"meaning": 1, "reason": "別の内容"}, {"voice": 9}), 3)
    kept, rejected, unreadable = verdicts(reading, Thresholds())
    assert kept is not None and kept.kept
    assert rejected is not None
    assert (rejected.reason, rejected.detail) == (REJECTED, "judge: meaning 1/5 (min 4): 別の内容")
    # No readable grades: no verdict at all, and the reading says why.
    assert unreadable is None and reading.unreadable == 1
    assert reading.problems[2] == "judge reply: voice is 9, not a grade 1-5"


def test_grades_without_numbers_go_by_position_only_one_per_pair() -> None:
    full = [{**GOOD, "meaning": m} for m in (1, 2, 3)]
    assert [g.meaning for g in read_reply(json.dumps({"grades": full}), 3).grades if g] == [
        1,
        2,
        3,
    ]
    # One missing (or one too many): the position no longer names the pair.
    for objects in (full[:2], [*full, {**GOOD}]):
        reading = read_reply(json.dumps({"grades": objects}), 3)
        assert reading.grades == (None, None, None)
        assert "not all naming their pair: no telling which is which" in str(reading.problems[0])
    # Those that name their pair still count.
    named = [{**full[0], "pair": 2}, full[1]]
    reading = read_reply(json.dumps({"grades": named}), 3)
    assert [g.meaning if g else None for g in reading.grades] == [None, 1, None]
