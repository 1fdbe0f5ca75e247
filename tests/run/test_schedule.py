"""schedule: batches start as the endpoint pool admits them, follow its limits as
--concurrency auto moves them, and stop at the target gate."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import httpx

from client.pairs.records import BatchResult, BatchSpec
from client.run.schedule import TargetGate, schedule
from client.server.api import Endpoint
from client.server.pool import EndpointPool

URL = "http://e.test/v1"


def specs(n: int) -> Iterator[BatchSpec]:
    return (BatchSpec(i, 5, "", i, f"batch {i}") for i in range(1, n + 1))


class Batches:
    """Batches that run until the test lets each one finish."""

    def __init__(self, new_unique: int = 5) -> None:
        self.running: dict[int, anyio.Event] = {}
        self.started: list[int] = []
        self.new_unique = new_unique

    async def run(self, spec: BatchSpec) -> BatchResult:
        done = self.running[spec.index] = anyio.Event()
        self.started.append(spec.index)
        await done.wait()
        del self.running[spec.index]
        return BatchResult(spec=spec, status="ok", attempts=1, started_at="", finished_at="")

    async def stored(self, result: BatchResult) -> int:
        return self.new_unique

    async def finish(self, count: int) -> None:
        for index in sorted(self.running)[:count]:
            self.running[index].set()
        await anyio.wait_all_tasks_blocked()


async def test_batches_follow_the_pools_limit_as_it_moves() -> None:
    async with httpx.AsyncClient() as http:
        endpoint = Endpoint(
            URL, http_clients=[http], api_key=None, request_timeout_s=1, connect_timeout_s=1
        )
        pool = EndpointPool([endpoint], capacity=4, cooldown_s=1, http_clients=[http])
        batches = Batches()
        async with anyio.create_task_group() as tg:
            tg.start_soon(
                lambda: schedule(
                    specs(12), pool=pool, run_batch=batches.run, on_result=batches.stored
                )
            )
            await anyio.wait_all_tasks_blocked()
            assert batches.started == [1, 2, 3, 4] and pool.admitted == 4
            pool.set_limit(URL, 2)  # lowered: nothing running is stopped, nothing new starts
            await batches.finish(1)
            assert len(batches.running) == pool.admitted == 3
            await batches.finish(2)
            assert len(batches.running) == pool.admitted == 2 and batches.started[-1] == 5
            pool.set_limit(URL, 4)  # raised: two start at once
            await anyio.wait_all_tasks_blocked()
            assert batches.started[-2:] == [6, 7] and pool.admitted == 4
            while batches.running:
                await batches.finish(4)
    assert batches.started == list(range(1, 13)) and pool.admitted == 0


async def test_target_mode_admits_no_batch_once_those_in_flight_would_reach_it() -> None:
    async with httpx.AsyncClient() as http:
        endpoint = Endpoint(
            URL, http_clients=[http], api_key=None, request_timeout_s=1, connect_timeout_s=1
        )
        pool = EndpointPool([endpoint], capacity=8, cooldown_s=1, http_clients=[http])
        batches = Batches(new_unique=5)
        gate = TargetGate(12, num_pairs=5)
        async with anyio.create_task_group() as tg:

            async def run() -> None:
                await schedule(
                    specs(50),
                    pool=pool,
                    run_batch=batches.run,
                    on_result=batches.stored,
                    gate=gate,
                )

            tg.start_soon(run)
            await anyio.wait_all_tasks_blocked()
            # 3 batches in flight are expected to bring 15 pairs: a 4th would not be needed.
            assert batches.started == [1, 2, 3]
            await batches.finish(1)  # 5 stored, 2 in flight (10 expected): not yet
            assert batches.started == [1, 2, 3]
            await batches.finish(2)  # 15 stored: the target is reached
    assert gate.reached and batches.started == [1, 2, 3] and pool.admitted == 0
