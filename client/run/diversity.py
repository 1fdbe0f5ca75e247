"""The dataset's diversity, learnt during the rebuild's one pass (a `RebuildHook`)."""

from __future__ import annotations

from typing import Any

from client.run.job import Job
from client.storage.batch_record import BatchRecord
from client.storage.processed import DatasetStats


class DiversitySummary:
    """Collects the persona lines that go into the dataset; sets `stats.diversity`."""

    def __init__(self, job: Job) -> None:
        self._job = job
        self._lines: list[str] = []

    def record(self, record: BatchRecord) -> None:
        return None

    def pair(self, batch: int, pair: dict[str, Any]) -> None:
        self._lines.append(str(pair.get("gyaru", "")))

    def finish(self, stats: DatasetStats) -> None:
        stats.diversity = self._job.describe(self._lines, stats.near_duplicates)
