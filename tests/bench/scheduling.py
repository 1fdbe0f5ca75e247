"""Scheduling efficiency: B batches at concurrency c against a server with a fixed latency L
should take about ceil(B / c) x L.

    uv run python -m tests.bench.scheduling [--latency 1.0] [--batches 32] [--judge]

The bound is about generation requests, so the judge (on by default in a run, one more
request per batch) is off unless --judge asks for it.

Two times from the run's manifest: the batch phase (first batch scheduled to
last batch finished), which is what the bound is about, and the whole run
(server check and finalising too; process start excluded).
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

from tests.bench.common import fake_server, generate_args, machine, manifest_summary, run_client


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--batches", type=int, default=32)
    parser.add_argument("--levels", default="1,4,16")
    parser.add_argument("--judge", action="store_true", help="judge every batch too")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"{args.batches} batches x 30 pairs, server latency {args.latency:.2f} s")
    print(f"{'c':>3} {'ideal s':>8} {'batches s':>10} {'over ideal':>10} {'whole run s':>12}")
    with fake_server(args.latency) as url, tempfile.TemporaryDirectory() as tmp:
        for level in [int(x) for x in args.levels.split(",")]:
            run = run_client(
                generate_args(
                    url,
                    Path(tmp),
                    f"c{level}",
                    "--batches",
                    str(args.batches),
                    "--concurrency",
                    str(level),
                    *(() if args.judge else ("--no-judge",)),
                )
            )
            assert run.code == 0, run.stderr[-2000:]
            summary = manifest_summary(Path(tmp), f"c{level}")
            phase, wall = float(summary["batch_phase_s"]), float(summary["wall_s"])
            ideal = math.ceil(args.batches / level) * args.latency
            print(
                f"{level:>3} {ideal:>8.2f} {phase:>10.2f} {phase / ideal - 1:>+10.1%} {wall:>12.2f}"
            )


if __name__ == "__main__":
    main()
