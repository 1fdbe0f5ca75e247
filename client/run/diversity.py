"""The dataset's diversity, learnt during the rebuild's one pass (a `RebuildHook`)."""

from __future__ import annotations

from typing import Any

from client.run.job import Job
from client.storage.batch_record import BatchRecord
from client.storage.processed import DatasetStats


class DiversitySummary:
    """Tallies the persona lines that go into the dataset, one at a time; sets `stats.diversity`."""

    def __init__(self, job: Job) -> None:
        self._tally = job.diversity_tally()

    def record(self, record: BatchRecord) -> None:
        return None

    def pair(self, batch: int, pair: dict[str, Any]) -> None:
        self._tally.add(str(pair.get("gyaru", "")))

    def finish(self, stats: DatasetStats) -> None:
        stats.diversity = self._tally.report(stats.near_duplicates).to_json()
