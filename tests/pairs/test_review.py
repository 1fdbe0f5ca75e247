"""pairs.review: what a person's decisions do to a dataset and to the labels file."""

from __future__ import annotations

from typing import Any

import pytest

from client.pairs.review import Decision, apply_review, fingerprint, label_rows, pair_key


def pair(n: int, gyaru: str | None = None) -> dict[str, Any]:
    return {
        "id": f"r-b0001-{n:03d}",
        "topic": "Daily",
        "standard": f"今日は{n}回散歩しました。",
        "gyaru": gyaru or f"あーし今日{n}回散歩したし！",
        "quality": 0.8,
    }


def decided(p: dict[str, Any], verdict: str, gyaru: str | None = None) -> Decision:
    return Decision(verdict, fingerprint(p["standard"], p["gyaru"]), "t", gyaru)  # type: ignore[arg-type]


def test_rejected_left_out_edited_replaced_order_kept() -> None:
    pairs = [pair(1), pair(2), pair(3), pair(4)]
    decisions = {
        pairs[0]["id"]: decided(pairs[0], "accepted"),
        pairs[1]["id"]: decided(pairs[1], "rejected"),
        pairs[2]["id"]: decided(pairs[2], "edited", "あーし三回も散歩しちゃった〜"),
    }
    reviewed = apply_review(pairs, decisions)
    assert [p["id"] for p in reviewed.pairs] == [pairs[0]["id"], pairs[2]["id"], pairs[3]["id"]]
    assert reviewed.pairs[1]["gyaru"] == "あーし三回も散歩しちゃった〜"
    assert reviewed.pairs[1]["edited_from"] == pairs[2]["gyaru"]
    assert reviewed.counts == {"accepted": 1, "rejected": 1, "edited": 1}
    assert reviewed.reviewed == 3
    assert reviewed.stale == 0
    assert pairs[2]["gyaru"] != reviewed.pairs[1]["gyaru"], "the input is not modified"


def test_a_decision_about_other_lines_under_the_same_id_does_not_apply() -> None:
    old = pair(1)
    rebuilt = pair(1, gyaru="あーし別の文なんだけど")
    decisions = {old["id"]: decided(old, "rejected"), "gone-id": decided(pair(9), "accepted")}
    reviewed = apply_review([rebuilt], decisions)
    assert reviewed.pairs == [rebuilt]
    assert reviewed.reviewed == 0
    assert reviewed.stale == 2


def test_labels_edited_gives_a_bad_and_a_good_row() -> None:
    pairs = [pair(1), pair(2), pair(3), pair(4)]
    decisions = {
        pairs[0]["id"]: decided(pairs[0], "accepted"),
        pairs[1]["id"]: decided(pairs[1], "rejected"),
        pairs[2]["id"]: decided(pairs[2], "edited", "あーし直した"),
    }
    rows = label_rows(pairs, decisions)
    assert label_rows(pairs, decisions, persona="お嬢様")[0]["persona"] == "お嬢様"
    assert rows == [
        {
            "standard": pairs[0]["standard"],
            "gyaru": pairs[0]["gyaru"],
            "topic": "Daily",
            "label": "good",
        },
        {
            "standard": pairs[1]["standard"],
            "gyaru": pairs[1]["gyaru"],
            "topic": "Daily",
            "label": "bad",
        },
        {
            "standard": pairs[2]["standard"],
            "gyaru": pairs[2]["gyaru"],
            "topic": "Daily",
            "label": "bad",
        },
        {
            "standard": pairs[2]["standard"],
            "gyaru": "あーし直した",
            "topic": "Daily",
            "label": "good",
        },
    ]


@pytest.mark.parametrize(
    ("verdict", "gyaru", "message"),
    [
        ("maybe", None, "unknown decision"),
        ("edited", None, "only that"),
        ("rejected", "text", "only that"),
        ("edited", "   ", "1 to"),
        ("edited", "あ" * 2001, "1 to"),
    ],
)
def test_invalid_decisions_are_refused(verdict: str, gyaru: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Decision(verdict, "x", "t", gyaru)  # type: ignore[arg-type]


def test_json_round_trip() -> None:
    d = Decision("edited", "abc", "2026-12-01T00:00:00Z", "あーし")
    assert Decision.from_json(d.to_json()) == d
    assert "gyaru" not in Decision("accepted", "abc", "t").to_json()


def test_fingerprint_tells_the_lines_apart() -> None:
    assert fingerprint("ab", "c") != fingerprint("a", "bc")
    assert fingerprint("今日", "あーし") == fingerprint("今日", "あーし")


def test_pairs_without_ids_are_filed_by_place() -> None:
    pairs = [pair(1), pair(2)]
    for p in pairs:
        del p["id"]
    assert [pair_key(p, i) for i, p in enumerate(pairs)] == ["#1", "#2"]
    reviewed = apply_review(pairs, {"#2": decided(pairs[1], "rejected")})
    assert reviewed.pairs == [pairs[0]]
