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
import threading
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


# This process's children that are servers, not a client's: never reaped as orphans.
SERVERS: set[int] = set()


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
    SERVERS.add(proc.pid)
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
        SERVERS.discard(proc.pid)


@dataclass
class ClientRun:
    """A client run measured from outside. The client's own figures come from the
    kernel (wait4); `tree_*` add its worker processes, which wait4 on the client does
    not include (they are the fork server's children, not the client's)."""

    code: int
    wall_s: float
    user_s: float
    sys_s: float
    max_rss_mb: float
    stdout: str
    stderr: str
    # CPU seconds of the client and every process under it (exact: see ProcessTree).
    tree_cpu_s: float = 0.0
    # Peaks of the sum over the tree, sampled every `SAMPLE_S`: RSS counts the pages a
    # process maps once per process (the analyser's dictionary, mapped by each worker,
    # and the pages a worker shares with the fork server it came from); PSS divides
    # each shared page among the processes sharing it, so the sum is the memory the
    # run costs the machine.
    tree_peak_rss_mb: float = 0.0
    tree_peak_pss_mb: float = 0.0
    processes: int = 1

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s


PR_SET_CHILD_SUBREAPER = 36
SAMPLE_S = 0.1


def become_subreaper() -> None:
    """Let this process inherit the client's orphans (its fork server outlives it by a
    moment), so their CPU, and that of the workers they reaped, is waited for here."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def _stat_fields(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def descendants(pid: int) -> list[int]:
    """Every process under `pid`, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            children.setdefault(int(_stat_fields(int(stat.parent.name))[1]), []).append(
                int(stat.parent.name)
            )
    found, todo = [], [pid]
    while todo:
        below = children.get(todo.pop(), [])
        found += below
        todo += below
    return found


def _kb(path: str, field: str) -> int:
    """A `field:  N kB` line of a /proc file (0 when the process is gone)."""
    with contextlib.suppress(OSError):
        for line in Path(path).read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    return 0


class ProcessTree:
    """Samples the memory of a process and everything under it, in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_rss_kb = 0
        self.peak_pss_kb = 0
        self.most = 1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_S):
            pids = [self.pid, *descendants(self.pid)]
            rss = sum(_kb(f"/proc/{p}/status", "VmRSS:") for p in pids)
            pss = sum(_kb(f"/proc/{p}/smaps_rollup", "Pss:") for p in pids)
            self.peak_rss_kb = max(self.peak_rss_kb, rss)
            self.peak_pss_kb = max(self.peak_pss_kb, pss)
            self.most = max(self.most, len(pids))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def reap_orphans(keep: Sequence[int] = (), wait_s: float = 10) -> float:
    """CPU seconds of this process's children other than `keep` and `SERVERS` (the
    client's orphans, once it has exited), each waited for: wait4 gives its own and
    its reaped children's."""
    keep = [*keep, *SERVERS]
    total = 0.0
    deadline = time.monotonic() + wait_s
    for pid in descendants(os.getpid()):
        with contextlib.suppress(OSError, IndexError):
            if pid in keep or int(_stat_fields(pid)[1]) != os.getpid():
                continue
        while time.monotonic() < deadline:
            try:
                done, _, usage = os.wait4(pid, os.WNOHANG)
            except ChildProcessError:
                break
            if done:
                total += usage.ru_utime + usage.ru_stime
                break
            time.sleep(0.02)
    return total


def run_client(
    args: list[str], *, prefix: Sequence[str] = (), keep: Sequence[int] = (), **env_extra: str
) -> ClientRun:
    """Run the console script and read its own CPU time and peak memory from the kernel,
    and those of its whole process tree (`keep`: this process's other children, a
    server, which are not the client's). With a `prefix` (a profiler: `python -m
    cProfile -o FILE`), the client runs as `PREFIX -m client.cli.main ARGS` under it."""
    command = [*prefix, "-m", "client.cli.main"] if prefix else [CLIENT]
    # Children this process had before the client (a server it started) are not the
    # client's orphans: waiting for them would hold every run for reap_orphans' wait.
    keep = [*keep, *descendants(os.getpid())]
    # Both streams go to files: reading one pipe to its end while the client fills the
    # other (a log line per batch) would stall it.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [*command, *args], stdout=out, stderr=err, text=True, env=env(**env_extra)
        )
        tree = ProcessTree(proc.pid)
        # wait4 gives this child's rusage alone (not its siblings', as RUSAGE_CHILDREN
        # would), with the children it reaped itself.
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        tree.stop()
        orphans_cpu = reap_orphans(keep)
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
            tree_cpu_s=usage.ru_utime + usage.ru_stime + orphans_cpu,
            tree_peak_rss_mb=tree.peak_rss_kb / 1024,
            tree_peak_pss_mb=tree.peak_pss_kb / 1024,
            processes=tree.most,
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
