"""One generate run's state, shared by its phases (see run.generate)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import anyio
import anyio.to_thread
from pydantic import SecretStr

from client.clock import Clock
from client.errors import OutputDirError
from client.pairs.dedup import Deduper, key_of_normalised
from client.pairs.digests import DigestSet
from client.pairs.inputs import InputCounts
from client.pairs.judge_outcome import JudgeOutcome, apply_verdicts
from client.pairs.neardup import NearDuplicates
from client.pairs.phrases import PhraseCounter
from client.pairs.prompts import BatchPlan, new_base_seed
from client.pairs.records import BatchResult
from client.run.autolevels import AutoLevels
from client.run.interrupts import Interrupts
from client.run.job import Job
from client.run.judge import JudgeStage
from client.run.progress import LiveStats, QuietObserver
from client.run.runner import RequestTemplate
from client.server.pool import EndpointPool
from client.server.readiness import EndpointStatus
from client.storage.batch_record import BatchRecord
from client.storage.manifest import Manifest, ManifestWriter
from client.storage.processed import EarlierPair
from client.storage.runstore import RunStore


@dataclass
class RunState:
    job: Job
    store: RunStore
    pool: EndpointPool
    argv: Sequence[str]
    clock: Clock
    prompt_sha: str
    started: float
    live: LiveStats
    interrupts: Interrupts = field(default_factory=Interrupts)
    # Draws the base seed of a new run without a configured one.
    new_seed: Callable[[], int] = new_base_seed
    api_key: SecretStr | None = None
    # The judge's own server (judge.base_url); None: it shares `pool`.
    judge_pool: EndpointPool | None = None
    # Filled in by the phases, in this order.
    statuses: list[EndpointStatus] = field(default_factory=list)
    model: str | None = None
    max_model_len: int | None = None
    previous: Manifest | None = None
    base_seed: int = 0
    plan: BatchPlan | None = None
    template: RequestTemplate | None = None
    earlier: set[bytes] = field(default_factory=set)
    earlier_pairs: list[EarlierPair] = field(default_factory=list)
    deduper: Deduper | None = None
    near: NearDuplicates | None = None
    done: set[int] = field(default_factory=set)
    # Input runs: the file's counts, and the inputs earlier sessions settled.
    input_counts: InputCounts | None = None
    settled: DigestSet = field(default_factory=DigestSet)
    # Free generation: what the run's persona lines overuse (None: not asked for).
    phrases: PhraseCounter | None = None
    # The judge step (None: off), and batches of earlier sessions it has yet to grade.
    judge: JudgeStage | None = None
    to_judge: list[int] = field(default_factory=list)
    manifest: ManifestWriter | None = None
    observer: QuietObserver | None = None
    # --concurrency auto: the tuners, once the batches start.
    levels: AutoLevels | None = None
    write_lock: anyio.Lock = field(default_factory=anyio.Lock)

    @property
    def skipped(self) -> int:
        return len(self.done)

    async def record(self, result: BatchResult) -> int:
        """Store a finished batch (judged first, when the judge is on), count its new
        unique pairs, keep the manifest and the display current; answers the number of
        new unique pairs (for target mode)."""
        assert self.deduper is not None
        assert self.manifest is not None
        assert self.observer is not None
        key = self.job.settings.validation.dedup_key
        keys = [key_of_normalised(*p.normalised, key) for p in result.accepted]
        outcome: JudgeOutcome | None = None
        if self.judge is not None and result.finished and result.accepted:
            # Written before the judge is asked: if it is down or the run is stopped
            # now, a resumed run judges these pairs instead of generating them again.
            await self._write(result, keys, None)
            outcome = await self.judge.judge(result.spec.index, result.accepted)
            if outcome.judged:
                kept = [v.kept for v in outcome.verdicts]
                result = apply_verdicts(result, outcome.verdicts)
                keys = [k for k, keep in zip(keys, kept, strict=True) if keep]
        await self._write(result, keys, outcome)
        counts = result.finished and (outcome is None or outcome.judged)
        new_unique = self._count_new(result, keys) if counts else 0
        if self.phrases is not None and counts:
            self.phrases.add(p.gyaru for p in result.accepted)
        self.manifest.set_batch(result, judge=outcome.status if outcome else None)
        self.observer.batch_finished(result, new_unique)
        await self.write_manifest_if_due()
        return new_unique

    async def _write(
        self, result: BatchResult, keys: list[bytes], judge: JudgeOutcome | None
    ) -> None:
        assert self.template is not None
        record = BatchRecord.from_result(
            result,
            run_id=self.store.run_id,
            model=self.template.model,
            params=self.template.params,
            prompt_sha=self.prompt_sha,
            dedup=(self.job.settings.validation.dedup_key, keys),
            judge=judge,
        )
        await self.write_record(result.spec.index, record)

    async def write_record(self, index: int, record: BatchRecord) -> None:
        try:
            await anyio.to_thread.run_sync(self.store.write_batch, index, record)
        except OSError as exc:
            raise OutputDirError(
                f"cannot write {self.store.batch_path(index)}: {exc.strerror or exc}"
            ) from None

    async def close_pools(self) -> None:
        await self.pool.aclose()
        if self.judge_pool is not None:
            await self.judge_pool.aclose()

    async def write_manifest_if_due(self) -> None:
        assert self.manifest is not None
        if self.manifest.due():
            async with self.write_lock:
                text = self.manifest.render()
                await anyio.to_thread.run_sync(self.manifest.write_text, text)

    def _count_new(self, result: BatchResult, keys: list[bytes]) -> int:
        """Pairs neither seen nor nearly seen before (the rebuild at the end decides;
        this keeps target mode and the display close to it)."""
        assert self.deduper is not None
        new = 0
        for digest, pair in zip(keys, result.accepted, strict=True):
            if not self.deduper.add_key(digest):
                continue
            if self.near is None or self.near.add(pair.id, pair.standard, pair.gyaru) is None:
                new += 1
        return new
