"""One invocation of `generate`: what exists before the server is asked anything (the
`Job`, the run's folder, the endpoint pools, the pair-check workers, the command line,
the clock), and the signals that stop it (Ctrl-C, SIGTERM).

Earlier invocations of the same run id are "earlier sessions": what they left is read
by `run.prepare`.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field

import anyio
import structlog
from pydantic import SecretStr

from client.clock import Clock
from client.config import Settings
from client.errors import EXIT_SIGINT, EXIT_SIGTERM
from client.run.job import Job
from client.run.workers import CheckPool, worker_count
from client.server.pool import EndpointPool
from client.storage.atomic import ensure_writable
from client.storage.layout import new_run_id
from client.storage.runstore import RunStore

log = structlog.get_logger("client.run")


class Interrupts:
    """First SIGINT/SIGTERM: cancel the run and finalise. Second SIGINT: exit at once."""

    def __init__(self) -> None:
        self.signum: int | None = None

    async def watch(self, run_scope: anyio.CancelScope) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                if self.signum is None:
                    self.signum = signum
                    log.warning(
                        "interrupted: stopping, keeping finished batches "
                        "(press Ctrl-C again to exit at once)",
                        signal=signal.Signals(signum).name,
                    )
                    run_scope.cancel()
                else:
                    os._exit(EXIT_SIGTERM if signum == signal.SIGTERM else EXIT_SIGINT)


@dataclass(frozen=True)
class Session:
    job: Job
    store: RunStore
    pool: EndpointPool
    # The judge's own server (judge.base_url); None: it shares `pool`.
    judge_pool: EndpointPool | None
    # The processes that check each batch's pairs (inline with generation.workers 1).
    checks: CheckPool
    api_key: SecretStr | None
    argv: tuple[str, ...]
    clock: Clock
    started: float
    interrupts: Interrupts = field(default_factory=Interrupts)

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        api_key: SecretStr | None,
        run_id: str | None,
        argv: Sequence[str],
        clock: Clock,
    ) -> Session:
        """Raises ConfigError for a prompt that cannot be read or rendered, and
        OutputDirError for an output folder that cannot be written."""
        store = RunStore(
            settings.output.output_dir, run_id or new_run_id(), fsync=settings.output.fsync
        )
        job = Job.from_settings(settings)
        # Before any GPU time is spent: the run's own folders are made once the server answers.
        ensure_writable(settings.output.output_dir)
        pool, judge_pool = job.pool(api_key), job.judge_pool(api_key)
        workers = worker_count(settings.generation.workers, checks=settings.checks.enabled)
        checks = CheckPool(job.check_recipe(), workers=workers)
        # The workers start while the server is checked, not on the first batch.
        checks.start()
        return cls(
            job=job,
            store=store,
            pool=pool,
            judge_pool=judge_pool,
            checks=checks,
            api_key=api_key,
            argv=tuple(argv),
            clock=clock,
            started=clock(),
        )

    @property
    def settings(self) -> Settings:
        return self.job.settings

    @property
    def run_id(self) -> str:
        return self.store.run_id

    @property
    def wall_s(self) -> float:
        return self.clock() - self.started

    async def aclose(self) -> None:
        """Close the pools and stop the workers (callers shield it from cancellation)."""
        try:
            await self.pool.aclose()
            if self.judge_pool is not None:
                await self.judge_pool.aclose()
        finally:
            await self.checks.aclose()
