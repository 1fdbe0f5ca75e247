"""pairs.review: what a person's decisions do to a dataset and to the labels file."""

from __future__ import annotations

import json
from typing import Any

import pytest

from client.pairs.calibration import parse_labels
from client.pairs.judge import Grades
from client.pairs.rescue import RunItem
from client.pairs.review import (
    Decision,
    Review,
    RunDecision,
    apply_review,
    fingerprint,
    label_rows,
    pair_key,
)


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
    reviewed = apply_review(pairs, Review(decisions))
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
    reviewed = apply_review([rebuilt], Review(decisions))
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
    rows = label_rows(pairs, Review(decisions))
    assert label_rows(pairs, Review(decisions), persona="お嬢様")[0]["persona"] == "お嬢様"
    assert rows == [
        {
            "standard": pairs[0]["standard"],
            "gyaru": pairs[0]["gyaru"],
            "topic": "Daily",
            "label": "good",
            "run": "accepted",
        },
        {
            "standard": pairs[1]["standard"],
            "gyaru": pairs[1]["gyaru"],
            "topic": "Daily",
            "label": "bad",
            "run": "accepted",
        },
        {
            "standard": pairs[2]["standard"],
            "gyaru": pairs[2]["gyaru"],
            "topic": "Daily",
            "label": "bad",
            "run": "accepted",
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
    reviewed = apply_review(pairs, Review({"#2": decided(pairs[1], "rejected")}))
    assert reviewed.pairs == [pairs[0]]


GRADES = Grades(meaning=5, voice=2, naturalness=4, safety=5, topic_ok=True, reason="口調が硬い")


def run_item(n: int, reason: str = "register", gyaru: str | None = None) -> RunItem:
    return RunItem(
        id=f"r-b0002-x{n:03d}",
        batch=2,
        topic="Daily",
        standard=f"昨日は{n}冊の本を読みました。",
        gyaru=gyaru or f"あーし昨日{n}冊の本を読みました。",
        reason=reason,
        detail="persona line uses 'ます'",
        judge=GRADES if reason == "judge" else None,
        quality=0.4,
    )


def on_run(item: RunItem, verdict: str, gyaru: str | None = None) -> RunDecision:
    decision = Decision(verdict, fingerprint(item.standard, item.gyaru), "t", gyaru)  # type: ignore[arg-type]
    return RunDecision(decision, item)


def test_rescued_items_join_the_pairs_after_the_dataset() -> None:
    pairs = [pair(1), pair(2)]
    kept, edited, refused = run_item(3, "judge"), run_item(1), run_item(2, "near_copy")
    review = Review(
        decisions={pairs[0]["id"]: decided(pairs[0], "rejected")},
        run_items={
            kept.id: on_run(kept, "accepted"),
            refused.id: on_run(refused, "rejected"),
            edited.id: on_run(edited, "edited", "あーし昨日1冊読んだし！"),
        },
    )
    reviewed = apply_review(pairs, review)
    # The dataset's pairs, then the rescued items in the run's order (by id).
    assert [p["id"] for p in reviewed.pairs] == [pairs[1]["id"], edited.id, kept.id]
    assert reviewed.pairs[1] == {
        "id": edited.id,
        "batch": 2,
        "topic": "Daily",
        "standard": edited.standard,
        "gyaru": "あーし昨日1冊読んだし！",
        "rescued_from": "register",
        "edited_from": edited.gyaru,
        "quality": 0.4,
    }
    assert reviewed.pairs[2]["judge"] == GRADES.to_json()
    assert reviewed.pairs[2]["gyaru"] == kept.gyaru and "edited_from" not in reviewed.pairs[2]
    # What the person rejected, from the dataset and from the run: worse answers for dpo.
    assert [p["gyaru"] for p in reviewed.rejected] == [pairs[0]["gyaru"], refused.gyaru]
    assert reviewed.to_json() == {
        "reviewed": 1,
        "accepted": 0,
        "rejected": 1,
        "edited": 0,
        "rescued": 2,
        "rejection_confirmed": 1,
        "stale": 0,
    }


def test_labels_say_what_the_run_decided() -> None:
    rescued, edited = run_item(1), run_item(2, "missing_first_person", "昨日2冊読んだ")
    review = Review(
        run_items={
            rescued.id: on_run(rescued, "accepted"),
            edited.id: on_run(edited, "edited", "あーし昨日2冊読んだし"),
        }
    )
    rows = label_rows([pair(1)], review, persona="あーし系ギャル")
    # A good label on a line the checks turned down: what calibration needs most.
    assert rows == [
        {
            "standard": rescued.standard,
            "gyaru": rescued.gyaru,
            "topic": "Daily",
            "label": "good",
            "persona": "あーし系ギャル",
            "run": "rejected",
            "run_reason": "register",
        },
        {
            "standard": edited.standard,
            "gyaru": "昨日2冊読んだ",
            "topic": "Daily",
            "label": "bad",
            "persona": "あーし系ギャル",
            "run": "rejected",
            "run_reason": "missing_first_person",
        },
        {
            "standard": edited.standard,
            "gyaru": "あーし昨日2冊読んだし",
            "topic": "Daily",
            "label": "good",
            "persona": "あーし系ギャル",
        },
    ]


def test_a_run_decision_round_trips_with_its_item() -> None:
    item = run_item(4, "judge")
    decided_on = on_run(item, "edited", "あーし4冊読んだし")
    assert RunDecision.from_json(decided_on.to_json()) == decided_on
    with pytest.raises(ValueError, match="keeps no item"):
        RunDecision.from_json({**decided_on.to_json(), "item": "x"})


def test_labels_carry_the_judges_grades_of_the_lines_it_graded() -> None:
    """Dataset pairs and the judge's own rejections alike, so `calibrate --suggest` can
    learn the judge's minimum grades; the person's edited line was never graded."""
    graded = {**pair(1), "judge": GRADES.to_json()}
    turned_down = run_item(2, "judge")
    review = Review(
        decisions={graded["id"]: decided(graded, "edited", "あーし1回散歩した！")},
        run_items={turned_down.id: on_run(turned_down, "rejected")},
    )
    rows = label_rows([graded], review)
    expected = {k: v for k, v in GRADES.to_json().items() if k != "reason"}
    assert [r.get("judge") for r in rows] == [expected, None, expected]
    parsed = parse_labels("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "x")
    assert [i.grades is not None for i in parsed] == [True, False, True]
