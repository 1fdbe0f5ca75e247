"""storage.processed: the dataset rebuilt from raw files, de-duplicated in batch order, with its numbers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from client.config.checks import NearDuplicateRules
from client.pairs.dedup import dedup_key
from client.pairs.neardup import NearDuplicates
from client.pairs.stored import StoredPair
from client.storage.batch_record import BatchRecord
from client.storage.processed import (
    DatasetStats,
    build_dataset,
    previous_run_keys,
    previous_run_pairs,
)
from client.storage.runstore import RunStore


def pair(i: int, text: str = "眠いです。") -> dict[str, Any]:
    return {
        "id": f"p{i}",
        "batch": 1,
        "topic": "Daily",
        "standard": text,
        "gyaru": f"あーし{text}",
        "generated_at": "t",
        "quality": 0.5,
    }


def store_with(tmp_path: Path, records: dict[int, dict[str, Any]]) -> RunStore:
    store = RunStore(tmp_path, "r", fsync=False)
    store.prepare()
    for index, record in records.items():
        store.write_batch(index, BatchRecord(record))
    return store


def ok(*pairs: dict[str, Any], rejected: int = 0) -> dict[str, Any]:
    return {
        "status": "ok",
        "request": {"num_pairs": len(pairs) + rejected},
        "attempts": 1,
        "reply": {"usage": {"prompt_tokens": 10, "completion_tokens": 20}},
        "accepted": list(pairs),
        "rejected": [{"reason": "topic"}] * rejected,
    }


def test_counts_dedups_in_batch_order_and_skips_failed(tmp_path: Path) -> None:
    store = store_with(
        tmp_path,
        {
            2: ok(pair(3, "同じ文です。"), pair(4, "別の文です。")),
            1: ok(pair(1, "同じ文です。"), pair(2, "最初の文です。"), rejected=1),
            3: {
                "status": "failed",
                "error": {"reason": "http_400", "message": "bad"},
                "attempts": 1,
            },
        },
    )
    stats, path = build_dataset(store, key="pair", metadata={"run_id": "r"})
    data = json.loads(path.read_text(encoding="utf-8"))
    assert [p["id"] for p in data["pairs"]] == ["p1", "p2", "p4"]  # p3 repeats p1, found later
    assert (stats.batches_ok, stats.batches_failed, stats.duplicates, stats.pairs_unique) == (
        2,
        1,
        1,
        3,
    )
    assert stats.rejections == {"topic": 1} and stats.items_returned == 5
    assert stats.prompt_tokens == 20 and stats.completion_tokens == 40
    assert stats.failed == [{"batch": 3, "reason": "http_400", "message": "bad"}]
    assert data["metadata"]["summary"]["pairs_unique"] == 3


def test_stored_keys_are_used_and_recomputed_when_they_cannot_be(tmp_path: Path) -> None:
    a, b = pair(1, "一つ目です。"), pair(2, "二つ目です。")
    wrong = {"key": "pair", "keys": [dedup_key(a["standard"], a["gyaru"], "pair").hex()] * 2}
    store = store_with(tmp_path, {1: {**ok(a, b), "dedup": wrong}})
    stats, _ = build_dataset(store, key="pair", metadata={})
    assert stats.pairs_unique == 1  # the stored keys are trusted...
    stats, _ = build_dataset(store, key="standard", metadata={})
    assert stats.pairs_unique == 2  # ...but only for the mode they were made for
    store = store_with(
        tmp_path / "x", {1: {**ok(a, b), "dedup": {"key": "pair", "keys": ["zz", "yy"]}}}
    )
    assert build_dataset(store, key="pair", metadata={})[0].pairs_unique == 2


def test_earlier_runs(tmp_path: Path) -> None:
    old = store_with(tmp_path, {1: ok(pair(1, "昔の文です。"))})
    build_dataset(old, key="pair", metadata={})
    keys = previous_run_keys(previous_run_pairs(tmp_path, "new"), "pair")
    new = RunStore(tmp_path, "new", fsync=False)
    new.prepare()
    new.write_batch(1, BatchRecord(ok(pair(9, "昔の文です。"), pair(10, "新しい文です。"))))
    stats, _ = build_dataset(new, key="pair", earlier=keys, metadata={})
    assert stats.duplicates_of_earlier_runs == 1 and stats.pairs_unique == 1


def test_near_duplicates_are_dropped_in_batch_order_naming_the_kept_twin(tmp_path: Path) -> None:
    kept = pair(1, "新しいパソコンを買いました。")
    near = {
        **pair(2, "新しいパソコンを買いました。"),
        "gyaru": "あーし新しいパソコンを買いましたよ",
    }
    other = pair(3, "今日は雨なので家で映画を見ます。")
    store = store_with(tmp_path, {2: ok(near), 1: ok(kept, other)})
    seen: list[str] = []

    class Lines:
        def record(self, record: BatchRecord) -> None:
            return None

        def pair(self, batch: int, pair: StoredPair) -> None:
            seen.append(pair.gyaru)

        def finish(self, stats: DatasetStats) -> None:
            stats.diversity = {"lines": len(seen), "near": stats.near_duplicates}

    stats, path = build_dataset(
        store, key="pair", near=NearDuplicates(NearDuplicateRules()), metadata={}, hooks=[Lines()]
    )
    assert stats.near_duplicates == 1 and stats.near_duplicate_of == {"p2": "p1"}
    assert stats.pairs_unique == 2
    assert seen == [kept["gyaru"], other["gyaru"]]  # hooks see the kept pairs only
    summary = json.loads(path.read_text(encoding="utf-8"))["metadata"]["summary"]
    assert summary["near_duplicate_of"] == {"p2": "p1"}
    assert summary["diversity"] == {"lines": 2, "near": 1}
    # Without a finder nothing is dropped as a near duplicate.
    assert build_dataset(store, key="pair", metadata={})[0].pairs_unique == 3


def test_near_duplicates_of_earlier_runs(tmp_path: Path) -> None:
    old = store_with(tmp_path, {1: ok(pair(1, "新しいパソコンを買いました。"))})
    build_dataset(old, key="pair", metadata={})
    earlier = previous_run_pairs(tmp_path, "new")
    assert [p[0] for p in earlier] == ["p1"]
    near = NearDuplicates(NearDuplicateRules())
    for pair_id, standard, gyaru in earlier:
        near.add(pair_id, standard, gyaru)
    new = RunStore(tmp_path, "new", fsync=False)
    new.prepare()
    new.write_batch(
        1,
        BatchRecord(
            ok(
                {
                    **pair(9, "新しいパソコンを買いました。"),
                    "gyaru": "あーし新しいパソコンを買いましたよ",
                }
            )
        ),
    )
    stats, _ = build_dataset(new, key="pair", near=near, metadata={})
    assert stats.near_duplicate_of == {"p9": "p1"} and stats.pairs_unique == 0
