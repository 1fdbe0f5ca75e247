"""How a run's diversity evolves, decile by decile of its batches (a `RebuildHook`):
the near-duplicate rate of its pairs and the distinct-2 of its persona lines, with
the dataset's own near-duplicate index (the rebuild records in `near_duplicate_of`
which pairs it left out) and distinct-n (client.pairs.diversity). Free generation
only: an input run's lines are the user's, not the model's repetition."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from client.pairs.diversity import distinct_n, words_without
from client.pairs.evolution import DecileTally
from client.storage.batch_record import BatchRecord
from client.storage.processed import DatasetStats


class DecileSummary:
    """Sets `stats.extra["deciles"]`: one row per decile of `batches` that has pairs."""

    def __init__(self, batches: int, first_person: str | None) -> None:
        words = words_without(first_person)

        def distinct(lines: Sequence[str], n: int) -> float | None:
            return distinct_n([words(line) for line in lines], n)

        self.tally = DecileTally(batches=batches, distinct=distinct)
        # Pair id -> batch, for telling near duplicates (known by id) to their decile.
        self._batch_of: dict[str, int] = {}

    def record(self, record: BatchRecord) -> None:
        batch = int(record.data.get("batch") or 0)
        for pair in record.accepted:
            self._batch_of[str(pair.get("id"))] = batch

    def pair(self, batch: int, pair: dict[str, Any]) -> None:
        self.tally.kept(batch, str(pair.get("gyaru", "")))

    def finish(self, stats: DatasetStats) -> None:
        for pair_id in stats.near_duplicate_of:
            batch = self._batch_of.get(pair_id)
            if batch is not None:
                self.tally.near_duplicate(batch)
        stats.extra["deciles"] = [row.to_json() for row in self.tally.close()]
