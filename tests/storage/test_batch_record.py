"""storage.batch_record and the rebuild: pairs waiting for the judge, graded in part,
released unjudged, and the `judge_unreadable` rejections of runs made before."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from client.pairs.dedup import dedup_key
from client.pairs.judge import Grades, Verdict, grades_from_json
from client.pairs.judge_outcome import JudgeOutcome
from client.storage.batch_record import BatchRecord
from client.storage.processed import build_dataset
from client.storage.runstore import RunStore

GOOD = {"meaning": 5, "voice": 5, "naturalness": 5, "safety": 5, "topic_ok": True, "reason": "良"}


def grades(**changes: Any) -> Grades:
    parsed = grades_from_json({**GOOD, **changes})
    assert isinstance(parsed, Grades)
    return parsed


def pair(i: int, *, graded: bool = False) -> dict[str, Any]:
    found: dict[str, Any] = {
        "id": f"r-b0001-{i:03d}",
        "batch": 1,
        "topic": "Daily",
        "standard": f"{i}番目の文です。",
        "gyaru": f"{i}番目の文じゃん、あーし的に大事",
        "generated_at": "t",
        "quality": 0.5,
    }
    if graded:
        found["judge"] = dict(GOOD)
    return found


def keys(pairs: list[dict[str, Any]]) -> list[str]:
    return [dedup_key(p["standard"], p["gyaru"], "pair").hex() for p in pairs]


def record(accepted: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "status": "ok",
        "batch": 1,
        "request": {"num_pairs": 4},
        "attempts": 1,
        "accepted": accepted,
        "rejected": [],
        "dedup": {"key": "pair", "keys": keys(accepted)},
        "judge": None,
        **extra,
    }


def outcome(status: str, verdicts: list[Verdict | None]) -> JudgeOutcome:
    return JudgeOutcome(
        status=status,  # type: ignore[arg-type]
        model="m",
        attempts=1,
        started_at="t",
        finished_at="t",
        verdicts=verdicts,
    )


def store_with(tmp_path: Path, records: dict[int, dict[str, Any]]) -> RunStore:
    store = RunStore(tmp_path, "r", fsync=False)
    store.prepare()
    for index, data in records.items():
        store.batch_path(index).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return store


def test_a_pair_waits_for_the_judge_until_it_carries_grades() -> None:
    waiting = BatchRecord(record([pair(0, graded=True), pair(1), pair(2)]))
    assert waiting.awaits_judge() and [p["id"] for p in waiting.ungraded] == [
        "r-b0001-001",
        "r-b0001-002",
    ]
    graded = waiting.graded_only()
    assert [p["id"] for p in graded.accepted] == ["r-b0001-000"]
    assert graded.data["dedup"]["keys"] == keys([pair(0)])
    assert not BatchRecord(record([pair(0, graded=True)])).awaits_judge()


def test_judging_the_waiting_pairs_keeps_the_graded_ones_and_the_order() -> None:
    waiting = BatchRecord(record([pair(0, graded=True), pair(1), pair(2), pair(3)]))
    low = Verdict(grades(meaning=1), "judge", "judge: meaning 1/5 (min 4)")
    judged = waiting.with_judgement(outcome("unreadable", [Verdict(grades(), None, ""), low, None]))
    assert [p["id"] for p in judged.accepted] == ["r-b0001-000", "r-b0001-001", "r-b0001-003"]
    assert [("judge" in p) for p in judged.accepted] == [True, True, False]
    (rejection,) = judged.rejected
    assert (rejection["reason"], rejection["index"]) == ("judge", 2)
    assert judged.data["dedup"]["keys"] == keys([pair(0), pair(1), pair(3)])
    assert judged.judge_status == "unreadable" and judged.awaits_judge()


def test_a_failed_judge_step_changes_only_the_judge_section() -> None:
    waiting = BatchRecord(record([pair(0), pair(1)]))
    failed = waiting.with_judgement(outcome("failed", []))
    assert failed.accepted == waiting.accepted and failed.judge_status == "failed"


def test_judge_unreadable_rejections_of_older_runs_come_back_as_waiting_pairs(
    tmp_path: Path,
) -> None:
    # As a run made before only a readable grade was a verdict wrote it.
    old = record(
        [pair(0, graded=True), pair(2, graded=True)],
        judge={"status": "judged", "kept": 2, "rejected": 2},
        rejected=[
            {"index": 1, "reason": "judge_unreadable", "detail": "d", "item": {**pair(1), "judge": None}},
            {"index": 3, "reason": "judge_unreadable", "detail": "d", "item": {**pair(3), "judge": None}},
            {"index": 4, "reason": "topic", "detail": "d", "item": {"topic": "x"}},
        ],
    )  # fmt: skip
    store = store_with(tmp_path, {1: old})
    upgraded = store.read_batch(1)
    assert upgraded is not None
    assert [p["id"] for p in upgraded.accepted] == [f"r-b0001-00{i}" for i in range(4)]
    assert [p["id"] for p in upgraded.ungraded] == ["r-b0001-001", "r-b0001-003"]
    assert "judge" not in upgraded.ungraded[0]
    assert upgraded.rejection_reasons == ["topic"] and upgraded.judge_status == "unreadable"
    assert upgraded.dedup_keys("pair") == [bytes.fromhex(k) for k in keys(upgraded.accepted)]

    # With the judge on they wait; without it they go in, marked unjudged.
    stats, path = build_dataset(store, key="pair", metadata={}, require_judge=True)
    assert (stats.pairs_unique, stats.pairs_awaiting_judge, stats.batches_awaiting_judge) == (
        2,
        2,
        1,
    )
    assert stats.awaiting_judge == {"unreadable": 2} and stats.rejections == {"topic": 1}
    assert stats.items_returned == 5
    stats, path = build_dataset(store, key="pair", metadata={}, require_judge=False)
    pairs = json.loads(path.read_text(encoding="utf-8"))["pairs"]
    assert [p.get("unjudged", False) for p in pairs] == [False, True, False, True]
    assert stats.pairs_unique == 4 and stats.pairs_unjudged == 2
    assert stats.to_json()["pairs_unjudged"] == 2


def test_the_rebuild_leaves_waiting_pairs_out_and_says_why(tmp_path: Path) -> None:
    stopped = record([pair(5), pair(6)], batch=2, judge={"status": "stopped"})
    stopped["accepted"] = [
        {**p, "id": p["id"].replace("b0001", "b0002")} for p in stopped["accepted"]
    ]
    store = store_with(
        tmp_path,
        {
            1: record([pair(0, graded=True), pair(1)], judge={"status": "unreadable"}),
            2: stopped,
            3: record([pair(7), pair(8)], batch=3),
        },
    )
    stats, path = build_dataset(store, key="pair", metadata={}, require_judge=True)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert [p["id"] for p in data["pairs"]] == ["r-b0001-000"]
    assert stats.awaiting_judge == {"unreadable": 1, "stopped": 2, "not_judged": 2}
    assert data["metadata"]["summary"]["awaiting_judge"] == {
        "unreadable": 1,
        "stopped": 2,
        "not_judged": 2,
    }
    assert stats.pairs_unjudged == 0
