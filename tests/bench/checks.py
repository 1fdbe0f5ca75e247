"""Per-pair cost of the Japanese-aware checks and of near-duplicate detection.

    uv run python -m tests.bench.checks [--rounds 20]

Runs every pair of both shipped labelled sets (personas/*/labels.jsonl) through
`PairChecker.check` with its persona's config (analysis included: each round uses
fresh Line objects, as a run does), then through `NearDuplicates.add` over a
growing run of distinct pairs. Prints milliseconds per pair (median of rounds; for the
checks also the fastest round and the CPU time, steadier on a shared machine). The
target is under 1 ms per pair for all the checks.
"""

from __future__ import annotations

import argparse
import statistics
import time

from client.config import load_settings
from client.pairs.analyzer import analyse
from client.pairs.calibration import LabelledItem, parse_labels
from client.pairs.checks import PairChecker
from client.pairs.neardup import NearDuplicates
from tests.bench.common import machine
from tests.helpers import REPO

SETS = ("gyaru", "ojousama")  # each persona with the labelled set in its folder


def _load(name: str) -> list[LabelledItem]:
    path = REPO / "personas" / name / "labels.jsonl"
    return parse_labels(path.read_text(encoding="utf-8"), str(path))


def checks_ms(rounds: int) -> tuple[float, int]:
    wall, _, _, pairs = checks_times(rounds)
    return wall, pairs


def checks_times(rounds: int) -> tuple[float, float, float, int]:
    """Milliseconds per pair: the median and the fastest round (wall clock), and the
    median round in CPU time of this process (steadier on a shared machine)."""
    jobs = []
    for persona in SETS:
        settings = load_settings(persona=persona)
        checker = PairChecker(settings.checks, settings.persona.first_person)
        jobs.append((checker, _load(persona)))
    analyse("辞書を読み込む")  # load the dictionary outside the timing
    pairs = sum(len(items) for _, items in jobs)
    times, cpu = [], []
    for _ in range(rounds):
        start, start_cpu = time.perf_counter(), time.process_time()
        for checker, items in jobs:
            for item in items:
                checker.check(item.standard, item.gyaru)
        times.append((time.perf_counter() - start) / pairs * 1000)
        cpu.append((time.process_time() - start_cpu) / pairs * 1000)
    return statistics.median(times), min(times), statistics.median(cpu), pairs


def neardup_ms(rounds: int) -> tuple[float, int, int]:
    settings = load_settings(persona="gyaru")
    items = _load("gyaru")
    times, kept = [], 0
    for _ in range(rounds):
        near = NearDuplicates(settings.checks.near_duplicate)
        start = time.perf_counter()
        # Ten variants of every pair (a different place name in each): a run of ~1000 pairs.
        for k, place in enumerate(
            ["東京", "大阪", "京都", "札幌", "福岡", "横浜", "神戸", "仙台", "広島", "那覇"]
        ):
            for i, item in enumerate(items):
                near.add(f"{k}-{i}", f"{place}で{item.standard}", f"{place}で{item.gyaru}")
        times.append((time.perf_counter() - start) / (10 * len(items)) * 1000)
        kept = len(near)
    return statistics.median(times), kept, 10 * len(items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    print(machine())
    start = time.perf_counter()
    analyse("初回")
    print(f"dictionary load (first analysis): {(time.perf_counter() - start) * 1000:.0f} ms")
    ms, fastest, cpu, pairs = checks_times(args.rounds)
    print(
        f"checks: {ms:.3f} ms per pair (median of {args.rounds} rounds over {pairs} pairs;"
        f" fastest round {fastest:.3f} ms, CPU time {cpu:.3f} ms)"
    )
    ms, kept, added = neardup_ms(max(args.rounds // 4, 1))
    print(f"near-duplicates: {ms:.3f} ms per pair ({kept} of {added} kept)")


if __name__ == "__main__":
    main()
