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
from client.run import job as pipeline
from client.run.progress import LiveStats, QuietObserver
from client.run.runner import BatchRunner, RequestTemplate, schedule
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
    rules = pipeline.pair_rules(settings)
    validation = pipeline.validation_context(settings, rules)
    prompts = pipeline.prompt_set(settings)
    plan = BatchPlan(
        prompts=prompts,
        num_pairs=gen.num_pairs_per_batch,
        topics=settings.persona.topics,
        base_seed=gen.seed if gen.seed is not None else new_base_seed(),
        limit=gen.total_batches,
        scenes=settings.persona.scenes,
    )
    probe_pool = pipeline.endpoint_pool(settings, api_key, capacity=1)
    try:
        statuses = await wait_for_endpoints(probe_pool.endpoints, wait_s=settings.server.wait_s)
        model = resolve_model(settings.server.model, statuses)
        template = RequestTemplate(
            model=model,
            system_prompt=prompts.system,
            params=pipeline.request_params(settings, rules),
            send_seed=gen.send_seed,
        )
        # One tiny request first, so the first level does not pay for the cold
        # prefix cache (and lazy compilation) that every later level would skip.
        for status in statuses:
            if status.ready:
                await status.endpoint.chat(
                    model=model, messages=template.messages(plan.spec(1)), params={"max_tokens": 1}
                )
    finally:
        await probe_pool.aclose()
    results = []
    for level in levels:
        result = LevelResult(concurrency=level)
        pool = pipeline.endpoint_pool(settings, api_key, capacity=level)
        runner = BatchRunner(
            pool=pool,
            policy=pipeline.retry_policy(settings),
            template=template,
            validation=validation,
            run_id="bench",
            observer=QuietObserver(LiveStats(batches_planned=gen.total_batches)),
        )

        async def on_result(batch: BatchResult, result: LevelResult = result) -> int:
            result.batches += 1
            result.failed += batch.status == "failed"
            result.accepted += len(batch.accepted)
            if batch.completion is not None:
                result.completion_tokens += batch.completion.completion_tokens
                result.latencies.append(batch.completion.latency_s)
            return len(batch.accepted)

        log.info("bench level", concurrency=level, batches=gen.total_batches)
        start = time.perf_counter()
        try:
            await schedule(
                plan.specs(),
                workers=pool.total_capacity,
                run_batch=runner.run,
                on_result=on_result,
            )
        finally:
            await pool.aclose()
        result.wall_s = time.perf_counter() - start
        results.append(result)
    return model, results
