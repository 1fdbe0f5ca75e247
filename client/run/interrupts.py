"""Ctrl-C and SIGTERM during a run."""

from __future__ import annotations

import os
import signal

import anyio
import structlog

from client.errors import EXIT_SIGINT, EXIT_SIGTERM

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
