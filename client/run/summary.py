"""What a run ends with: its status, its numbers, its files, its exit code, and the
command that resumes it."""

from __future__ import annotations

import os
import shlex
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from client.errors import EXIT_FAILED, EXIT_OK, EXIT_SIGINT, EXIT_SIGTERM
from client.run.looplag import LagSummary
from client.run.progress import LiveStats
from client.storage.processed import DatasetStats

RunStatus = Literal["complete", "incomplete", "interrupted"]


@dataclass
class RunSummary:
    run_id: str
    status: RunStatus
    model: str | None
    endpoints: list[str]
    stats: DatasetStats
    wall_s: float
    batches_planned: int
    batches_skipped: int
    live: LiveStats
    target_pairs: int | None
    files: dict[str, str]
    endpoint_served: dict[str, int] = field(default_factory=dict)
    interrupted_by: int | None = None
    resume_command: str | None = None
    # {"mode": "fixed", "level": N}, or what --concurrency auto did on each endpoint.
    concurrency: dict[str, Any] = field(default_factory=dict)
    # How late the event loop ran what was due while batches were in flight (None when
    # none were sent): the part of a run where a busy loop holds requests back.
    batch_loop_lag: LagSummary | None = None

    @property
    def pairs_per_minute(self) -> float:
        return self.live.unique_pairs / (self.wall_s / 60) if self.wall_s > 0 else 0.0

    @property
    def target_reached(self) -> bool | None:
        if self.target_pairs is None:
            return None
        return self.stats.pairs_unique >= self.target_pairs

    @property
    def exit_code(self) -> int:
        if self.interrupted_by == signal.SIGTERM:
            return EXIT_SIGTERM
        if self.interrupted_by is not None:
            return EXIT_SIGINT
        # Every batch answered but nothing survived validation is not a success either.
        ok = self.status == "complete" and self.stats.pairs_unique > 0
        return EXIT_OK if ok else EXIT_FAILED

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "model": self.model,
            "endpoints": self.endpoints,
            "wall_s": round(self.wall_s, 3),
            "batch_phase_s": round(self.live.batch_phase_s, 3),
            "batches_planned": self.batches_planned,
            "batches_skipped_as_done": self.batches_skipped,
            "batches_run": self.live.batches_done,
            "retries": self.live.retries,
            "judge_retries": self.live.judge_retries,
            "pairs_per_minute": round(self.pairs_per_minute, 1),
            "target_pairs": self.target_pairs,
            "target_reached": self.target_reached,
            "endpoint_served": self.endpoint_served,
            "concurrency": self.concurrency,
            "dataset": self.stats.to_json(),
            "files": self.files,
        }


def resume_command(argv: Sequence[str], run_id: str) -> str:
    """The command line that continues this run: the same one, with --run-id set."""
    args: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--run-id":
            skip = True
            continue
        if arg.startswith("--run-id="):
            continue
        args.append(arg)
    prefix = ["uv", "run", "client"] if "UV" in os.environ else ["client"]
    return shlex.join([*prefix, *args, "--run-id", run_id])


def describe_concurrency(concurrency: dict[str, Any]) -> str:
    """One line for the summary table: `4`, or where auto ended on each endpoint."""
    if concurrency.get("mode") != "auto":
        return str(concurrency.get("level", "-"))
    endpoints: dict[str, Any] = concurrency.get("endpoints") or {}
    if not endpoints:
        return "auto (no batch ran)"
    parts = []
    for url, e in endpoints.items():
        where = f" on {url}" if len(endpoints) > 1 else ""
        source = e.get("source") or (
            "/metrics" if e["signals"] == "metrics" else "the client's own signals"
        )
        parts.append(f"{e['level']}{where} (highest {e['highest']}, from {source})")
    return "auto, ended at " + "; ".join(parts)
