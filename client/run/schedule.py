"""Scheduling: every batch of the plan, pulled lazily, started as soon as the endpoint
pool admits it. How many run at once is the pool's to say (`EndpointPool.admit`: the
endpoints' limits together, which --concurrency auto moves); in target mode a gate
stops admitting batches once the pairs in flight would reach the target.

One loop admits and starts batches (curator's shape: one dispatcher, a task per
request in flight), so however high the limits, only it ever waits for admission.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any, Protocol

import anyio

from client.errors import unwrap_group
from client.pairs.records import BatchResult, BatchSpec
from client.server.pool import Admission, AdmissionRule


class WorkPool(Protocol):
    """What scheduling needs of the endpoint pool: its bound on work admitted."""

    async def admit(self, rule: AdmissionRule | None = None) -> bool: ...
    def release(self) -> None: ...


class TargetGate:
    """Target mode: admit another batch only while the pairs expected from the
    batches in flight (the pool's count) would not already reach the target."""

    def __init__(self, target: int, *, num_pairs: int, unique_so_far: int = 0) -> None:
        self.target = target
        self.num_pairs = num_pairs
        self.unique = unique_so_far
        self._finished = 0
        self._yield = 0

    @property
    def reached(self) -> bool:
        return self.unique >= self.target

    def _expected_per_batch(self) -> float:
        return self._yield / self._finished if self._finished else float(self.num_pairs)

    def __call__(self, in_flight: int) -> Admission:
        """The admission rule, given the batches in flight."""
        if self.reached:
            return "stop"
        expected = self.unique + in_flight * self._expected_per_batch()
        return "start" if in_flight == 0 or expected < self.target else "wait"

    def finished(self, new_unique: int) -> None:
        """A batch admitted through the gate is stored with `new_unique` new pairs."""
        self._finished += 1
        self._yield += new_unique
        self.unique += new_unique


def _batch_task(
    pool: WorkPool,
    run_batch: Callable[[BatchSpec], Awaitable[BatchResult]],
    store: Callable[[BatchResult], Awaitable[None]],
    places: anyio.Semaphore | None,
) -> Callable[[BatchSpec], Coroutine[Any, Any, None]]:
    """One batch's task: its unit given back once stored, or once its reply holds one
    of `places`."""

    async def one(spec: BatchSpec) -> None:
        if places is None:
            try:
                await store(await run_batch(spec))
            finally:
                pool.release()
            return
        try:
            result = await run_batch(spec)
            # Taken before the unit is given back: when storing falls behind, batches
            # wait here holding their units, and no more requests go out.
            await places.acquire()
        finally:
            pool.release()
        try:
            await store(result)
        finally:
            places.release()

    return one


async def schedule(
    specs: Iterator[BatchSpec],
    *,
    pool: WorkPool,
    run_batch: Callable[[BatchSpec], Awaitable[BatchResult]],
    on_result: Callable[[BatchResult], Awaitable[int]],
    gate: TargetGate | None = None,
    halted: Callable[[], bool] | None = None,
    store_ahead: int = 0,
) -> None:
    """Run every spec, each batch holding a unit of the pool's admitted work from
    before it is taken from `specs` until its result is stored, or, with `store_ahead`,
    until it holds one of that many places to store it in: then the next batch's
    request goes out while this one is still being written.

    Specs are pulled lazily, so a plan of a million batches costs nothing up
    front. `on_result` stores a result and answers how many new unique pairs it
    brought (for target mode). Once `halted()` says so (the judge stopped), no
    batch is admitted any more; those in flight finish.
    """
    # Target mode and the judge keep each unit until the batch is stored: the gate's
    # answer changes only when a stored batch's pairs are counted, and the judge's
    # verdicts (it may stop the run) come while the batch is stored; the pool asks
    # again only when a unit comes back.
    ahead = store_ahead > 0 and gate is None and halted is None
    places = anyio.Semaphore(store_ahead) if ahead else None

    def rule(in_flight: int) -> Admission:
        if halted is not None and halted():
            return "stop"
        return gate(in_flight) if gate is not None else "start"

    async def store(result: BatchResult) -> None:
        new_unique = await on_result(result)
        if gate is not None:
            gate.finished(new_unique)

    one = _batch_task(pool, run_batch, store, places)
    try:
        async with anyio.create_task_group() as tg:
            while await pool.admit(rule):
                spec = next(specs, None)
                if spec is None:
                    pool.release()
                    break
                tg.start_soon(one, spec)
    except BaseExceptionGroup as group:
        raise unwrap_group(group) from None
