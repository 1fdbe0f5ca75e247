"""Where a finished batch goes: the `BatchSink`.

For every batch the runner finishes, in this order, each step its own method:

    dedup keys      the accepted pairs' exact keys (`dedup_keys`, pure)
    judge hand-off  written first (a resumed run judges instead of generating again),
                    then graded; the judge's verdicts applied to the batch
    write           raw/<run_id>/batch_NNNN.json, with the judge's outcome
    count           new unique pairs against the run's index (exact, then near, with
                    the signatures made where the batch was checked)
    phrases         what the persona lines overuse, for the next prompts
    manifest        the batch's line, written at most once a second
    display         the observer (progress line, counters)

It also takes the batches an earlier session generated but did not judge
(`judge_leftovers`). The manifest is started when the sink opens, so a sink always
has one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread
import structlog

from client.clock import utc_now
from client.errors import OutputDirError
from client.pairs.dedup import DedupKey, key_of_normalised
from client.pairs.fingerprint import FREE
from client.pairs.judge_outcome import JudgeOutcome, apply_verdicts
from client.pairs.judge_request import StoredItem
from client.pairs.records import BatchResult, Pair
from client.run.judge import JudgeStage
from client.run.prepare import Prepared
from client.run.progress import LiveStats, QuietObserver
from client.storage.batch_record import BatchRecord
from client.storage.manifest import Manifest, ManifestWriter, RunFacts

if TYPE_CHECKING:
    from client.pairs.neardup import Signatures

log = structlog.get_logger("client.run")

MakeObserver = Callable[[LiveStats], QuietObserver]


def dedup_keys(pairs: Sequence[Pair], key: DedupKey) -> list[bytes]:
    """The exact de-duplication key of each pair (from its normalised lines)."""
    return [key_of_normalised(*p.normalised, key) for p in pairs]


def signatures_by_id(result: BatchResult) -> dict[str, Signatures]:
    """Each accepted pair's near-duplicate signature, by pair id (the judge may drop
    some pairs before they are counted); {} when the run keeps no near-duplicate index."""
    if result.signatures is None:
        return {}
    return {pair.id: row for pair, row in zip(result.accepted, result.signatures, strict=True)}


def rows_of(pairs: Sequence[Pair], signatures: dict[str, Signatures]) -> Signatures | None:
    """The signatures of `pairs`, in order, as one array (None: none were made)."""
    if not signatures or not pairs:
        return None
    import numpy as np

    return np.stack([signatures[p.id] for p in pairs])


def live_stats(prepared: Prepared) -> LiveStats:
    """The display's counters for this session, its in-flight count the pool's."""
    session, inputs = prepared.session, prepared.inputs
    pool = session.pool
    return LiveStats(
        batches_planned=prepared.batches_planned,
        clock=session.clock,
        started=session.started,
        count_in_flight=lambda: pool.admitted,
        input_lines=inputs.counts.lines if inputs is not None else None,
        input_lines_done=inputs.lines_done if inputs is not None else 0,
    )


def start_manifest(prepared: Prepared) -> ManifestWriter:
    """The manifest of this session, written once before any batch."""
    settings, store, session = prepared.settings, prepared.store, prepared.session
    facts = RunFacts(
        run_id=store.run_id,
        model=prepared.model,
        max_model_len=prepared.server.max_model_len,
        endpoints=list(settings.server.endpoints),
        prompt_path=str(settings.prompt.system_prompt_path),
        prompt_sha=prepared.prompt_sha,
        base_seed=prepared.base_seed,
        plan={
            "batches": prepared.batches_planned,
            "num_pairs_per_batch": settings.generation.num_pairs_per_batch,
            "target_pairs": settings.generation.target_pairs,
            "topics": list(settings.persona.topics),
        },
        config=settings.snapshot(),
        input=prepared.inputs.file.fingerprint if prepared.inputs is not None else FREE,
    )
    manifest = Manifest.start(prepared.resumed.previous, facts, now=utc_now())
    writer = ManifestWriter(store.manifest_path, manifest, fsync=store.fsync, clock=session.clock)
    writer.write()
    return writer


class BatchSink:
    def __init__(
        self, prepared: Prepared, *, manifest: ManifestWriter, observer: QuietObserver
    ) -> None:
        self.prepared = prepared
        self.manifest = manifest
        self.observer = observer
        self.key = prepared.settings.validation.dedup_key
        self._write_lock = anyio.Lock()

    @classmethod
    def open(cls, prepared: Prepared, make_observer: MakeObserver | None = None) -> BatchSink:
        """The sink of a prepared run: its display made, its manifest started."""
        live = live_stats(prepared)
        observer = make_observer(live) if make_observer else QuietObserver(live)
        sink = cls(prepared, manifest=start_manifest(prepared), observer=observer)
        log.info(
            "run started",
            run_id=prepared.store.run_id,
            model=prepared.model,
            endpoints=list(prepared.settings.server.endpoints),
            batches=prepared.batches_planned,
            already_done=len(prepared.resumed.done),
            concurrency=prepared.settings.generation.concurrency,
            output=str(prepared.store.raw_dir),
        )
        return sink

    @property
    def live(self) -> LiveStats:
        return self.observer.stats

    async def record(self, result: BatchResult) -> int:
        """Store a finished batch (judged first, when the judge is on), count its new
        unique pairs, keep the manifest and the display current; answers the number of
        new unique pairs (for target mode)."""
        keys = dedup_keys(result.accepted, self.key)
        signatures = signatures_by_id(result)
        result, keys, outcome = await self._judge(result, keys)
        await self._write(result, keys, outcome)
        settled, settled_keys = self._settled(result, keys)
        new_unique = self._count_new(settled, settled_keys, signatures) if result.finished else 0
        if result.finished:
            self._count_phrases(settled)
        self._count_judge_retries(outcome)
        self.manifest.set_batch(result, judge=outcome.status if outcome else None)
        self.observer.batch_finished(settled, new_unique)
        await self.write_manifest_if_due()
        return new_unique

    def _settled(self, result: BatchResult, keys: list[bytes]) -> tuple[BatchResult, list[bytes]]:
        """The batch as the dataset will see it: with the judge on, only the pairs it
        graded (the others wait for it)."""
        if self.prepared.judge is None:
            return result, keys
        graded = [pair.judge is not None for pair in result.accepted]
        if all(graded):
            return result, keys
        accepted = [p for p, g in zip(result.accepted, graded, strict=True) if g]
        return replace(result, accepted=accepted), [
            k for k, g in zip(keys, graded, strict=True) if g
        ]

    def _count_judge_retries(self, outcome: JudgeOutcome | None) -> None:
        """The judge's retries, counted apart from generation's."""
        if outcome is not None and outcome.attempts > 1:
            self.live.judge_retries += outcome.attempts - 1

    async def _judge(
        self, result: BatchResult, keys: list[bytes]
    ) -> tuple[BatchResult, list[bytes], JudgeOutcome | None]:
        """The judge hand-off: the batch and its keys once the judge's verdicts apply
        (as they were when the judge is off or there is nothing to grade)."""
        judge = self.prepared.judge
        if judge is None or not result.finished or not result.accepted:
            return result, keys, None
        # Written before the judge is asked: if it is down or the run is stopped now,
        # a resumed run judges these pairs instead of generating them again.
        await self._write(result, keys, None)
        outcome = await judge.judge(result.spec.index, result.accepted)
        if not outcome.graded:
            return result, keys, outcome
        # The keys of the pairs that stay accepted: kept, or still waiting for the judge.
        stay = [v is None or v.kept for v in outcome.verdicts]
        judged = apply_verdicts(result, outcome.verdicts)
        return judged, [k for k, keep in zip(keys, stay, strict=True) if keep], outcome

    async def _write(
        self, result: BatchResult, keys: list[bytes], judge: JudgeOutcome | None
    ) -> None:
        template = self.prepared.template
        record = BatchRecord.from_result(
            result,
            run_id=self.prepared.store.run_id,
            model=template.model,
            params=template.params,
            prompt_sha=self.prepared.prompt_sha,
            dedup=(self.key, keys),
            judge=judge,
        )
        await self.write_record(result.spec.index, record)

    async def write_record(self, index: int, record: BatchRecord) -> None:
        store = self.prepared.store
        try:
            await anyio.to_thread.run_sync(store.write_batch, index, record)
        except OSError as exc:
            raise OutputDirError(
                f"cannot write {store.batch_path(index)}: {exc.strerror or exc}"
            ) from None

    def _count_new(
        self, result: BatchResult, keys: list[bytes], signatures: dict[str, Signatures]
    ) -> int:
        """Pairs neither seen nor nearly seen before (the rebuild at the end decides;
        this keeps target mode and the display close to it)."""
        pairs = result.accepted
        return self.prepared.seen.add_many(
            [p.id for p in pairs],
            [(p.standard, p.gyaru) for p in pairs],
            keys,
            rows_of(pairs, signatures),
        )

    def _count_phrases(self, result: BatchResult) -> None:
        phrases = self.prepared.phrases
        if phrases is not None:
            phrases.add(p.gyaru for p in result.accepted)

    async def record_judged(self, index: int, record: BatchRecord, outcome: JudgeOutcome) -> None:
        """An earlier session's batch, graded now: written, its kept pairs counted."""
        judged = record.with_judgement(outcome)
        await self.write_record(index, judged)
        if outcome.graded:
            # Pairs graded before are in the index already: adding them again is a no-op.
            for digest in judged.graded_only().dedup_keys(self.key):
                self.prepared.seen.add_key(digest)
        self._count_judge_retries(outcome)
        self.manifest.set_judged(
            index,
            judge=outcome.status,
            accepted=len(judged.accepted),
            rejected=len(judged.rejection_reasons),
        )
        await self.write_manifest_if_due()

    async def write_manifest_if_due(self) -> None:
        # A batch never waits for another's manifest write: its raw file holds it
        # already, and the next write after this one (or the run's last) includes it.
        # Queued behind a slow fsync, every finished batch would hold its slot, and then
        # write the manifest again in turn.
        if self._write_lock.locked() or not self.manifest.due():
            return
        async with self._write_lock:
            text = self.manifest.render()
            await anyio.to_thread.run_sync(self.manifest.write_text, text)


async def judge_leftovers(sink: BatchSink) -> None:
    """Judge every batch of an earlier session that waits for the judge, before new
    batches are asked for; as many at once as the pool allows."""
    prepared = sink.prepared
    judge, indexes = prepared.judge, prepared.resumed.to_judge
    if judge is None or not indexes:
        return
    log.info(
        "judging batches generated earlier but not judged",
        run_id=prepared.store.run_id,
        batches=len(indexes),
    )
    async with anyio.create_task_group() as tg:
        for index in indexes:
            tg.start_soon(_judge_one, sink, judge, index)


async def _judge_one(sink: BatchSink, judge: JudgeStage, index: int) -> None:
    record = sink.prepared.store.read_batch(index)
    if record is None or not record.awaits_judge() or judge.stopped:
        return
    outcome = await judge.judge(index, [StoredItem(p) for p in record.ungraded])
    if outcome.status != "stopped":
        await sink.record_judged(index, record, outcome)
