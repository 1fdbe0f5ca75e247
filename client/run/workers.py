"""Worker processes for a batch's pair checks, so the event loop stays free.

Checking a batch (the analyser and every pair check, then the near-duplicate
signatures: client.pairs.batchwork) takes tens of milliseconds of CPU; on the
event loop's thread no reply is read and no request sent meanwhile, and with one
core busy the client falls behind a cluster. `CheckPool` sends each finished
batch, whole, to one of `workers` processes and awaits its `BatchChecked`; with
`workers=1` it checks inline, on the loop, as before. The result is the same either
way: the work is one pure function of the batch (tests/run/test_workers.py compares).

Each worker builds the persona's checks and loads the analyser's dictionary once, in
its initializer, not per batch. Workers come from a fork server (a clean process, no
threads of the run's) and ignore Ctrl-C: the run hears it and closes the pool, which
lets the batches being checked finish and stops the workers. A worker that dies (the
kernel's OOM killer, a crash in a native library) fails the batches it held with a
`WorkerError` that says so, never a run that waits for ever.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Any

import anyio
import anyio.to_thread

from client.errors import WorkerError
from client.pairs.batchwork import (
    BatchChecked,
    BatchWork,
    Checker,
    CheckRecipe,
    LineFacts,
    Lines,
)

# Imported by the fork server once, so each worker it forks starts with them loaded.
_PRELOAD = ["client.pairs.batchwork", "client.pairs.validate", "client.pairs.rewrites"]

Task = Callable[[BatchWork], Any]

DIED = (
    "a pair-check worker process died (killed, or out of memory?): the run stops here; "
    "the batches already written are kept, and the same command with its --run-id "
    "resumes it"
)

# The worker process's own Checker, built by its initializer.
_checker: Checker | None = None


def cores() -> int:
    """The cores this process may run on (its affinity, where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(len(os.sched_getaffinity(0)), 1)
    return os.cpu_count() or 1


# The default's ceiling. The run's own process (HTTP, files, the index) takes about
# 0.45 ms of CPU a pair, so it hands out at most ~2,000 pairs a second; at ~0.8 ms a
# pair of checks, signatures and the rebuild's share, four workers are twice what it
# can keep busy, and each costs ~50 MB of its own (docs/benchmarks.md).
DEFAULT_MAX_WORKERS = 4


def worker_count(setting: int | None, *, checks: bool = True, available: int | None = None) -> int:
    """`generation.workers`: 1 means inline; None means one per core (`available`, by
    default this process's), at most DEFAULT_MAX_WORKERS, or inline when the pair checks
    are off (validation alone costs too little a batch to be worth a process)."""
    if setting is not None:
        return max(setting, 1)
    if not checks:
        return 1
    return min(cores() if available is None else available, DEFAULT_MAX_WORKERS)


def _start_worker(recipe: CheckRecipe) -> None:
    # Ctrl-C reaches the whole process group; the run decides what it means.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _batch_scheduling()
    global _checker
    _checker = Checker(recipe)
    _checker.warm_up()


def _worker_checker() -> Checker:
    if _checker is None:
        raise RuntimeError("the worker's initializer did not run")
    return _checker


def _batch_scheduling() -> None:
    """Mark the calling thread CPU-bound (Linux's SCHED_BATCH): the same share of the
    CPU, but a later turn when it wakes, so the run's event loop, which wakes for every
    reply, runs first. Processes forked from the thread inherit it."""
    if hasattr(os, "SCHED_BATCH"):
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))


def check_in_worker(work: BatchWork) -> BatchChecked:
    return _worker_checker().check(work)


def facts_in_worker(lines: Lines) -> LineFacts:
    return _worker_checker().facts(lines)


def _ready() -> int:
    return os.getpid()


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if context.get_start_method() == "forkserver":
        context.set_forkserver_preload(_PRELOAD)
    return context


class CheckPool:
    """`await pool.check(work)` -> the batch's `BatchChecked`; `facts(lines)` -> the
    rebuild's `LineFacts`, in order; `start()` brings the workers up ahead of the first
    batch; `async with` (or `aclose`) stops them. `task` is what a worker runs on each
    batch (tests give their own)."""

    def __init__(self, recipe: CheckRecipe, *, workers: int, task: Task = check_in_worker) -> None:
        self.workers = max(workers, 1)
        self.recipe = recipe
        self._task = task
        self._inline: Checker | None = None
        self._executor: ProcessPoolExecutor | None = None
        self._started = threading.Event()
        self._starter: threading.Thread | None = None
        self.broken = False
        if self.workers == 1:
            self._inline = Checker(recipe)
            self._started.set()
        else:
            self._executor = ProcessPoolExecutor(
                self.workers,
                mp_context=_context(),
                initializer=_start_worker,
                initargs=(recipe,),
            )

    @property
    def inline(self) -> bool:
        return self._executor is None

    def _local(self) -> Checker:
        """A Checker in this process: the inline pool's, or one made when the workers
        are gone."""
        if self._inline is None:
            self._inline = Checker(self.recipe)
        return self._inline

    def start(self) -> None:
        """Start every worker now, in a thread of its own: the fork server's start and
        each worker's dictionary take a second or so, which the run spends checking the
        server instead of on its first batch (and starting a process blocks the thread
        that asks, which must not be the event loop's)."""
        executor = self._executor
        if executor is None or self._started.is_set() or self._starter is not None:
            return
        self._starter = threading.Thread(
            target=self._start_all, args=(executor,), name="check-pool", daemon=True
        )
        self._starter.start()

    def _start_all(self, executor: ProcessPoolExecutor) -> None:
        # The fork server and the workers, which come from this thread, start (a second
        # of imports and the dictionary) while the run's first requests go out.
        _batch_scheduling()
        if self.recipe.near is not None:
            # The run's near-duplicate index and the signatures the workers send back
            # need numpy: imported here, not on the event loop with the first batch
            # (a tenth of a second).
            import numpy  # noqa: F401
        try:
            # A task per worker, each held until all have started: every process is made.
            barrier = [executor.submit(_ready) for _ in range(self.workers)]
            for future in barrier:
                future.result()
        except (BrokenProcessPool, RuntimeError):
            # A worker that died on the way or a pool closed meanwhile: the first
            # batch says so.
            pass
        finally:
            self._started.set()

    async def check(self, work: BatchWork) -> Any:
        """The task's result for one batch (a `BatchChecked` unless a test says otherwise)."""
        executor = self._executor
        if executor is None:
            return self._local().check(work) if self._task is check_in_worker else self._task(work)
        if not self._started.is_set():
            self.start()
            await anyio.to_thread.run_sync(self._started.wait)
        try:
            return await asyncio.wrap_future(executor.submit(self._task, work))
        except BrokenProcessPool:
            self.broken = True
            raise WorkerError(DIED) from None
        except RuntimeError as exc:
            # submit() after close(): the run is shutting down.
            raise WorkerError(f"the pair-check workers are stopped: {exc}") from None

    def facts(self, lines: Iterable[Lines], *, ahead: int | None = None) -> Iterator[LineFacts]:
        """`LineFacts` of each item of `lines`, in order, up to `ahead` items in the
        workers at once (default: two per worker). For the dataset rebuild, which runs
        in a thread of its own. A pool whose workers died (or were never there) does
        the work itself: the rebuild is what keeps a run's pairs."""
        executor = self._executor
        if executor is None or self.broken:
            checker = self._local()
            yield from (checker.facts(item) for item in lines)
            return
        pending: deque[Future[LineFacts]] = deque()
        items = iter(lines)
        limit = ahead or 4 * self.workers
        try:
            for item in items:
                pending.append(executor.submit(facts_in_worker, item))
                if len(pending) >= limit:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        except BrokenProcessPool:
            self.broken = True
            raise WorkerError(DIED) from None
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        """Stop the workers; waits for the batches being checked (milliseconds)."""
        if self._starter is not None:
            self._starter.join()
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)

    async def aclose(self) -> None:
        # Waiting for a worker must not hold up the loop (nor a second Ctrl-C).
        await anyio.to_thread.run_sync(self.close)

    async def __aenter__(self) -> CheckPool:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with anyio.CancelScope(shield=True):
            await self.aclose()
