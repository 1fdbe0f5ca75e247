"""pairs.gates: each gate moves toward what the labels say, and stays where they agree."""

from __future__ import annotations

from dataclasses import replace

from client.config import load_settings
from client.pairs.calibration import LabelledItem
from client.pairs.gates import Gates, Measured, measure, suggest, today
from client.run.job import pair_rules, validation_context

TODAY = Gates(max_missing_share=0.5, near_copy_ratio=1.0, min_quality=0.0, judge=(4, 3, 3, 4))


def item(good: bool, n: int = 0) -> LabelledItem:
    return LabelledItem(line=n, standard="s", gyaru="g", topic="Daily", good=good)


def measured(**fields: object) -> Measured:
    base = {"fixed": False, "drift": 0.0, "copy": None, "quality": 0.9, "grades": None}
    return Measured(**(base | fields))  # type: ignore[arg-type]


def test_labels_that_agree_with_today_leave_every_gate_where_it_is() -> None:
    items = [item(True)] * 10 + [item(False)] * 10
    rows = [measured()] * 10 + [measured(fixed=True)] * 10
    assert suggest(items, rows, TODAY).best == replace(TODAY, judge=None)


def test_drift_the_reviewer_calls_bad_lowers_the_drift_gate() -> None:
    # Good lines lose up to 20 % of their weight; the bad ones 40 %, which today's
    # gate (50 %) lets through to the judge.
    items = [item(True)] * 12 + [item(False)] * 8
    rows = [measured(drift=0.2)] * 12 + [measured(drift=0.4)] * 8
    best = suggest(items, rows, TODAY).best
    assert 0.2 <= best.max_missing_share < 0.4
    assert (best.near_copy_ratio, best.min_quality) == (1.0, 0.0)


def test_near_copies_and_low_scores_move_their_gates() -> None:
    items = [item(True)] * 10 + [item(False)] * 5 + [item(False)] * 5
    rows = (
        [measured(copy=0.5, quality=0.8)] * 10
        + [measured(copy=0.9, quality=0.8)] * 5  # nearly the standard line
        + [measured(quality=0.3)] * 5  # scored low
    )
    best = suggest(items, rows, TODAY).best
    assert 0.5 < best.near_copy_ratio <= 0.9
    assert 0.3 < best.min_quality <= 0.8


def test_labels_with_grades_set_the_judges_minimums() -> None:
    grades = {"meaning": 5, "voice": 4, "naturalness": 4, "safety": 5, "topic_ok": True}
    items = [item(True)] * 10 + [item(False)] * 6
    rows = [measured(grades=grades)] * 10 + [measured(grades=grades | {"meaning": 4})] * 6
    suggestion = suggest(items, rows, TODAY)
    assert suggestion.best.judge == (5, 3, 3, 4)  # only meaning moves
    assert suggestion.today.judge == (4, 3, 3, 4)
    overlay = suggestion.best.overlay(0.34)
    assert overlay["judge"] == {
        "min_meaning": 5,
        "min_voice": 3,
        "min_naturalness": 3,
        "min_safety": 4,
    }
    # Without grades the judge's minimums are not the labels' business.
    assert suggest(items, [measured()] * 16, TODAY).best.judge is None


def test_the_overlay_keeps_the_judges_band_below_the_gate() -> None:
    gates = Gates(max_missing_share=0.25, near_copy_ratio=0.9, min_quality=0.4)
    overlay = gates.overlay(0.34)
    assert overlay["checks"]["meaning"] == {"max_missing_share": 0.25, "note_missing_share": 0.25}
    assert overlay["checks"]["near_copy"] == {"ratio": 0.9}
    assert overlay["validation"] == {"min_quality": 0.4} and "judge" not in overlay


def test_measure_reads_real_pairs_with_the_persona_rules() -> None:
    settings = load_settings(persona="gyaru")
    ctx = validation_context(settings, pair_rules(settings))
    pairs = [
        ("新しいパソコンを買いました。", "あーし新しいパソコン買ったんだけど！マジ最高〜"),
        ("週末はキャンプに行く予定です。", "あーし週末キャンプ行く〜！"),
        ("今日は風が強いです。", "あーし、今日は風が強いです。"),
        (
            "昨日のランクマッチで三連勝しました。",
            "昨日のランクマで三連敗したんだけど！あーし萎える",
        ),
    ]
    items = [
        LabelledItem(line=n, standard=s, gyaru=g, topic="Daily", good=True)
        for n, (s, g) in enumerate(pairs)
    ]
    rows = measure(items, ctx)
    assert [r.fixed for r in rows] == [
        False,
        False,
        True,
        True,
    ]  # です; 勝 -> 敗, whatever the gates
    assert rows[0].drift == 0.0 and 0.3 < rows[1].drift < 0.5
    assert rows[0].copy is None  # in the persona's register
    assert rows[2].copy == 1.0
    assert (
        today(ctx, {"min_meaning": 4, "min_voice": 3, "min_naturalness": 3, "min_safety": 4})
        == TODAY
    )
