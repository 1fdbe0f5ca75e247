"""One outcome per input: pairs keep the input's text; what is settled is never asked again."""

from __future__ import annotations

from typing import Any

from client.pairs.inputs import InputItem
from client.pairs.records import Pair, Rejection
from client.pairs.rewrites import check_rewrites, final_outcomes, record_entries, settled_keys
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
INPUTS = [
    InputItem(1, 3, "今日は晴れです。", "k1"),
    InputItem(2, 4, "明日は雨が降ります。", "k2"),
    InputItem(3, 5, "駅前にカフェができました。", "k3"),
    InputItem(4, 6, "新しいゲームを買いました。", "k4"),
]


def item(i: int, gyaru: str, standard: str | None = None) -> dict[str, Any]:
    text = standard if standard is not None else INPUTS[i - 1].text
    return {"id": i, "standard": text, "topic": "Daily", "gyaru": gyaru}


def check(items: list[Any]) -> Any:
    return check_rewrites(INPUTS, items, ctx=CTX, run_id="r", batch=2, generated_at="t")


def test_every_input_has_exactly_one_outcome_in_input_order() -> None:
    result = check(
        [
            item(3, "駅前にカフェできたじゃん、あーし行きたい！"),
            item(1, "今日マジ晴れ〜あーし最高"),
            item(2, "明日雨らしいよ〜"),  # no あーし: a check's rejection
            item(2, "明日雨〜あーし無理", "明後日は雪です。"),  # untied
        ]
    )
    assert [(i.id, type(o).__name__) for i, o in result.outcomes] == [
        (1, "Pair"),
        (2, "Rejection"),
        (3, "Pair"),
        (4, "Rejection"),
    ]
    reasons = {i.id: o.reason for i, o in result.outcomes if isinstance(o, Rejection)}
    assert reasons == {2: "missing_first_person", 4: "missing"}
    assert [r.reason for r in result.untied] == ["misaligned"]
    for inp, pair in result.accepted:
        assert isinstance(pair, Pair) and pair.standard == inp.text


def test_record_entries_carry_the_input_or_null() -> None:
    result = check([item(1, "今日マジ晴れ〜あーし最高"), {"id": 9, "standard": "x"}])
    accepted, rejected = record_entries(result)
    assert accepted[0]["input"] == {"id": 1, "line": 3, "key": "k1"}
    assert accepted[0]["standard"] == "今日は晴れです。"
    assert [(r["reason"], r["input"]) for r in rejected] == [
        ("missing", {"id": 2, "line": 4, "key": "k2"}),
        ("missing", {"id": 3, "line": 5, "key": "k3"}),
        ("missing", {"id": 4, "line": 6, "key": "k4"}),
        ("misaligned", None),
    ]


def test_settled_inputs_are_pairs_and_final_rejections_not_missing_ones() -> None:
    result = check([item(1, "今日マジ晴れ〜あーし最高"), item(2, "明日雨らしいよ〜"), "junk"])
    accepted, rejected = record_entries(result)
    record = {"status": "ok", "accepted": accepted, "rejected": rejected}
    assert sorted(settled_keys(record)) == ["k1", "k2"]


def test_final_outcomes_let_a_later_settlement_win_over_missing_in_any_order() -> None:
    first = {"accepted": [], "rejected": [{"reason": "missing", "input": {"key": "k1"}}]}
    later = {"accepted": [{"input": {"key": "k1"}}], "rejected": []}
    other = {"rejected": [{"reason": "length", "input": {"key": "k2"}}, {"reason": "misaligned"}]}
    for order in ([first, later, other], [later, other, first]):
        assert final_outcomes(order) == {"paired": 1, "length": 1}
    assert final_outcomes([first]) == {"missing": 1}
