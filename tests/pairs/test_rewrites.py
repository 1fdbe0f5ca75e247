"""One outcome per input: pairs keep the input's text; what is settled is never asked again."""

from __future__ import annotations

from typing import Any

from client.pairs.inputs import InputItem
from client.pairs.records import Pair, Rejection
from client.pairs.rewrites import check_rewrites, final_outcomes, settled_keys
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
