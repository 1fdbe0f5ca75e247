"""How a run's diversity evolves, decile by decile of its batches (a `RebuildHook`):
the near-duplicate rate of its pairs and the distinct-2 of its persona lines, with
the dataset's own near-duplicate index (the rebuild records in `near_duplicate_of`
which pairs it left out) and distinct-n (client.pairs.diversity). Free generation
only: an input run's lines are the user's, not the model's repetition."""

from __future__ import annotations

from typing import Any

from client.pairs.digests import DigestMap, hash64
from client.pairs.diversity import words_without
from client.pairs.evolution import DecileTally
from client.storage.batch_record import BatchRecord
from client.storage.processed import DatasetStats


class DecileSummary:
    """Sets `stats.extra["deciles"]`: one row per decile of `batches` that has pairs."""

    def __init__(self, batches: int, first_person: str | None) -> None:
        self.tally = DecileTally(batches=batches, words=words_without(first_person))
        # Pair id (hashed) -> batch, for telling near duplicates (known by id) to their
        # decile: 20-odd bytes a pair instead of an id string and a dict entry.
        self._batch_of = DigestMap()

    def record(self, record: BatchRecord) -> None:
        batch = int(record.data.get("batch") or 0)
        for pair in record.accepted:
            self._batch_of.setdefault(hash64(hash(str(pair.get("id")))), batch)

    def pair(self, batch: int, pair: dict[str, Any]) -> None:
        self.tally.kept(batch, str(pair.get("gyaru", "")))

    def finish(self, stats: DatasetStats) -> None:
        for pair_id in stats.near_duplicate_of:
            batch = self._batch_of.get(hash64(hash(pair_id)))
            if batch is not None:
                self.tally.near_duplicate(batch)
        stats.extra["deciles"] = [row.to_json() for row in self.tally.close()]
