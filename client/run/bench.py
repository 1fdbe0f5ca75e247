"""`client bench`: the same batches at several concurrency levels (and batch sizes), to
choose --concurrency and --pairs-per-batch.

For each batch size, each level runs the same batch plan (same seeds) against the
server, so the only thing that changes between its rows is how many requests are in
flight at once. A level may be "auto": the run's own tuner, from where it starts.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import structlog
from pydantic import SecretStr

from client.config import Settings
from client.pairs.prompts import BatchPlan, new_base_seed
from client.pairs.records import BatchResult, BatchSpec
from client.run.autoconc import Tuning
from client.run.autolevels import AutoLevels
from client.run.job import Job
from client.run.progress import LiveStats, QuietObserver
from client.run.runner import RequestTemplate
from client.run.schedule import schedule
from client.server.pool import EndpointPool
from client.server.readiness import resolve_model, wait_for_endpoints

log = structlog.get_logger("client.run.bench")

# A level "still pays" when it adds at least this much throughput over the one before.
GAIN_THRESHOLD = 0.10


Level = int | Literal["auto"]


@dataclass
class LevelResult:
    concurrency: Level
    pairs_per_batch: int = 0
    # With auto: the level each endpoint ended at.
    settled: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0
    batches: int = 0
    failed: int = 0
    completion_tokens: int = 0
    accepted: int = 0
    latencies: list[float] = field(default_factory=list)

    @property
    def batches_per_s(self) -> float:
        return self.batches / self.wall_s if self.wall_s else 0.0

    @property
    def tokens_per_s(self) -> float:
        return self.completion_tokens / self.wall_s if self.wall_s else 0.0

    @property
    def pairs_per_min(self) -> float:
        return self.accepted / (self.wall_s / 60) if self.wall_s else 0.0

    def percentile(self, q: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def recommend(results: Sequence[LevelResult]) -> int | None:
    """The fixed level past which output tokens/s stops growing by GAIN_THRESHOLD."""
    best = _paying(results)
    return best.concurrency if best is not None and best.concurrency != "auto" else None


def _paying(results: Sequence[LevelResult]) -> LevelResult | None:
    fixed = [r for r in results if r.concurrency != "auto" and r.batches > r.failed]
    ordered = sorted(fixed, key=lambda r: int(r.concurrency))
    if not ordered:
        return None
    best = ordered[0]
    for result in ordered[1:]:
        if result.tokens_per_s < best.tokens_per_s * (1 + GAIN_THRESHOLD):
            break
        best = result
    return best


def recommend_combination(results: Sequence[LevelResult]) -> LevelResult | None:
    """For each batch size the fixed level where throughput stops paying (and auto), then
    the one of those that makes the most pairs per minute."""
    candidates = [r for r in results if r.concurrency == "auto" and r.batches > r.failed]
    for size in sorted({r.pairs_per_batch for r in results}):
        best = _paying([r for r in results if r.pairs_per_batch == size])
        if best is not None:
            candidates.append(best)
    if not candidates:
        return None
    # Equal pairs/min: the fixed level, which a user can repeat exactly.
    return max(candidates, key=lambda r: (r.pairs_per_min, r.concurrency != "auto"))


async def run_bench(
    settings: Settings,
    api_key: SecretStr | None,
    levels: Sequence[Level],
    shapes: Sequence[int] = (),
) -> tuple[str, list[LevelResult]]:
    """Every level for every batch size (`shapes`; default: the configured one)."""
    gen = settings.generation
    base_seed = gen.seed if gen.seed is not None else new_base_seed()
    model = ""
    results = []
    for size in shapes or [gen.num_pairs_per_batch]:
        job = Job.from_settings(_with_batch_size(settings, size))
        plan = job.plan(base_seed, limit=gen.total_batches)
        model = await _warm_up(job, api_key, plan)
        template = job.template(model)
        for level in levels:
            result = await _level(job, api_key, template, plan, level)
            result.pairs_per_batch = size
            results.append(result)
    return model, results


def _with_batch_size(settings: Settings, size: int) -> Settings:
    generation = settings.generation.model_copy(update={"num_pairs_per_batch": size})
    return settings.model_copy(update={"generation": generation})


async def _warm_up(job: Job, api_key: SecretStr | None, plan: BatchPlan) -> str:
    """Resolve the model, and send one tiny request first, so the first level does not
    pay for the cold prefix cache (and lazy compilation) that every later level would skip."""
    settings = job.settings
    probe_pool = job.pool(api_key, capacity=1)
    try:
        statuses = await wait_for_endpoints(probe_pool.endpoints, wait_s=settings.server.wait_s)
        model = resolve_model(settings.server.model, statuses)
        messages = job.template(model).messages(plan.spec(1))
        for status in statuses:
            if status.ready:
                await status.endpoint.chat(model=model, messages=messages, params={"max_tokens": 1})
    finally:
        await probe_pool.aclose()
    return model


async def _level(
    job: Job,
    api_key: SecretStr | None,
    template: RequestTemplate,
    plan: BatchPlan,
    level: Level,
) -> LevelResult:
    gen = job.settings.generation
    total = gen.total_batches
    result = LevelResult(concurrency=level)
    pool = job.pool(api_key, capacity=gen.max_concurrency if level == "auto" else level)
    runner = job.runner(
        pool,
        template,
        run_id="bench",
        observer=QuietObserver(LiveStats(batches_planned=total)),
    )

    async def on_result(batch: BatchResult) -> int:
        result.batches += 1
        result.failed += batch.status == "failed"
        result.accepted += len(batch.accepted)
        if batch.completion is not None:
            result.completion_tokens += batch.completion.completion_tokens
            result.latencies.append(batch.completion.latency_s)
        return len(batch.accepted)

    log.info("bench level", concurrency=level, batches=total, pairs=gen.num_pairs_per_batch)
    start = time.perf_counter()
    try:
        if level == "auto":
            result.settled = await _auto(
                pool, job, api_key, template.model, runner.run, on_result, plan
            )
        else:
            await schedule(plan.specs(), pool=pool, run_batch=runner.run, on_result=on_result)
    finally:
        await pool.aclose()
    result.wall_s = time.perf_counter() - start
    return result


async def _auto(
    pool: EndpointPool,
    job: Job,
    api_key: SecretStr | None,
    model: str,
    run_batch: Callable[[BatchSpec], Awaitable[BatchResult]],
    on_result: Callable[[BatchResult], Awaitable[int]],
    plan: BatchPlan,
) -> dict[str, int]:
    """The plan under --concurrency auto, as generate runs it; the levels it ended at."""
    max_level = job.settings.generation.max_concurrency
    levels = AutoLevels.over(
        pool,
        tuning=Tuning(max_level=max_level),
        api_key=api_key,
        model=model,
        metrics_urls=job.settings.server.metrics_urls,
    )
    await levels.running(
        lambda: schedule(plan.specs(), pool=pool, run_batch=run_batch, on_result=on_result)
    )
    return levels.levels
