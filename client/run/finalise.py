"""The last step of a run: rebuild the dataset from every raw file, decide the run's
status, close the manifest's session and build the `RunSummary`.

The rebuild's hooks learn, in its one pass, what the summary says beyond the counts:
`DiversitySummary` (the dataset's diversity), `DecileSummary` (how it evolves over
the run's batches, free generation) and run.inputs' `InputSummary` (how every input
line ended, an input run).

The rebuild's CPU-heavy part, each raw file's near-duplicate signatures and the words
of its persona lines, is done ahead of it by the session's pair-check workers
(`WorkedAhead`), so this process never loads the analyser's dictionary; every
decision (which pair is kept, in which order) is still the rebuild's, here.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import structlog

from client.clock import utc_now
from client.errors import WorkerError
from client.pairs.digests import DigestMap, hash64
from client.pairs.diversity import Words, words_without
from client.pairs.evolution import DecileTally
from client.pairs.stored import StoredPair
from client.run.inputs import InputSummary
from client.run.job import Job
from client.run.progress import LiveStats
from client.run.session import Session
from client.run.sink import BatchSink
from client.run.summary import RunStatus, RunSummary, resume_command
from client.run.workers import CheckPool
from client.storage.batch_record import BatchRecord
from client.storage.processed import (
    DatasetStats,
    RebuildHook,
    SignedRecord,
    build_dataset,
    dataset_metadata,
)

log = structlog.get_logger("client.run")


class DiversitySummary:
    """Tallies the persona lines that go into the dataset, one at a time; sets `stats.diversity`."""

    def __init__(self, job: Job, words: Words | None = None) -> None:
        self._tally = job.diversity_tally(words)

    def record(self, record: BatchRecord) -> None:
        return None

    def pair(self, batch: int, pair: StoredPair) -> None:
        self._tally.add(pair.gyaru)

    def finish(self, stats: DatasetStats) -> None:
        stats.diversity = self._tally.report(stats.near_duplicates).to_json()


class WorkedAhead:
    """The raw files, each with its pairs' signatures from the workers, and the words
    of its persona lines for the hooks (`words`, one record at a time)."""

    def __init__(self, checks: CheckPool, first_person: str | None) -> None:
        self._checks = checks
        self._known: dict[str, list[str]] = {}
        self._fallback = words_without(first_person)

    def words(self, line: str) -> list[str]:
        known = self._known.get(line)
        return known if known is not None else self._fallback(line)

    def records(self, records: Iterable[tuple[int, BatchRecord | None]]) -> Iterator[SignedRecord]:
        """`records` in order, up to a few per worker in the workers at once."""
        held: deque[tuple[int, BatchRecord | None, list[tuple[str, str]]]] = deque()

        def lines() -> Iterator[list[tuple[str, str]]]:
            for index, record in records:
                held.append((index, record, _lines(record)))
                yield held[-1][2]

        for facts in self._checks.facts(lines()):
            index, record, pairs = held.popleft()
            self._known = {
                gyaru: words for (_, gyaru), words in zip(pairs, facts.words, strict=True)
            }
            yield index, record, facts.signatures


def _lines(record: BatchRecord | None) -> list[tuple[str, str]]:
    """A raw file's pairs as (standard, gyaru); none for a failed or unreadable one."""
    if record is None or record.failed:
        return []
    return [(p.standard, p.gyaru) for p in record.accepted]


class DecileSummary:
    """How a run's diversity evolves, decile by decile of its batches: the
    near-duplicate rate of its pairs and the distinct-2 of its persona lines, with the
    dataset's own near-duplicate index (the rebuild records in `near_duplicate_of`
    which pairs it left out) and each line's words (client.pairs.diversity). Free generation
    only: an input run's lines are the user's, not the model's repetition.

    Sets `stats.extra["deciles"]`: one row per decile of `batches` that has pairs."""

    def __init__(self, batches: int, first_person: str | None, words: Words | None = None) -> None:
        self.tally = DecileTally(batches=batches, words=words or words_without(first_person))
        # Pair id (hashed) -> batch, for telling near duplicates (known by id) to their
        # decile: 20-odd bytes a pair instead of an id string and a dict entry.
        self._batch_of = DigestMap()

    def record(self, record: BatchRecord) -> None:
        batch = record.batch
        for pair in record.accepted:
            self._batch_of.setdefault(hash64(hash(pair.id or "")), batch)

    def pair(self, batch: int, pair: StoredPair) -> None:
        self.tally.kept(batch, pair.gyaru)

    def finish(self, stats: DatasetStats) -> None:
        for pair_id in stats.near_duplicate_of:
            batch = self._batch_of.get(hash64(hash(pair_id)))
            if batch is not None:
                self.tally.near_duplicate(batch)
        stats.extra["deciles"] = [row.to_json() for row in self.tally.close()]


def finalise(session: Session, sink: BatchSink | None) -> RunSummary:
    """The summary of this session; `sink` is None when it was interrupted before its
    batches could start (nothing to rebuild)."""
    if sink is None:
        return _summary(session, None, DatasetStats(), {})
    prepared, store = sink.prepared, session.store
    # The rebuild keeps its own de-duplication: the run's index can go before it starts.
    prepared.seen.release()
    stats, path = _rebuild(sink)
    files = {
        "raw_dir": str(store.raw_dir),
        "manifest": str(store.manifest_path),
        "processed": str(path),
    }
    summary = _summary(session, sink, stats, files)
    if summary.status != "complete":
        summary.resume_command = resume_command(session.argv, store.run_id)
    sink.manifest.manifest.finish(summary.status, summary.to_json(), now=utc_now())
    sink.manifest.write()
    return summary


def _rebuild(sink: BatchSink) -> tuple[DatasetStats, Path]:
    """The dataset, its CPU-heavy part in the workers; if one of them dies meanwhile,
    once more in this process (a rebuild only reads the raw files, so it can start over)."""
    try:
        return _rebuild_with(sink, sink.prepared.session.checks)
    except WorkerError:
        log.warning("a pair-check worker died during the rebuild: rebuilding in this process")
        checks = sink.prepared.session.checks
        return _rebuild_with(sink, CheckPool(checks.recipe, workers=1))


def _rebuild_with(sink: BatchSink, checks: CheckPool) -> tuple[DatasetStats, Path]:
    prepared = sink.prepared
    settings, store = prepared.settings, prepared.store
    ahead = WorkedAhead(checks, settings.persona.first_person)
    return build_dataset(
        store,
        key=settings.validation.dedup_key,
        earlier=prepared.seen.earlier_keys,
        near=prepared.job.near_duplicates(prepared.seen.earlier_pairs),
        metadata=dataset_metadata(
            run_id=store.run_id,
            created_at=utc_now(),
            model=prepared.model,
            persona=settings.persona.name,
            topics=list(settings.persona.topics),
            prompt_sha=sink.manifest.manifest.prompt_sha,
            endpoints=list(settings.server.endpoints),
            config=settings.snapshot(),
        ),
        hooks=_hooks(sink, ahead.words),
        require_judge=settings.judge.enabled,
        records=ahead.records(store.iter_records()),
    )


def _summary(
    session: Session, sink: BatchSink | None, stats: DatasetStats, files: dict[str, str]
) -> RunSummary:
    settings, signum = session.settings, session.interrupts.signum
    status: RunStatus = "interrupted" if signum is not None else "incomplete"
    if signum is None and sink is not None:
        status = _status(session.job, stats)
    return RunSummary(
        run_id=session.run_id,
        status=status,
        model=sink.prepared.model if sink is not None else None,
        endpoints=list(settings.server.endpoints),
        stats=stats,
        wall_s=session.wall_s,
        batches_planned=sink.prepared.batches_planned if sink else session.job.limit,
        batches_skipped=len(sink.prepared.resumed.done) if sink else 0,
        live=sink.live if sink else LiveStats(batches_planned=session.job.limit),
        target_pairs=settings.generation.target_pairs,
        files=files,
        endpoint_served={s.url: s.served for s in session.pool.states},
        interrupted_by=signum,
        concurrency=_concurrency(session, sink),
    )


def _hooks(sink: BatchSink, words: Words) -> list[RebuildHook]:
    prepared = sink.prepared
    hooks: list[RebuildHook] = [DiversitySummary(prepared.job, words)]
    if prepared.inputs is not None:
        hooks.append(InputSummary(prepared.inputs.counts))
    else:
        # Deciles of the batches the run actually has (a target run may stop early).
        last = max((index for index, _ in prepared.store.batch_files()), default=1)
        hooks.append(DecileSummary(last, prepared.settings.persona.first_person, words))
    return hooks


def _status(job: Job, stats: DatasetStats) -> RunStatus:
    """Complete: no batch failed, unreadable or waiting for the judge, and the plan (or
    the target, or every input line) is met."""
    target = job.settings.generation.target_pairs
    all_done = (
        stats.batches_failed == 0
        and stats.batches_unreadable == 0
        and stats.batches_awaiting_judge == 0
    )
    if "inputs" in stats.extra:
        enough = stats.extra["inputs"]["pending"] == 0
    elif target:
        enough = stats.pairs_unique >= target
    else:
        enough = stats.batches_finished >= job.limit
    return "complete" if all_done and enough else "incomplete"


def _concurrency(session: Session, sink: BatchSink | None) -> dict[str, Any]:
    """The level used: fixed, or what auto did on each endpoint."""
    gen = session.settings.generation
    levels = sink.prepared.levels if sink is not None else None
    if levels is not None:
        return levels.to_json()
    if gen.auto_concurrency:
        return {"mode": "auto", "max_concurrency": gen.max_concurrency, "endpoints": {}}
    return {"mode": "fixed", "level": gen.concurrency}
