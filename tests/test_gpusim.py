"""The GPU simulator itself: batching up to K, the queue beyond it, a KV cache that
preempts, and the counters /metrics reports. Its engine steps in order, so what it does
depends on the requests, not on how fast this machine is."""

from __future__ import annotations

import asyncio

from client.server.metrics import parse_load
from tests.gpusim import Engine, exposition


async def _run(engine: Engine, requests: list[tuple[int, int]]) -> list[tuple[int, int, float]]:
    """Send every request at once; (running, waiting, kv usage) seen after each step."""
    seen: list[tuple[int, int, float]] = []
    task = asyncio.create_task(engine.run())

    async def watch() -> None:
        while True:
            seen.append((len(engine.running), len(engine.waiting), engine.kv_usage))
            await asyncio.sleep(engine.step_s / 2)

    watcher = asyncio.create_task(watch())
    await asyncio.gather(*(engine.generate(p, t) for p, t in requests))
    watcher.cancel()
    task.cancel()
    return seen


async def test_it_runs_at_most_k_and_queues_the_rest() -> None:
    engine = Engine(capacity=4, step_s=0.001)
    seen = await _run(engine, [(10, 20)] * 10)
    assert max(running for running, _, _ in seen) == 4
    assert max(waiting for _, waiting, _ in seen) >= 5
    assert engine.generation_tokens == 200
    assert engine.preemptions == 0


async def test_a_small_kv_cache_bounds_the_batch_and_preempts() -> None:
    engine = Engine(capacity=64, step_s=0.001, kv_tokens=100)
    seen = await _run(engine, [(10, 40)] * 12)
    # Prompts of 10 fit nine at a time (not all 12, though K is 64); as their replies
    # grow the cache overflows and the newest are sent back to the queue.
    assert max(running for running, _, _ in seen) == 9
    assert engine.preemptions > 0
    assert engine.generation_tokens == 480
    assert max(kv for _, _, kv in seen) <= 1.0


def test_the_exposition_is_what_the_client_reads() -> None:
    engine = Engine(capacity=4)
    engine.generation_tokens, engine.preemptions = 1234, 5
    load = parse_load(exposition(engine, "m").decode(), model="m")
    assert (load.running, load.waiting, load.kv_cache_usage) == (0, 0, 0.0)
    assert (load.generation_tokens_total, load.preemptions_total) == (1234, 5)
