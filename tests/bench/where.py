"""Where a run's time and memory go: one `client generate` in this process, profiled.

    uv run python -m tests.bench.where [--pairs 6000 | --input-lines N] [--concurrency 64]
        [--cpu | --memory]

The run is the real command (`client.cli.main.main`) against our zero-latency server
in its own process, `--no-judge`, every check on. `--cpu` (the default) runs it under
cProfile and prints the functions that took the most time, in microseconds per kept
pair, by their own time and with what they call. `--memory` runs it under tracemalloc
and prints what is still allocated, by source line, just before the dataset rebuild
(when everything the run keeps for its whole length is at its largest) and the peak,
in bytes per kept pair: what grows with a run shows up at the top.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import math
import pstats
import tempfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.bench.common import fake_server, generate_args, machine
from tests.bench.inputs import write_input


def run_args(url: str, out: Path, args: argparse.Namespace) -> list[str]:
    if args.input_lines:
        source = out / "input.txt"
        write_input(source, args.input_lines)
        size = ["--input", str(source)]
    else:
        size = ["--batches", str(math.ceil(args.pairs / args.per_batch))]
    return generate_args(
        url,
        out,
        "where",
        *size,
        "--pairs-per-batch",
        str(args.per_batch),
        "--concurrency",
        str(args.concurrency),
        "--no-judge",
    )


def kept_pairs(out: Path) -> int:
    manifest = json.loads((out / "raw" / "where" / "manifest.json").read_text(encoding="utf-8"))
    return int(manifest["summary"]["dataset"]["pairs_unique"])


def profile_cpu(argv: list[str], out: Path, top: int) -> None:
    from client.cli.main import main

    # The rebuild at the end runs in a worker thread, which cProfile does not follow:
    # it gets a profiler of its own, added in below.
    rebuild = cProfile.Profile()
    patch_finalise(rebuild.runcall)
    profiler = cProfile.Profile()
    code = profiler.runcall(main, argv)
    assert code == 0, f"the run exited {code}"
    pairs = kept_pairs(out)
    stats = pstats.Stats(profiler)
    stats.add(rebuild)
    total = stats.total_tt  # type: ignore[attr-defined]
    rebuilt = pstats.Stats(rebuild).total_tt  # type: ignore[attr-defined]
    print(f"the rebuild at the end: {rebuilt:.1f} s = {rebuilt / pairs * 1e6:.0f} us a pair")
    print(f"{pairs} pairs kept; {total:.1f} s profiled = {total / pairs * 1e6:.0f} us a pair")
    print_top(stats, pairs, top, "the whole run, by own time", cumulative=False)
    print_top(stats, pairs, top, "the whole run, with callees", cumulative=True)
    print_top(pstats.Stats(rebuild), pairs, top, "the rebuild alone, with callees", cumulative=True)


def print_top(stats: pstats.Stats, pairs: int, top: int, title: str, *, cumulative: bool) -> None:
    print(f"\n{title} (us a kept pair):")
    rows: list[Any] = sorted(
        stats.stats.items(),  # type: ignore[attr-defined]
        key=lambda kv: kv[1][3] if cumulative else kv[1][2],
        reverse=True,
    )
    for (path, line, name), (_, calls, own, with_callees, _) in rows[:top]:
        spent = with_callees if cumulative else own
        where = f"{Path(path).name}:{line}" if line else path
        print(f"  {spent / pairs * 1e6:8.1f}  {calls:9d} calls  {name}  ({where})")


def patch_finalise(wrap: Callable[[Callable[[], Any]], Any]) -> None:
    """Run the last phase (the dataset rebuild) as `wrap(finalise_it)`."""
    import client.run.finalise as finalise_module
    import client.run.generate as generate_module

    original = finalise_module.finalise
    # generate imported the name: patch it where it is called from.
    generate_module.finalise = lambda session, sink: wrap(lambda: original(session, sink))  # type: ignore[attr-defined]


class _SnapshotAtEnd:
    """A rebuild hook whose `finish` (after the last record, with every structure of
    the rebuild still alive) takes a tracemalloc snapshot."""

    def __init__(self, snapshots: dict[str, tracemalloc.Snapshot]) -> None:
        self._snapshots = snapshots

    def record(self, record: Any) -> None:
        return None

    def pair(self, batch: int, pair: dict[str, Any]) -> None:
        return None

    def finish(self, stats: Any) -> None:
        gc.collect()
        self._snapshots[f"at the end of the rebuild (RSS {rss_mb()} MB)"] = (
            tracemalloc.take_snapshot()
        )


def rss_mb() -> int:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) // 1024


def profile_memory(argv: list[str], out: Path, top: int) -> None:
    import client.run.finalise as finalise_module
    from client.cli.main import main

    snapshots: dict[str, tracemalloc.Snapshot] = {}

    def before_rebuild(finalise_it: Callable[[], Any]) -> Any:
        gc.collect()  # what is still held, not garbage waiting for a collection
        snapshots[f"just before the rebuild (RSS {rss_mb()} MB)"] = tracemalloc.take_snapshot()
        return finalise_it()

    patch_finalise(before_rebuild)
    hooks = finalise_module._hooks
    finalise_module._hooks = lambda sink, words: [*hooks(sink, words), _SnapshotAtEnd(snapshots)]  # type: ignore[assignment]
    tracemalloc.start(1)
    code = main(argv)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert code == 0, f"the run exited {code}"
    pairs = kept_pairs(out)
    print(f"{pairs} pairs kept; traced peak {peak / 2**20:.1f} MB = {peak / pairs:.0f} B a pair")
    for when, snapshot in snapshots.items():
        stats = snapshot.statistics("lineno")
        held = sum(s.size for s in stats)
        print(f"\nheld {when}: {held / 2**20:.1f} MB = {held / pairs:.0f} B a pair; largest:")
        for stat in stats[:top]:
            frame = stat.traceback[0]
            print(
                f"  {stat.size / 2**20:7.2f} MB {stat.size / pairs:7.0f} B/pair  "
                f"{stat.count:8d} blocks  {Path(frame.filename).name}:{frame.lineno}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=6000)
    parser.add_argument("--input-lines", type=int, help="an input run of this many lines instead")
    parser.add_argument("--per-batch", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--top", type=int, default=25, help="rows to print")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--cpu", action="store_true", help="cProfile (the default)")
    mode.add_argument("--memory", action="store_true", help="tracemalloc")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    from client.log import configure

    configure("warning", "json")
    with fake_server() as url, tempfile.TemporaryDirectory() as tmp:
        argv = run_args(url, Path(tmp), args)
        if args.memory:
            profile_memory(argv, Path(tmp), args.top)
        else:
            profile_cpu(argv, Path(tmp), args.top)


if __name__ == "__main__":
    main()
