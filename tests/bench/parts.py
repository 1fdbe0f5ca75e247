"""The pair-level parts of a run that grow with it, each measured on its own.

    uv run python -m tests.bench.parts [--pairs 6000] [--client-path DIR]

`--client-path DIR` measures another version of client/ (a `git archive` of an
earlier commit unpacked in DIR), in this process and in the resumed run.

Over the fake server's corpus pairs (tests/pair_corpus.py), in this process:
- the near-duplicate index, pairs added one at a time as a run adds them: CPU per
  pair, and the bytes a kept pair holds (tracemalloc);
- the phrase hint: a batch's persona lines added, then the hint asked for, as before
  every batch of a run;
- the diversity report's tally of a line (its words worked out beforehand, so the
  tally alone is timed);
then the dataset rebuild as a run ends: a finished 10,000-pair run resumed (start-up,
the server check, the rebuild), its CPU and peak RSS from the kernel.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from tests.bench.common import fake_server, generate_args, machine, run_client
from tests.pair_corpus import pair_text


def near_duplicates(pairs: list[tuple[str, str]]) -> tuple[float, float]:
    """CPU µs and traced bytes per pair added."""
    from client.config.checks import NearDuplicateRules
    from client.pairs.neardup import NearDuplicates

    def filled() -> NearDuplicates:
        near = NearDuplicates(NearDuplicateRules())
        near.add("warm-up", "あいうえお", "かきくけこあーし")  # first use: imports, tables
        return near

    near = filled()
    start = time.process_time()
    for i, (standard, gyaru) in enumerate(pairs):
        near.add(f"run-b{i // 30:04d}-{i % 30:03d}", standard, gyaru)
    spent = (time.process_time() - start) / len(pairs) * 1e6
    gc.collect()
    tracemalloc.start()
    near = filled()
    base = tracemalloc.get_traced_memory()[0]
    for i, (standard, gyaru) in enumerate(pairs):
        near.add(f"run-b{i // 30:04d}-{i % 30:03d}", standard, gyaru)
    held = (tracemalloc.get_traced_memory()[0] - base) / len(pairs)
    tracemalloc.stop()
    return spent, held


def phrase_hint(pairs: list[tuple[str, str]]) -> float:
    """CPU ms per 30-pair batch: add its lines, ask for the hint."""
    from client.pairs.phrases import PhraseCounter

    counter = PhraseCounter(first_person="あーし")
    start = time.process_time()
    for b in range(0, len(pairs), 30):
        counter.add(gyaru for _, gyaru in pairs[b : b + 30])
        counter.hint()
    return (time.process_time() - start) / (len(pairs) / 30) * 1e3


def diversity_tally(pairs: list[tuple[str, str]]) -> float:
    """CPU µs per line tallied (words worked out beforehand)."""
    from client.pairs.diversity import DiversityTally, words_without

    words = words_without("あーし")
    known = {gyaru: words(gyaru) for _, gyaru in pairs}
    tally = DiversityTally(
        markers=["マジ", "じゃん"], first_person="あーし", words=lambda line: known[line]
    )
    start = time.process_time()
    for _, gyaru in pairs:
        tally.add(gyaru)
    tally.report()
    return (time.process_time() - start) / len(pairs) * 1e6


def rebuild(rounds: int, client_path: Path | None) -> None:
    """A finished 10,000-pair run, resumed: start-up and the dataset rebuild."""
    extra = {"PYTHONPATH": str(client_path)} if client_path else {}
    with fake_server() as url, tempfile.TemporaryDirectory() as tmp:
        args = generate_args(
            url, Path(tmp), "rb", "--batches", "334", "--concurrency", "64", "--no-judge"
        )
        assert run_client(args, **extra).code == 0
        for _ in range(rounds):
            run = run_client(args, **extra)
            assert run.code == 0, run.stderr[-1000:]
            print(
                f"a finished 10,000-pair run resumed (start-up + rebuild): wall "
                f"{run.wall_s:.1f} s, CPU {run.cpu_s:.1f} s, peak RSS {run.max_rss_mb:.0f} MB"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=6000)
    parser.add_argument("--rebuilds", type=int, default=2, help="resumed runs timed; 0: none")
    parser.add_argument("--client-path", type=Path, help="import client/ from this tree")
    args = parser.parse_args()
    if args.client_path:
        # Before anything imports client (nothing here has yet).
        sys.path.insert(0, str(args.client_path.resolve()))
        args.client_path = args.client_path.resolve()
    print(f"machine: {machine()}; load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    pairs = [pair_text(n) for n in range(args.pairs)]
    spent, held = near_duplicates(pairs)
    print(f"near-duplicate index: {spent:.0f} us and {held:.0f} bytes (traced) a pair")
    print(f"phrase hint: {phrase_hint(pairs):.2f} ms a batch (add its lines, ask for the hint)")
    print(f"diversity tally: {diversity_tally(pairs):.1f} us a line")
    if args.rebuilds:
        rebuild(args.rebuilds, args.client_path)


if __name__ == "__main__":
    main()
