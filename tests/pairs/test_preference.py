"""DPO rows: TRL's conversational preference columns, rejected lines from the run's rejections."""

from __future__ import annotations

from typing import Any

import pytest

from client.pairs.dedup import normalise
from client.pairs.preference import (
    DPO_COLUMNS,
    PreferenceCounts,
    preference,
    preference_rows,
    rejected_lines,
    review_rejected_lines,
)

PAIR = {"standard": "今日は晴れです。", "gyaru": "今日マジ晴れじゃん！あーし最高〜"}


def rejection(reason: str, standard: str, gyaru: Any) -> dict[str, Any]:
    item = {"topic": "Daily", "standard": standard, "gyaru": gyaru}
    return {"index": 0, "reason": reason, "detail": "", "item": item}


RECORDS = [
    {"rejected": [rejection("topic", "今日は晴れです。", "今日は晴れてるよ〜あーし")]},
    {
        "rejected": [
            rejection("missing_first_person", "今日は、晴れです", "今日は晴れてるね。"),
            rejection("low_quality", "今日は晴れです。", "二番目の候補です。"),
            rejection("judge", "明日は雨です。", 5),
        ]
    },
]


def test_rejected_is_the_first_voice_rejection_of_the_same_line() -> None:
    found = rejected_lines(RECORDS)
    counts = PreferenceCounts()
    row = preference(PAIR, system="SYS", rejected=found, counts=counts)
    assert tuple(row) == DPO_COLUMNS
    assert row["prompt"] == [
        {"role": "system", "content": "SYS"},
        {"role": "user", "content": "今日は晴れです。"},
    ]
    assert row["chosen"] == [{"role": "assistant", "content": PAIR["gyaru"]}]
    assert row["rejected"] == [{"role": "assistant", "content": "今日は晴れてるね。"}]
    assert counts.to_json() == {
        "rejected_from_run": {"missing_first_person": 1},
        "rejected_is_standard_line": 0,
    }


def test_without_a_rejection_the_standard_line_is_the_rejected_answer() -> None:
    counts = PreferenceCounts()
    other = {"standard": "明日は雨です。", "gyaru": "明日雨とかマジ無理〜あーし"}
    row = preference(other, system=None, rejected=rejected_lines(RECORDS), counts=counts)
    assert row["prompt"] == [{"role": "user", "content": "明日は雨です。"}]
    assert row["rejected"] == [{"role": "assistant", "content": "明日は雨です。"}]
    assert counts.from_standard == 1


def test_a_rejected_line_equal_to_the_chosen_one_is_not_used() -> None:
    records = [{"rejected": [rejection("judge", PAIR["standard"], PAIR["gyaru"] + "!")]}]
    counts = PreferenceCounts()
    row = preference(PAIR, system=None, rejected=rejected_lines(records), counts=counts)
    assert row["rejected"][0]["content"] == PAIR["standard"]


def test_a_line_a_person_corrected_is_the_rejected_answer() -> None:
    counts = PreferenceCounts()
    edited = {**PAIR, "edited_from": "今日晴れですね。あーし"}
    row = preference(edited, system=None, rejected=rejected_lines(RECORDS), counts=counts)
    assert row["chosen"] == [{"role": "assistant", "content": PAIR["gyaru"]}]
    assert row["rejected"] == [{"role": "assistant", "content": "今日晴れですね。あーし"}]
    assert counts.to_json()["rejected_from_run"] == {"edited_in_review": 1}


def test_a_line_rejected_in_review_comes_before_the_runs_own_rejections() -> None:
    reviewed = [{"standard": "今日は、晴れです！", "gyaru": "今日晴れです。あーし"}]
    found = review_rejected_lines(reviewed, rejected_lines(RECORDS))
    counts = PreferenceCounts()
    row = preference(PAIR, system=None, rejected=found, counts=counts)
    assert row["rejected"] == [{"role": "assistant", "content": "今日晴れです。あーし"}]
    assert counts.to_json()["rejected_from_run"] == {"rejected_in_review": 1}
    # A person's own correction still comes first.
    edited = {**PAIR, "edited_from": "今日晴れですね。あーし"}
    row = preference(edited, system=None, rejected=found, counts=counts)
    assert row["rejected"][0]["content"] == "今日晴れですね。あーし"


def test_review_rejections_without_a_persona_line_are_ignored() -> None:
    found = review_rejected_lines([{"standard": "今日は晴れです。", "gyaru": "  "}, {}], {})
    assert found == {}


@pytest.mark.parametrize("reason", ["register", "near_copy", "missing_first_person"])
def test_a_line_rejected_for_its_voice_is_the_rejected_answer(reason: str) -> None:
    records = [{"rejected": [rejection(reason, PAIR["standard"], "今日は晴れです。あーし")]}]
    counts = PreferenceCounts()
    row = preference(PAIR, system=None, rejected=rejected_lines(records), counts=counts)
    assert row["rejected"] == [{"role": "assistant", "content": "今日は晴れです。あーし"}]
    assert counts.to_json()["rejected_from_run"] == {reason: 1}


def test_a_voice_rejection_beats_an_earlier_one_for_another_reason() -> None:
    records = [
        {"rejected": [rejection("not_japanese", PAIR["standard"], "Sunny today lol")]},
        {"rejected": [rejection("judge", PAIR["standard"], "あーし今日雨だし")]},
        {"rejected": [rejection("near_copy", PAIR["standard"], "あーし今日は晴れです。")]},
        {"rejected": [rejection("register", PAIR["standard"], "あーし今日は晴れですね。")]},
    ]
    found = rejected_lines(records)
    # Among equals (register, near_copy), the first in batch order.
    assert found[normalise(PAIR["standard"])] == ("あーし今日は晴れです。", "near_copy")
    assert rejected_lines(records[:2])[normalise(PAIR["standard"])][1] == "judge"


def test_a_line_the_dataset_keeps_is_never_a_worse_answer() -> None:
    # A person rescued this line from the run's rejections: it is in the dataset now.
    rescued = {"standard": PAIR["standard"], "gyaru": "今日晴れ！あーし的に最高じゃん"}
    records = [{"rejected": [rejection("register", rescued["standard"], rescued["gyaru"])]}]
    assert rejected_lines(records, keep=[rescued, PAIR]) == {}
    assert rejected_lines(records) != {}


def test_a_pair_with_no_worse_answer_gets_no_row() -> None:
    # An `identical` item a person rescued: its only candidate is its own line.
    same = {"standard": "パソコンが重いです。", "gyaru": "パソコンが重いです。"}
    counts = PreferenceCounts()
    rows = list(preference_rows([same, PAIR], system=None, rejected={}, counts=counts))
    assert [r["chosen"][0]["content"] for r in rows] == [PAIR["gyaru"]]
    assert counts.to_json()["skipped_no_worse_answer"] == 1 and counts.from_standard == 1
