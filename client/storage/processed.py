"""From raw batch records to the processed dataset and the numbers that describe it.

The dataset is rebuilt from every raw file of the run, in batch order, so a
resumed run ends with exactly the dataset an uninterrupted one would have:
the first occurrence of a pair is kept, later ones are counted as duplicates, and a
pair that nearly repeats a kept one (client.pairs.neardup) is counted as a near
duplicate with the id of its kept twin.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import structlog

from client.pairs.align import MISSING
from client.pairs.dedup import Deduper, DedupKey, dedup_key
from client.pairs.neardup import NearDuplicates
from client.pairs.stored import StoredPair
from client.storage.batch_record import BatchRecord
from client.storage.layout import processed_datasets, processed_path
from client.storage.runstore import RunStore

if TYPE_CHECKING:
    from client.pairs.neardup import Signatures

log = structlog.get_logger("client.storage.processed")


class RebuildHook(Protocol):
    """Something more to learn from the rebuild's one pass over the raw files."""

    def record(self, record: BatchRecord) -> None:
        """Every finished batch record, in batch order."""

    def pair(self, batch: int, pair: StoredPair) -> None:
        """Every pair that goes into the dataset, in dataset order."""

    def finish(self, stats: DatasetStats) -> None:
        """After the last record, before the dataset (whose metadata holds `stats`) is
        written: add to `stats.extra`."""


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
    near_duplicates: int = 0
    # Each near duplicate's id -> the id of the kept pair it nearly repeats.
    near_duplicate_of: dict[str, str] = field(default_factory=dict)
    pairs_unique: int = 0
    # Generated, but the judge has not graded them yet (its reply could not be read,
    # it was down, it had stopped): left out until a resumed run judges them.
    batches_awaiting_judge: int = 0
    pairs_awaiting_judge: int = 0
    # Those pairs by what the judge step of their batch came to (`awaiting_reason`).
    awaiting_judge: Counter[str] = field(default_factory=Counter)
    # Pairs in the dataset the judge never graded (the judge off, or --no-judge
    # letting in pairs that waited for it): marked "unjudged": true.
    pairs_unjudged: int = 0
    batches_judged: int = 0
    judge_prompt_tokens: int = 0
    judge_completion_tokens: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    attempts: int = 0
    rejections: Counter[str] = field(default_factory=Counter)
    topics: Counter[str] = field(default_factory=Counter)
    failed: list[dict[str, Any]] = field(default_factory=list)
    # What rebuild hooks add (input runs: `inputs`; free generation: `deciles`).
    extra: dict[str, Any] = field(default_factory=dict)
    # Persona-line diversity of the dataset (client.pairs.diversity), set by a hook.
    diversity: dict[str, Any] | None = None

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
        data.update(data.pop("extra"))
        data["rejections"] = dict(self.rejections.most_common())
        data["awaiting_judge"] = dict(self.awaiting_judge.most_common())
        data["topics"] = dict(sorted(self.topics.items()))
        data["tokens_per_unique_pair"] = self.tokens_per_pair
        return data


EarlierPair = tuple[str, str, str]  # id, standard, gyaru
# A raw file as the rebuild takes it: its batch number, the record (None: unreadable)
# and its pairs' near-duplicate signatures (None: to be made by the rebuild).
SignedRecord = tuple[int, BatchRecord | None, "Signatures | None"]


def previous_run_pairs(output_dir: Path, run_id: str) -> list[EarlierPair]:
    """Every pair in the other processed datasets of this output dir."""
    pairs: list[EarlierPair] = []
    own = processed_path(output_dir, run_id)
    for path in processed_datasets(output_dir):
        if path.name == own.name:
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log.warning("skipping unreadable dataset", path=str(path))
            continue
        for n, pair in enumerate(data.get("pairs", []) if isinstance(data, dict) else []):
            if isinstance(pair, dict) and isinstance(pair.get("standard"), str):
                pair_id = str(pair.get("id", f"{path.name}#{n}"))
                pairs.append((pair_id, pair["standard"], str(pair.get("gyaru", ""))))
    return pairs


def previous_run_keys(pairs: list[EarlierPair], key: DedupKey) -> set[bytes]:
    """Dedup keys of earlier runs' pairs."""
    return {dedup_key(standard, gyaru, key) for _, standard, gyaru in pairs}


# Why a batch's pairs wait for the judge, by its judge step's status.
NOT_JUDGED = "not_judged"  # no judge step yet: the judge was off, or the run stopped first


def awaiting_reason(record: BatchRecord) -> str:
    """What kept a batch's pairs from the judge: its judge step's status ("unreadable",
    "failed", "stopped"; "unreadable" too for pairs a partly read reply left), or
    `NOT_JUDGED`."""
    status = record.judge_status
    return NOT_JUDGED if status is None or status == "judged" else status


def _count_awaiting(stats: DatasetStats, record: BatchRecord) -> BatchRecord:
    """Count the record's pairs waiting for the judge; the record without them."""
    waiting = len(record.ungraded)
    if not waiting:
        return record
    stats.batches_awaiting_judge += 1
    stats.pairs_awaiting_judge += waiting
    stats.awaiting_judge[awaiting_reason(record)] += waiting
    return record.graded_only()


def _count_record(stats: DatasetStats, index: int, record: BatchRecord) -> None:
    stats.pairs_requested += record.num_pairs
    stats.attempts += record.attempts
    prompt_tokens, completion_tokens = record.usage
    stats.prompt_tokens += prompt_tokens
    stats.completion_tokens += completion_tokens
    judge_prompt, judge_completion = record.judge_usage
    stats.judge_prompt_tokens += judge_prompt
    stats.judge_completion_tokens += judge_completion
    stats.batches_judged += record.judge_status == "judged"
    if record.failed:
        stats.batches_failed += 1
        reason, message = record.error
        stats.failed.append({"batch": index, "reason": reason, "message": message})
        return
    stats.batches_ok += record.status == "ok"
    stats.batches_truncated += record.status == "truncated"
    reasons = record.rejection_reasons
    # A `missing` rejection is an input line the reply had no item for, not an item.
    stats.items_returned += sum(r != MISSING for r in reasons) + len(record.accepted)
    stats.pairs_valid += len(record.accepted)
    for reason in reasons:
        stats.rejections[reason] += 1


def dataset_metadata(
    *,
    run_id: str,
    created_at: str,
    model: str | None,
    persona: str,
    topics: list[str],
    prompt_sha: str | None,
    endpoints: list[str],
    config: dict[str, Any],
) -> dict[str, Any]:
    """The processed dataset's metadata (its summary is added when it is written)."""
    return {
        "run_id": run_id,
        "created_at": created_at,
        "model": model,
        "persona": persona,
        "topics": topics,
        "system_prompt_sha256": prompt_sha,
        "endpoints": endpoints,
        "config": config,
    }


def _new_pairs(
    pairs: Sequence[StoredPair],
    digests: list[bytes],
    earlier: set[bytes],
    deduper: Deduper,
    near: NearDuplicates | None,
    signatures: Signatures | None,
    stats: DatasetStats,
) -> list[StoredPair]:
    """The pairs of a record that go into the dataset, in order; counts the others as
    duplicates (of this run or an earlier one) or near duplicates (naming the kept
    twin). The exact checks first, then the near-duplicate index over the pairs they
    leave, in order: each pair sees the ones before it, as one at a time would."""
    fresh = []
    for n, digest in enumerate(digests):
        if digest in earlier:
            stats.duplicates_of_earlier_runs += 1
        elif not deduper.add_key(digest):
            stats.duplicates += 1
        else:
            fresh.append(n)
    if near is None or signatures is None or not fresh:
        return [pairs[n] for n in fresh]
    kept = []
    twins = near.add_many([(pairs[n].id or "") for n in fresh], signatures[fresh])
    for n, twin in zip(fresh, twins, strict=True):
        if twin is None:
            kept.append(pairs[n])
        else:
            stats.near_duplicates += 1
            stats.near_duplicate_of[(pairs[n].id or "")] = twin
    return kept


def _lines(pairs: Sequence[StoredPair]) -> list[tuple[str, str]]:
    return [(p.standard, p.gyaru) for p in pairs]


def _settled(
    stats: DatasetStats, record: BatchRecord, signed: Signatures | None
) -> tuple[BatchRecord, Signatures | None]:
    """The record without its pairs waiting for the judge (counted), and their
    signatures left out with them."""
    mask = [p.graded for p in record.accepted]
    settled = _count_awaiting(stats, record)
    if signed is None or all(mask):
        return settled, signed
    return settled, signed[mask]


def build_dataset(
    store: RunStore,
    *,
    key: DedupKey,
    earlier: set[bytes] | None = None,
    near: NearDuplicates | None = None,
    metadata: dict[str, Any],
    hooks: Sequence[RebuildHook] = (),
    require_judge: bool = False,
    records: Iterable[SignedRecord] | None = None,
) -> tuple[DatasetStats, Path]:
    """Write the processed dataset from the raw files; return its numbers and path.
    With `require_judge`, pairs the judge has not graded stay out of it.
    `near` (seeded with earlier runs' pairs, if asked) drops near duplicates.
    `records`: the store's records in order, with their pairs' signatures made
    elsewhere (worker processes); None: read here, signed here."""
    stats = DatasetStats()
    deduper = Deduper(key)
    earlier = earlier or set()
    if records is None:
        records = ((index, record, None) for index, record in store.iter_records())
    # Pairs go to a spool file first because the metadata (which holds these
    # numbers) comes first in the dataset file; memory stays flat either way.
    with tempfile.TemporaryFile("w+", encoding="utf-8", dir=store.processed_dir) as spool:
        for index, record, signed in records:
            if record is None:
                stats.batches_unreadable += 1
                log.warning("unreadable batch file", batch=index)
                continue
            _count_record(stats, index, record)
            if record.failed:
                continue
            if require_judge:
                # A pair is not settled until the judge has graded it: no hook sees it yet.
                record, signed = _settled(stats, record, signed)
            for hook in hooks:
                hook.record(record)
            pairs = record.accepted
            # A batch's signatures at once: most of a pair's cost is per call.
            signatures = signed
            if signatures is None and near is not None:
                signatures = near.signatures(_lines(pairs))
            digests = record.dedup_keys(key)
            for pair in _new_pairs(pairs, digests, earlier, deduper, near, signatures, stats):
                if not pair.graded:
                    pair = pair.changed(unjudged=True)
                    stats.pairs_unjudged += 1
                stats.pairs_unique += 1
                stats.topics[pair.topic or ""] += 1
                for hook in hooks:
                    hook.pair(index, pair)
                spool.write(json.dumps(pair.to_json(), ensure_ascii=False))
                spool.write("\n")
        for hook in hooks:
            hook.finish(stats)
        spool.seek(0)
        lines = (line.rstrip("\n") for line in spool)
        path = store.write_processed({**metadata, "summary": stats.to_json()}, lines)
    return stats, path
