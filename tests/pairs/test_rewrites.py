"""One outcome per input: pairs keep the input's text; what is settled is never asked again."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from client.pairs.inputs import InputCounts, InputItem
from client.pairs.judge import Grades, Verdict, grades_from_json
from client.pairs.judge_outcome import judge_rejection
from client.pairs.records import Pair, Rejection
from client.pairs.rewrites import (
    InputTally,
    check_rewrites,
    final_outcomes,
    input_summary,
    settled_keys,
)
from client.pairs.schema import PairRules
from client.pairs.validate import ValidationContext

RULES = PairRules(
    topics=("Tech", "Daily"),
    first_person="あーし",
    standard_min_chars=2,
    standard_max_chars=60,
    gyaru_min_chars=2,
    gyaru_max_chars=80,
)
CTX = ValidationContext(rules=RULES, style_markers=("マジ",), min_quality=0.0)
K1, K2 = "a1" * 12, "b2" * 12  # input keys are hex digests
INPUTS = [
    InputItem(1, 3, "今日は晴れです。", "k1"),
    InputItem(2, 4, "明日は雨が降ります。", "k2"),
    InputItem(3, 5, "駅前にカフェができました。", "k3"),
    InputItem(4, 6, "新しいゲームを買いました。", "k4"),
]


def item(i: int, gyaru: str, standard: str | None = None) -> dict[str, Any]:
    text = standard if standard is not None else INPUTS[i - 1].text
    return {"id": i, "standard": text, "topic": "Daily", "gyaru": gyaru}


def check(items: list[Any]) -> tuple[list[Pair], list[Rejection]]:
    return check_rewrites(INPUTS, items, ctx=CTX, run_id="r", batch=2, generated_at="t")


def test_every_input_has_exactly_one_outcome_in_input_order() -> None:
    accepted, rejected = check(
        [
            item(3, "駅前にカフェできたじゃん、あーし行きたい！"),
            item(1, "今日マジ晴れ〜あーし最高"),
            item(2, "明日雨らしいよ〜"),  # no あーし: a check's rejection
            item(2, "明日雨〜あーし無理", "明後日は雪です。"),  # untied
        ]
    )
    assert [(p.input.id, p.standard) for p in accepted if p.input] == [
        (1, "今日は晴れです。"),
        (3, "駅前にカフェができました。"),
    ]
    assert [(r.input.id if r.input else None, r.reason) for r in rejected] == [
        (2, "missing_first_person"),
        (4, "missing"),
        (None, "misaligned"),
    ]


def test_record_entries_carry_the_input_or_none() -> None:
    accepted, rejected = check([item(1, "今日マジ晴れ〜あーし最高"), {"id": 9, "standard": "x"}])
    assert accepted[0].to_json()["input"] == {"id": 1, "line": 3, "key": "k1"}
    entries = [r.to_json() for r in rejected]
    assert [(r["reason"], r.get("input")) for r in entries] == [
        ("missing", {"id": 2, "line": 4, "key": "k2"}),
        ("missing", {"id": 3, "line": 5, "key": "k3"}),
        ("missing", {"id": 4, "line": 6, "key": "k4"}),
        ("misaligned", None),
    ]


def test_settled_inputs_are_pairs_and_final_rejections_not_missing_ones() -> None:
    accepted, rejected = check(
        [item(1, "今日マジ晴れ〜あーし最高"), item(2, "明日雨らしいよ〜"), "junk"]
    )
    record = {
        "status": "ok",
        "accepted": [p.to_json() for p in accepted],
        "rejected": [r.to_json() for r in rejected],
    }
    assert sorted(settled_keys(record)) == ["k1", "k2"]


def test_final_outcomes_let_a_later_settlement_win_over_missing_in_any_order() -> None:
    first = {"accepted": [], "rejected": [{"reason": "missing", "input": {"key": K1}}]}
    later = {"accepted": [{"input": {"key": K1}}], "rejected": []}
    other = {"rejected": [{"reason": "length", "input": {"key": K2}}, {"reason": "misaligned"}]}
    for order in ([first, later, other], [later, other, first]):
        assert final_outcomes(order) == {"paired": 1, "length": 1}
    assert final_outcomes([first]) == {"missing": 1}


def test_a_rejection_made_from_a_pair_later_settles_the_pairs_input() -> None:
    # The judge turns a pair down after validation: its rejection holds the pair.
    pair = {"id": "r-b0001-000", "standard": "今日は晴れです。", "input": {"key": K1}}
    record = {"accepted": [], "rejected": [{"reason": "judge", "item": pair}]}
    assert list(settled_keys(record)) == [K1]
    assert final_outcomes([record]) == {"judge": 1}


def without_id(i: int, gyaru: str, standard: str | None = None) -> dict[str, Any]:
    return {k: v for k, v in item(i, gyaru, standard).items() if k != "id"}


def test_an_outcome_tied_by_its_line_says_so_in_its_input() -> None:
    accepted, rejected = check(
        [
            without_id(1, "今日マジ晴れ〜あーし最高", "今日は、晴れです"),
            without_id(2, "明日雨らしいよ〜"),  # no あーし: a check's rejection, tied by text
            item(3, "駅前にカフェできたじゃん、あーし行きたい！"),
        ]
    )
    assert [(p.input.id if p.input else None, p.tied_by_text) for p in accepted] == [
        (1, True),
        (3, False),
    ]
    assert accepted[0].standard == "今日は晴れです。"
    assert accepted[0].to_json()["input"] == {"id": 1, "line": 3, "key": "k1", "tied_by": "text"}
    assert "tied_by" not in accepted[1].to_json()["input"]
    by_reason = {r.reason: r.to_json() for r in rejected}
    assert by_reason["missing_first_person"]["input"]["tied_by"] == "text"
    assert "tied_by" not in by_reason["missing"]["input"]
    # The judge turning the pair down keeps how it was tied.
    grades = grades_from_json(
        {"meaning": 1, "voice": 5, "naturalness": 5, "safety": 5, "topic_ok": True}
    )
    assert isinstance(grades, Grades)
    verdict = Verdict(grades, "judge", "judge: meaning 1/5 (min 4)")
    assert judge_rejection(accepted[0], verdict).to_json()["input"]["tied_by"] == "text"


def record_of(
    accepted: list[Pair], rejected: list[Rejection], status: str = "ok"
) -> dict[str, Any]:
    return {
        "status": status,
        "accepted": [p.to_json() for p in accepted],
        "rejected": [r.to_json() for r in rejected],
    }


def test_the_summary_counts_lines_tied_by_text_and_says_why_lines_are_pending() -> None:
    inputs = [replace(i, key=k) for i, k in zip(INPUTS, ("a1" * 12, "b2" * 12, "c3" * 12,
                                                         "d4" * 12), strict=True)]  # fmt: skip
    accepted, rejected = check_rewrites(
        inputs[:2],
        [without_id(1, "今日マジ晴れ〜あーし最高"), {"standard": "関係ない文です。"}],
        ctx=CTX,
        run_id="r",
        batch=1,
        generated_at="t",
    )
    tally = InputTally()
    tally.add(record_of(accepted, rejected))
    counts = InputCounts(lines=5, empty=1, sent=4)
    summary = input_summary(counts, tally)
    assert {k: summary[k] for k in ("unique", "paired", "rejected", "tied_by_text")} == {
        "unique": 4,
        "paired": 1,
        "rejected": {},
        "tied_by_text": 1,
    }
    # Input 2: its reply item could not be tied; inputs 3 and 4: never answered.
    assert summary["pending"] == 3
    assert summary["pending_reasons"] == {"missing": 1, "unanswered": 2}
    # A later batch pairs input 2 by id: it is no longer pending, and was not tied by text.
    again, none = check_rewrites(
        inputs[1:2], [item(2, "明日雨〜あーし無理")], ctx=CTX, run_id="r", batch=2,
        generated_at="t",
    )  # fmt: skip
    tally.add(record_of(again, none))
    summary = input_summary(counts, tally)
    assert (summary["paired"], summary["tied_by_text"], summary["pending"]) == (2, 1, 2)
    assert summary["pending_reasons"] == {"unanswered": 2}
