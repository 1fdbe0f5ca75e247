"""`client bench`: the same batches at several concurrency levels, to choose --concurrency.

Each level runs the same batch plan (same seeds) against the server, so the only
thing that changes between rows is how many requests are in flight at once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog
from pydantic import SecretStr

from client.config import Settings
from client.pairs.prompts import BatchPlan, new_base_seed
from client.pairs.records import BatchResult
from client.run.job import Job
from client.run.progress import LiveStats, QuietObserver
from client.run.runner import RequestTemplate
from client.run.schedule import schedule
from client.server.readiness import resolve_model, wait_for_endpoints

log = structlog.get_logger("client.run.bench")

# A level "still pays" when it adds at least this much throughput over the one before.
GAIN_THRESHOLD = 0.10


@dataclass
class LevelResult:
    concurrency: int
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
    """The level past which output tokens/s stops growing by GAIN_THRESHOLD."""
    ordered = sorted((r for r in results if r.batches > r.failed), key=lambda r: r.concurrency)
    if not ordered:
        return None
    best = ordered[0]
    for result in ordered[1:]:
        if result.tokens_per_s < best.tokens_per_s * (1 + GAIN_THRESHOLD):
            break
        best = result
    return best.concurrency


async def run_bench(
    settings: Settings, api_key: SecretStr | None, levels: Sequence[int]
) -> tuple[str, list[LevelResult]]:
    gen = settings.generation
    job = Job.from_settings(settings)
    base_seed = gen.seed if gen.seed is not None else new_base_seed()
    plan = job.plan(base_seed, limit=gen.total_batches)
    model = await _warm_up(job, api_key, plan)
    template = job.template(model)
    return model, [await _level(job, api_key, template, plan, level) for level in levels]


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
    level: int,
) -> LevelResult:
    total = job.settings.generation.total_batches
    result = LevelResult(concurrency=level)
    pool = job.pool(api_key, capacity=level)
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

    log.info("bench level", concurrency=level, batches=total)
    start = time.perf_counter()
    try:
        await schedule(
            plan.specs(), workers=pool.total_capacity, run_batch=runner.run, on_result=on_result
        )
    finally:
        await pool.aclose()
    result.wall_s = time.perf_counter() - start
    return result
