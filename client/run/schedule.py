"""Scheduling: every batch through a fixed number of workers, pulled lazily; in target
mode a gate that stops admitting batches once the pairs in flight would reach the target;
with --concurrency auto an admission bound that the tuners move."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

import anyio

from client.errors import unwrap_group
from client.pairs.records import BatchResult, BatchSpec


class TargetGate:
    """Target mode: admit another batch only while the pairs expected from the
    batches in flight would not already reach the target."""

    def __init__(self, target: int, *, num_pairs: int, unique_so_far: int = 0) -> None:
        self.target = target
        self.num_pairs = num_pairs
        self.unique = unique_so_far
        self.in_flight = 0
        self._finished = 0
        self._yield = 0
        self._changed = anyio.Condition()

    @property
    def reached(self) -> bool:
        return self.unique >= self.target

    def _expected_per_batch(self) -> float:
        return self._yield / self._finished if self._finished else float(self.num_pairs)

    async def admit(self) -> bool:
        async with self._changed:
            while True:
                if self.reached:
                    return False
                expected = self.unique + self.in_flight * self._expected_per_batch()
                if self.in_flight == 0 or expected < self.target:
                    self.in_flight += 1
                    return True
                await self._changed.wait()

    async def done(self, new_unique: int) -> None:
        async with self._changed:
            self.in_flight -= 1
            self._finished += 1
            self._yield += new_unique
            self.unique += new_unique
            self._changed.notify_all()


async def schedule(
    specs: Iterator[BatchSpec],
    *,
    workers: int,
    run_batch: Callable[[BatchSpec], Awaitable[BatchResult]],
    on_result: Callable[[BatchResult], Awaitable[int]],
    gate: TargetGate | None = None,
    admission: anyio.CapacityLimiter | None = None,
) -> None:
    """Run every spec through `workers` concurrent workers.

    Specs are pulled lazily, so a plan of a million batches costs nothing up
    front. `on_result` stores a result and answers how many new unique pairs it
    brought (for target mode). With `admission` (--concurrency auto) a worker holds
    one of its tokens for each batch, so how many batches run at once follows its
    total while the workers are as many as it may ever reach.
    """

    async def one() -> bool:
        if gate is not None and not await gate.admit():
            return False
        spec = next(specs, None)
        if spec is None:
            if gate is not None:
                await gate.done(0)
            return False
        result = await run_batch(spec)
        new_unique = await on_result(result)
        if gate is not None:
            await gate.done(new_unique)
        return True

    async def worker() -> None:
        if admission is None:
            while await one():
                pass
            return
        while True:
            async with admission:
                if not await one():
                    return

    try:
        async with anyio.create_task_group() as tg:
            for _ in range(workers):
                tg.start_soon(worker)
    except BaseExceptionGroup as group:
        raise unwrap_group(group) from None
