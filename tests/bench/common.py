"""Shared pieces of the benchmarks: a server in its own process, the client measured from outside."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.cli_helpers import CLIENT, env, gen_args
from tests.helpers import REPO


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def fake_server(latency_s: float = 0.0) -> Iterator[str]:
    """Our OpenAI-compatible test server in a separate process, so its CPU is not the client's."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakeserver",
            "--port",
            str(port),
            "--latency",
            str(latency_s),
            "--no-record",
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", port), timeout=0.2),
            ):
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(10)


@dataclass
class ClientRun:
    code: int
    wall_s: float
    user_s: float
    sys_s: float
    max_rss_mb: float
    stdout: str
    stderr: str

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s


def run_client(args: list[str], prefix: Sequence[str] = (), **env_extra: str) -> ClientRun:
    """Run the console script and read its own CPU time and peak memory from the kernel.
    With a `prefix` (a profiler: `python -m cProfile -o FILE`), the client runs as
    `PREFIX -m client.cli.main ARGS` under it."""
    command = [*prefix, "-m", "client.cli.main"] if prefix else [CLIENT]
    # Both streams go to files: reading one pipe to its end while the client fills the
    # other (a log line per batch) would stall it.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [*command, *args], stdout=out, stderr=err, text=True, env=env(**env_extra)
        )
        # wait4 gives this child's rusage alone (not its siblings', as RUSAGE_CHILDREN would).
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return ClientRun(
            proc.returncode,
            wall,
            usage.ru_utime,
            usage.ru_stime,
            usage.ru_maxrss / 1024,
            out.read(),
            err.read(),
        )


def generate_args(base_url: str, out: Path, run_id: str, *extra: str) -> list[str]:
    # The tests' command line, with only warnings logged: a log line per batch would
    # be part of what is measured.
    return gen_args(base_url, out, "--log-level", "warning", *extra, run_id=run_id)


def manifest_summary(out: Path, run_id: str) -> dict[str, Any]:
    manifest = json.loads((out / "raw" / run_id / "manifest.json").read_text(encoding="utf-8"))
    return dict(manifest["summary"])


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}"
