"""pairs.rescue: the run's rejected items as a review reads them, and the pair a rescue adds."""

from __future__ import annotations

import pytest

from client.pairs.judge import Grades
from client.pairs.rescue import RunItem, checks_passed, rescued_pair, run_item

GRADES = {"meaning": 1, "voice": 4, "naturalness": 4, "safety": 5, "topic_ok": True, "reason": "逆"}


@pytest.mark.parametrize(
    ("reason", "passed"),
    [
        ("judge", True),  # the judge only sees what the checks kept
        ("judge_unreadable", True),
        ("register", False),
        ("near_copy", False),
        ("missing_first_person", False),
        ("low_quality", False),
        ("schema", None),  # not a pair: no verdict on its lines
        ("missing", None),
    ],
)
def test_what_the_checks_said(reason: str, passed: bool | None) -> None:
    assert checks_passed(reason) is passed


def test_a_judge_rejection_keeps_its_grades() -> None:
    rejection = {
        "index": 3,
        "reason": "judge",
        "detail": "judge: meaning 1/5 (min 4): 逆",
        "item": {
            "topic": "Gaming",
            "standard": "勝ちました。",
            "gyaru": "あーし負けた",
            "judge": GRADES,
        },
    }
    item = run_item("r-b0001-x003", 1, rejection)
    assert item.judge == Grades(**GRADES)  # type: ignore[arg-type]
    assert (item.topic, item.standard, item.gyaru, item.reason) == (
        "Gaming",
        "勝ちました。",
        "あーし負けた",
        "judge",
    )
    assert item.rescuable and item.checks is True


@pytest.mark.parametrize(
    ("raw", "standard", "gyaru"),
    [
        (["<b>x</b>"], '["<b>x</b>"]', ""),  # not an object: shown as the model wrote it
        ({"standard": "文です。", "gyaru": 5}, "文です。", ""),
        ({"id": 4, "standard": "入力の文です。"}, "入力の文です。", ""),  # a `missing` input
    ],
)
def test_items_without_two_lines_cannot_be_rescued(raw: object, standard: str, gyaru: str) -> None:
    item = run_item("x", 1, {"index": 0, "reason": "schema", "detail": "", "item": raw})
    assert (item.standard, item.gyaru) == (standard, gyaru)
    assert not item.rescuable


def test_unreadable_grades_are_left_out() -> None:
    rejection = {
        "reason": "judge",
        "item": {"standard": "a", "gyaru": "b", "judge": {"meaning": 1}},
    }
    assert run_item("x", 1, rejection).judge is None


def test_round_trip_and_what_a_review_file_must_hold() -> None:
    item = run_item("r-b0001-x003", 1, {"reason": "judge", "item": {
        "topic": "Daily", "standard": "雨です。", "gyaru": "あーし雨だし", "judge": GRADES}})  # fmt: skip
    item = item.with_quality(0.55)
    assert RunItem.from_json(item.to_json()) == item
    with pytest.raises(ValueError, match="'gyaru' is not a string"):
        RunItem.from_json({**item.to_json(), "gyaru": None})


def test_the_pair_a_rescue_adds() -> None:
    item = RunItem("r-b0002-x001", 2, "Daily", "雨です。", "雨だね", "missing_first_person", "")
    assert rescued_pair(item, None) == {
        "id": "r-b0002-x001",
        "batch": 2,
        "topic": "Daily",
        "standard": "雨です。",
        "gyaru": "雨だね",
        "rescued_from": "missing_first_person",
    }
    edited = rescued_pair(item.with_quality(0.7), "あーし雨だし")
    assert (edited["gyaru"], edited["edited_from"], edited["quality"]) == (
        "あーし雨だし",
        "雨だね",
        0.7,
    )
