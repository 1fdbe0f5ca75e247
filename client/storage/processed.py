"""From raw batch records to the processed dataset and the numbers that describe it.

The dataset is rebuilt from every raw file of the run, in batch order, so a
resumed run ends with exactly the dataset an uninterrupted one would have:
the first occurrence of a pair is kept, later ones are counted as duplicates.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import structlog

from client.pairs.dedup import Deduper, DedupKey, dedup_key
from client.storage.runstore import RunStore

log = structlog.get_logger("client.storage.processed")


@dataclass
class DatasetStats:
    batches_ok: int = 0
    batches_truncated: int = 0
    batches_failed: int = 0
    batches_unreadable: int = 0
    pairs_requested: int = 0
    items_returned: int = 0
    pairs_valid: int = 0
    duplicates: int = 0
    duplicates_of_earlier_runs: int = 0
    pairs_unique: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    attempts: int = 0
    rejections: Counter[str] = field(default_factory=Counter)
    topics: Counter[str] = field(default_factory=Counter)
    failed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def batches_finished(self) -> int:
        return self.batches_ok + self.batches_truncated

    @property
    def tokens_per_pair(self) -> float | None:
        if not self.pairs_unique:
            return None
        return round((self.prompt_tokens + self.completion_tokens) / self.pairs_unique, 1)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["rejections"] = dict(self.rejections.most_common())
        data["topics"] = dict(sorted(self.topics.items()))
        data["tokens_per_unique_pair"] = self.tokens_per_pair
        return data


def previous_run_keys(output_dir: Path, run_id: str, key: DedupKey) -> set[bytes]:
    """Dedup keys of every pair in the other processed datasets of this output dir."""
    keys: set[bytes] = set()
    for path in sorted((output_dir / "processed").glob("gyaru_dataset_*.json")):
        if path.name == f"gyaru_dataset_{run_id}.json":
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log.warning("skipping unreadable dataset", path=str(path))
            continue
        for pair in data.get("pairs", []) if isinstance(data, dict) else []:
            if isinstance(pair, dict) and isinstance(pair.get("standard"), str):
                keys.add(dedup_key(pair["standard"], str(pair.get("gyaru", "")), key))
    return keys


def _count_record(stats: DatasetStats, index: int, record: dict[str, Any]) -> None:
    status = record.get("status")
    request = record.get("request") or {}
    stats.pairs_requested += int(request.get("num_pairs") or 0)
    stats.attempts += int(record.get("attempts") or 0)
    usage = (record.get("reply") or {}).get("usage") or {}
    stats.prompt_tokens += int(usage.get("prompt_tokens") or 0)
    stats.completion_tokens += int(usage.get("completion_tokens") or 0)
    if status == "failed":
        stats.batches_failed += 1
        error = record.get("error") or {}
        stats.failed.append(
            {"batch": index, "reason": error.get("reason"), "message": error.get("message")}
        )
        return
    stats.batches_ok += status == "ok"
    stats.batches_truncated += status == "truncated"
    rejected = record.get("rejected") or []
    accepted = record.get("accepted") or []
    stats.items_returned += len(rejected) + len(accepted)
    stats.pairs_valid += len(accepted)
    for rejection in rejected:
        stats.rejections[str(rejection.get("reason"))] += 1


def record_keys(record: dict[str, Any], key: DedupKey) -> list[bytes]:
    """The dedup keys of a raw record's accepted pairs: as the run stored them, or
    computed when absent or made for another dedup mode."""
    accepted = record.get("accepted") or []
    stored = record.get("dedup") or {}
    hexes = stored.get("keys")
    if stored.get("key") == key and isinstance(hexes, list) and len(hexes) == len(accepted):
        try:
            return [bytes.fromhex(h) for h in hexes]
        except (TypeError, ValueError):
            pass
    return [dedup_key(p["standard"], p["gyaru"], key) for p in accepted]


def build_dataset(
    store: RunStore,
    *,
    key: DedupKey,
    earlier: set[bytes] | None = None,
    metadata: dict[str, Any],
) -> tuple[DatasetStats, Path]:
    """Write the processed dataset from the raw files; return its numbers and path."""
    stats = DatasetStats()
    deduper = Deduper(key)
    earlier = earlier or set()
    # Pairs go to a spool file first because the metadata (which holds these
    # numbers) comes first in the dataset file; memory stays flat either way.
    with tempfile.TemporaryFile("w+", encoding="utf-8", dir=store.processed_dir) as spool:
        for index, record in store.iter_records():
            if record is None:
                stats.batches_unreadable += 1
                log.warning("unreadable batch file", batch=index)
                continue
            _count_record(stats, index, record)
            if record.get("status") == "failed":
                continue
            accepted = record.get("accepted") or []
            for pair, digest in zip(accepted, record_keys(record, key), strict=True):
                if digest in earlier:
                    stats.duplicates_of_earlier_runs += 1
                    continue
                if not deduper.add_key(digest):
                    stats.duplicates += 1
                    continue
                stats.pairs_unique += 1
                stats.topics[pair["topic"]] += 1
                spool.write(json.dumps(pair, ensure_ascii=False))
                spool.write("\n")
        spool.seek(0)
        lines = (line.rstrip("\n") for line in spool)
        path = store.write_processed({**metadata, "summary": stats.to_json()}, lines)
    return stats, path
