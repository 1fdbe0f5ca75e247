"""The decile report through the real rebuild: near duplicates the dataset's own index
drops, and distinct-2 of the kept lines, decile by decile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from client.config.checks import NearDuplicateRules
from client.pairs.neardup import NearDuplicates
from client.run.finalise import DecileSummary
from client.storage.batch_record import BatchRecord
from client.storage.processed import build_dataset
from client.storage.runstore import RunStore

TOPICS = ["ゲーム", "配信", "カフェ", "雨", "映画", "買い物", "テスト", "朝ごはん", "電車", "猫"]


def pair(batch: int, i: int, standard: str, gyaru: str) -> dict[str, Any]:
    return {"id": f"r-b{batch:04d}-{i:03d}", "batch": batch, "topic": "Daily",
            "standard": standard, "gyaru": gyaru, "generated_at": "t", "quality": 0.5}  # fmt: skip


def test_a_run_that_repeats_itself_shows_it_in_its_later_deciles(tmp_path: Path) -> None:
    store = RunStore(tmp_path, "r", fsync=False)
    store.prepare()
    for batch in range(1, 11):
        pairs = []
        for i, topic in enumerate(TOPICS[:3]):
            # Batches 1-5 write new lines; 6-10 the same lines as batch (n - 5), one
            # character changed: near duplicates, not exact ones.
            source = batch if batch <= 5 else batch - 5
            tail = "よ" if batch <= 5 else "ね"
            standard = f"{TOPICS[source - 1]}と{topic}について、今日の{source}番目の話をします。"
            gyaru = (
                f"{TOPICS[source - 1]}と{topic}の話、あーし今日{source}回目だけどマジ楽しい{tail}"
            )
            pairs.append(pair(batch, i, standard, gyaru))
        data = {"batch": batch, "status": "ok", "request": {"num_pairs": 3}, "accepted": pairs}
        store.write_batch(batch, BatchRecord(data))
    hook = DecileSummary(10, "あーし")
    stats, _ = build_dataset(
        store, key="pair", near=NearDuplicates(NearDuplicateRules()), metadata={}, hooks=[hook]
    )
    rows = stats.extra["deciles"]
    assert [r["decile"] for r in rows] == list(range(1, 11))
    assert [r["near_dup_rate"] for r in rows[:5]] == [0.0] * 5
    assert [r["near_dup_rate"] for r in rows[5:]] == [1.0] * 5
    assert stats.near_duplicates == 15
    assert all(r["distinct_2"] is not None for r in rows[:5])
    assert all(r["distinct_2"] is None and r["pairs"] == 0 for r in rows[5:])
