"""`client bench`: throughput at several concurrency levels (and batch sizes), and the
combination to use."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from client.cli.args import add_batches, add_logging, add_server, formatter, load_settings_from
from client.cli.shared import api_key, stdout_console
from client.errors import EXIT_FAILED, EXIT_OK

if TYPE_CHECKING:
    from client.run.bench import LevelResult

BENCH_EXAMPLES = """\
examples:
  client bench --concurrency 1,2,4,8
  client bench --concurrency 1,4,16,auto --pairs-per-batch 10,30 --batches 32
  client bench --concurrency 1,4,16 --batches 16 --pairs-per-batch 30 --base-url http://localhost:8000/v1
"""


def _numbers(text: str, what: str) -> list[str]:
    parts = [part.strip() for part in text.split(",")]
    if not text.strip() or any(not part for part in parts):
        raise argparse.ArgumentTypeError(f"expected {what} separated by commas, got {text!r}")
    return parts


def _levels(text: str) -> list[int | str]:
    """`1,4,16,auto`: whole numbers >= 1, and auto at most once."""
    levels: list[int | str] = []
    for part in _numbers(text, "levels like 1,4,16,auto"):
        if part.lower() == "auto":
            if "auto" in levels:
                raise argparse.ArgumentTypeError(f"auto is given twice in {text!r}")
            levels.append("auto")
            continue
        if not part.isdigit() or int(part) < 1:
            raise argparse.ArgumentTypeError(
                f"{part!r} in {text!r} is neither a level (a whole number >= 1) nor auto"
            )
        levels.append(int(part))
    fixed = sorted({level for level in levels if isinstance(level, int)})
    return [*fixed, *(["auto"] if "auto" in levels else [])]


def _shapes(text: str) -> list[int]:
    parts = _numbers(text, "batch sizes like 10,30")
    if any(not part.isdigit() or int(part) < 1 for part in parts):
        raise argparse.ArgumentTypeError(
            f"batch sizes are whole numbers >= 1 (auto is for --concurrency), got {text!r}"
        )
    return sorted({int(part) for part in parts})


def register(sub: Any) -> None:
    bench = sub.add_parser(
        "bench",
        help="measure throughput at several concurrency levels and batch sizes; recommend one",
        description="Run the same batches at each concurrency level (and each batch size) "
        "against the server and print wall time, batches/s, output tokens/s, pairs/min and "
        "batch latency; then recommend the combination that makes the most pairs per "
        "minute among the levels where throughput still pays. A level may be auto (the "
        "tuner of --concurrency auto, from its start). Nothing is written.",
        epilog=BENCH_EXAMPLES,
        formatter_class=formatter,
    )
    add_server(bench)
    batches = add_batches(bench, lists=True)
    batches.add_argument(
        "--concurrency",
        dest="levels",
        type=_levels,
        default=[1, 2, 4, 8],
        metavar="LIST",
        help="comma-separated concurrency levels, auto allowed (default 1,2,4,8)",
    )
    batches.add_argument(
        "--pairs-per-batch",
        dest="shapes",
        type=_shapes,
        default=None,
        metavar="LIST",
        help="comma-separated batch sizes (default: the configured one, 30)",
    )
    add_logging(bench)
    bench.set_defaults(handler=run)


def _settled(r: LevelResult) -> str:
    return "+".join(str(v) for v in r.settled.values()) or "-"


def _label(r: LevelResult) -> str:
    return str(r.concurrency) if r.concurrency != "auto" else f"auto ({_settled(r)})"


def results_table(title: str, results: Sequence[LevelResult]) -> Table:
    table = Table(title=title, title_justify="left")
    columns = ("pairs/batch", "concurrency", "wall s", "batches/s", "output tok/s", "pairs/min")
    for column in (*columns, "p50 latency s", "p95 latency s", "failed"):
        table.add_column(column, justify="right")
    for r in results:
        p50, p95 = r.percentile(0.5), r.percentile(0.95)
        table.add_row(
            str(r.pairs_per_batch),
            _label(r),
            f"{r.wall_s:.2f}",
            f"{r.batches_per_s:.2f}",
            f"{r.tokens_per_s:,.0f}",
            f"{r.pairs_per_min:,.0f}",
            f"{p50:.2f}" if p50 is not None else "-",
            f"{p95:.2f}" if p95 is not None else "-",
            str(r.failed),
        )
    return table


def print_recommendation(
    console: Console, results: Sequence[LevelResult], best: LevelResult
) -> None:
    shape = (
        f"--pairs-per-batch {best.pairs_per_batch} "
        if len({r.pairs_per_batch for r in results}) > 1
        else ""
    )
    flags = f"{shape}--concurrency {best.concurrency}"
    if best.concurrency == "auto":
        why = f"the most pairs/min; it ended at {_settled(best)}"
    else:
        tried = [r.concurrency for r in results if r.pairs_per_batch == best.pairs_per_batch]
        highest = max(int(c) for c in tried if c != "auto")
        if best.concurrency == highest and len(tried) > 1:
            why = "throughput still grew at the highest level tried; try higher levels too"
        else:
            why = "higher levels add less than 10 % output tokens/s"
        if shape:
            why = f"the most pairs/min; at this batch size {why}"
    console.print(f"recommended: {flags} ({why})")
    for r in results:
        same_size = r.pairs_per_batch == best.pairs_per_batch
        if r.concurrency == "auto" and r is not best and same_size and best.tokens_per_s:
            share = r.tokens_per_s / best.tokens_per_s
            console.print(
                f"--concurrency auto made {share:.0%} of that output tok/s (it ended at {_settled(r)})"
            )


def run(args: argparse.Namespace, log_format: str, argv: list[str]) -> int:
    import anyio

    from client.run.bench import recommend_combination, run_bench

    settings = load_settings_from(args)
    model, results = anyio.run(run_bench, settings, api_key(), args.levels, args.shapes or ())
    shapes = ",".join(str(s) for s in sorted({r.pairs_per_batch for r in results}))
    title = f"bench: {settings.generation.total_batches} batches x {shapes} pairs, model {model}"
    console = stdout_console()
    console.print(results_table(title, results))
    best = recommend_combination(results)
    if best is None:
        console.print("no level finished a batch; nothing to recommend")
        return EXIT_FAILED
    print_recommendation(console, results, best)
    return EXIT_OK if all(r.failed == 0 for r in results) else EXIT_FAILED
