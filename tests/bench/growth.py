"""Does a run's cost stay flat as it grows? Throughput, CPU, memory and loop lag by run size.

    uv run python -m tests.bench.growth [--pairs 1000,10000,60000] [--input-lines 100000]
        [--concurrency 64] [--per-batch 30] [--startup 3] [--save FILE] [--profile DIR]

Every run is the real console script in its own process against our zero-latency
OpenAI-compatible server in another (it answers each request at once with pairs that
pass every check), `--no-judge`, every check on, the default settings otherwise
(raw files fsynced). Printed for each run:

- pairs/s end to end: kept pairs over the wall time from process start to exit;
- CPU ms per pair: user + system time over the kept pairs (the kernel's figures,
  less sensitive than wall time to other load on the machine), of the client and its
  pair-check workers together (`main` is the client's process alone; the workers are
  the fork server's children, so this bench inherits the fork server when the client
  exits and waits for it: its wait4 figures include the workers it reaped);
- peak memory, three ways: `RSS` the kernel's high-water mark for the client's own
  process; `sum RSS` the peak of the RSS of every process of the run added up (it
  counts the analyser's dictionary, which each worker maps, once per worker, and the
  pages a worker shares with the fork server it came from once per process); `PSS`
  the peak of their proportional set sizes added up (/proc/PID/smaps_rollup: each
  shared page divided among the processes that map it), the memory the run costs
  the machine. Sums are sampled every 0.1 s;
- loop lag p50 / p99: how late the client's event loop ran a timer due every 10 ms
  (client.run.looplag; the run logs it with "run finished"), over the batch phase
  (while requests are in flight: a late loop holds them back) and over the whole run
  (start-up and the dataset rebuild included).

`--input-lines N` adds an input run (`generate --input`) of N lines. `--startup K`
times K tiny runs from process start to the first chat request the server sees.
The machine's load average is printed beside each run: the CPU is shared, and wall
time suffers first. `--save` appends the rows as JSON lines (for
tests/bench/growth_plot.py); `--profile DIR` runs each client under cProfile and
writes DIR/<run>.prof; `--client-path DIR` runs another version of the client.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from client.run.workers import cores
from tests.bench.common import (
    ClientRun,
    become_subreaper,
    fake_server,
    generate_args,
    machine,
    manifest_summary,
    reap_orphans,
    run_client,
)
from tests.bench.inputs import write_input
from tests.cli_helpers import CLIENT, env
from tests.fakeserver import FakeServer


@dataclass
class Row:
    label: str
    kind: str  # "pairs" (free generation) or "input" (generate --input)
    size: int  # pairs asked for, or input lines
    concurrency: int
    pairs: int  # pairs in the dataset
    wall_s: float
    cpu_s: float  # the client and its workers
    peak_rss_mb: float  # the client's own process
    lag_p50_ms: float | None
    lag_p99_ms: float | None
    lag_max_ms: float | None
    batch_lag_p50_ms: float | None
    batch_lag_p99_ms: float | None
    load: str
    main_cpu_s: float | None = None  # the client's own process
    sum_rss_mb: float | None = None
    pss_mb: float | None = None
    workers: int | None = None
    # The run's own figures (its manifest): its batch phase, and the rest (set-up and
    # the dataset rebuilt from the raw files).
    batch_phase_s: float | None = None
    after_batches_s: float | None = None

    @property
    def pairs_per_s(self) -> float:
        return self.pairs / self.wall_s if self.wall_s else 0.0

    @property
    def cpu_ms_per_pair(self) -> float | None:
        return self.cpu_s / self.pairs * 1000 if self.pairs else None

    def line(self) -> str:
        what = f"{self.size:6d} {'pairs' if self.kind == 'pairs' else 'input lines'}"
        per_pair = self.cpu_ms_per_pair
        main = (self.main_cpu_s or 0) / self.pairs * 1000 if self.pairs else float("nan")
        return (
            f"{what:18s} c{self.concurrency:<4d} w{self.workers or 1} {self.pairs:6d} kept  "
            f"wall {self.wall_s:6.1f} s  {self.pairs_per_s:5.0f} pairs/s  "
            f"CPU {self.cpu_s:6.1f} s = {per_pair if per_pair is not None else float('nan'):.2f} "
            f"ms/pair (main {main:.2f})  "
            f"peak MB: RSS {self.peak_rss_mb:3.0f}, sum RSS {self.sum_rss_mb or 0:3.0f}, "
            f"PSS {self.pss_mb or 0:3.0f}  "
            f"lag p50/p99 batches {_ms(self.batch_lag_p50_ms)}/{_ms(self.batch_lag_p99_ms)} ms, "
            f"run {_ms(self.lag_p50_ms)}/{_ms(self.lag_p99_ms)} ms  "
            f"batches {self.batch_phase_s or 0:.1f} s + {self.after_batches_s or 0:.1f} s  "
            f"(load {self.load})"
        )


def _after_batches(summary: dict[str, Any]) -> float | None:
    """The run's wall time less its batch phase, as its manifest has them: the set-up
    (a tenth of a second against this server) and the dataset rebuild."""
    wall, batches = summary.get("wall_s"), summary.get("batch_phase_s")
    return None if wall is None or batches is None else round(wall - batches, 2)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def lag_of(run: ClientRun, key: str = "loop_lag_ms") -> dict[str, Any]:
    """The loop lag the client logged with "run finished" ({} when it did not): the
    whole run's, or with key="batch_loop_lag_ms" the batch phase's."""
    for line in reversed(run.stderr.splitlines()):
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("event") == "run finished":
            return dict(event.get(key) or {})
    return {}


def profiled(profile_dir: Path | None, name: str) -> list[str]:
    if profile_dir is None:
        return []
    profile_dir.mkdir(parents=True, exist_ok=True)
    return [sys.executable, "-m", "cProfile", "-o", str(profile_dir / f"{name}.prof")]


def measure(url: str, out: Path, args: argparse.Namespace, kind: str, size: int, level: int) -> Row:
    run_id = f"{kind}{size}c{level}"
    extra = ["--concurrency", str(level), "--pairs-per-batch", str(args.per_batch), "--no-judge"]
    if args.workers is not None:
        extra += ["--workers", str(args.workers)]
    if kind == "pairs":
        extra += ["--batches", str(math.ceil(size / args.per_batch))]
    else:
        source = out / f"input-{size}.txt"
        write_input(source, size)
        extra += ["--input", str(source)]
    load = load_average()
    run = run_client(
        # Info (the later flag wins): the lag comes with "run finished", and a log
        # line per batch with it.
        [*generate_args(url, out, run_id, *extra), "--log-level", "info"],
        prefix=profiled(args.profile, run_id),
        **client_env(args),
    )
    assert run.code == 0, run.stderr[-2000:]
    summary = manifest_summary(out, run_id)
    pairs = int(summary["dataset"]["pairs_unique"])
    lag, batch_lag = lag_of(run), lag_of(run, "batch_loop_lag_ms")
    return Row(
        label=args.label,
        kind=kind,
        size=size,
        concurrency=level,
        pairs=pairs,
        wall_s=round(run.wall_s, 3),
        cpu_s=round(run.tree_cpu_s, 3),
        peak_rss_mb=round(run.max_rss_mb, 1),
        main_cpu_s=round(run.cpu_s, 3),
        sum_rss_mb=round(run.tree_peak_rss_mb, 1),
        pss_mb=round(run.tree_peak_pss_mb, 1),
        workers=args.workers or cores(),
        batch_phase_s=summary.get("batch_phase_s"),
        after_batches_s=_after_batches(summary),
        lag_p50_ms=lag.get("p50"),
        lag_p99_ms=lag.get("p99"),
        lag_max_ms=lag.get("max"),
        batch_lag_p50_ms=batch_lag.get("p50"),
        batch_lag_p99_ms=batch_lag.get("p99"),
        load=load,
    )


def time_to_first_request(out: Path, runs: int, env_extra: dict[str, str]) -> list[float]:
    """Seconds from starting `client generate` to the server seeing its first chat
    request (the server in this process, so both times are on one clock)."""
    times = []
    with FakeServer(record_bodies=False) as server:
        for i in range(runs):
            args = generate_args(server.base_url, out, f"start{i}", "--batches", "1", "--no-judge")
            start = time.monotonic()
            done = subprocess.run(
                [CLIENT, *args], capture_output=True, text=True, env=env(**env_extra), check=False
            )
            assert done.returncode == 0, done.stderr[-2000:]
            reap_orphans()
            first = min(r.received_at for r in server.chat_requests if r.received_at >= start)
            times.append(first - start)
    return times


def client_env(args: argparse.Namespace) -> dict[str, str]:
    return {"PYTHONPATH": str(args.client_path.resolve())} if args.client_path else {}


def sizes(text: str) -> list[int]:
    return sorted({int(n) for n in text.split(",") if n.strip() and int(n) > 0})


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", default="1000,10000,60000", help="run sizes, comma-separated")
    parser.add_argument("--input-lines", default="100000", help="input-run sizes; 0: none")
    parser.add_argument("--concurrency", default="64", help="levels, comma-separated")
    parser.add_argument("--per-batch", type=int, default=30, help="pairs asked per batch")
    parser.add_argument(
        "--workers", type=int, help="the client's --workers (default: its own, one per core)"
    )
    parser.add_argument("--startup", type=int, default=3, help="start-up runs timed; 0: none")
    parser.add_argument("--label", default="now", help="names these rows in --save")
    parser.add_argument("--save", type=Path, help="append the rows to this JSON-lines file")
    parser.add_argument("--profile", type=Path, help="cProfile each client run into this dir")
    parser.add_argument(
        "--client-path",
        type=Path,
        help="import the client from this source tree (PYTHONPATH), e.g. an earlier commit's "
        "`git archive HEAD~3 client | tar -x -C DIR`, for before/after figures",
    )
    args = parser.parse_args()
    become_subreaper()
    print(f"machine: {machine()}; load {load_average()}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        if args.startup:
            times = time_to_first_request(out, args.startup, client_env(args))
            print(
                f"start-up, process start to first chat request: median "
                f"{statistics.median(times):.2f} s (runs: {', '.join(f'{t:.2f}' for t in times)})"
            )
        rows: list[Row] = []
        with fake_server() as url:
            for level in sizes(args.concurrency):
                plan = [("pairs", n) for n in sizes(args.pairs)]
                plan += [("input", n) for n in sizes(args.input_lines)]
                for kind, size in plan:
                    row = measure(url, out, args, kind, size, level)
                    print(row.line(), flush=True)
                    rows.append(row)
    if args.save is not None:
        with args.save.open("a", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(asdict(row)) + "\n")


if __name__ == "__main__":
    main()
