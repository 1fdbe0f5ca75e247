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
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Any

from client.errors import WorkerError
from client.pairs.batchwork import BatchChecked, BatchWork, Checker, CheckRecipe

# Imported by the fork server once, so each worker it forks starts with them loaded.
_PRELOAD = ["client.pairs.batchwork", "client.pairs.validate", "client.pairs.rewrites"]

Task = Callable[[BatchWork], Any]

# The worker process's own Checker, built by its initializer.
_checker: Checker | None = None


def cores() -> int:
    """The cores this process may run on (its affinity, where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(len(os.sched_getaffinity(0)), 1)
    return os.cpu_count() or 1


def worker_count(setting: int | None) -> int:
    """`generation.workers`: None means one per core; 1 means inline."""
    return cores() if setting is None else max(setting, 1)


def _start_worker(recipe: CheckRecipe) -> None:
    # Ctrl-C reaches the whole process group; the run decides what it means.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _checker
    _checker = Checker(recipe)
    _checker.warm_up()


def check_in_worker(work: BatchWork) -> BatchChecked:
    assert _checker is not None, "the worker's initializer did not run"
    return _checker.check(work)


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if context.get_start_method() == "forkserver":
        context.set_forkserver_preload(_PRELOAD)
    return context


class CheckPool:
    """`await pool.check(work)` -> the batch's `BatchChecked`; `async with` (or
    `aclose`) stops the workers. `task` is what a worker runs on each batch (tests
    give their own)."""

    def __init__(self, recipe: CheckRecipe, *, workers: int, task: Task = check_in_worker) -> None:
        self.workers = max(workers, 1)
        self._task = task
        self._inline: Checker | None = None
        self._executor: ProcessPoolExecutor | None = None
        if self.workers == 1:
            self._inline = Checker(recipe)
        else:
            self._executor = ProcessPoolExecutor(
                self.workers,
                mp_context=_context(),
                initializer=_start_worker,
                initargs=(recipe,),
            )

    @property
    def inline(self) -> bool:
        return self._inline is not None

    async def check(self, work: BatchWork) -> Any:
        """The task's result for one batch (a `BatchChecked` unless a test says otherwise)."""
        if self._inline is not None:
            return self._inline.check(work) if self._task is check_in_worker else self._task(work)
        assert self._executor is not None
        try:
            return await asyncio.wrap_future(self._executor.submit(self._task, work))
        except BrokenProcessPool:
            raise WorkerError(
                "a pair-check worker process died (killed, or out of memory?): the run "
                "stops here; the batches already written are kept, and the same command "
                "with its --run-id resumes it"
            ) from None
        except RuntimeError as exc:
            # submit() after close(): the run is shutting down.
            raise WorkerError(f"the pair-check workers are stopped: {exc}") from None

    def close(self) -> None:
        """Stop the workers; waits for the batches being checked (milliseconds)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)

    async def aclose(self) -> None:
        import anyio.to_thread

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
        import anyio

        with anyio.CancelScope(shield=True):
            await self.aclose()
