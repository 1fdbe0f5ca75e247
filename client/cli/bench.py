"""`client bench`: throughput at several concurrency levels, and the level to use."""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from client.cli.args import add_batches, add_logging, add_server, formatter, load_settings_from
from client.cli.shared import api_key, stdout_console
from client.errors import EXIT_FAILED, EXIT_OK

BENCH_EXAMPLES = """\
examples:
  client bench --concurrency 1,2,4,8
  client bench --concurrency 1,4,16 --batches 16 --pairs-per-batch 30 --base-url http://localhost:8000/v1
"""


def _levels(text: str) -> list[int]:
    try:
        levels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers like 1,2,4,8, got {text!r}") from None
    if not levels or any(level < 1 for level in levels):
        raise argparse.ArgumentTypeError(f"concurrency levels must be >= 1, got {text!r}")
    return sorted(set(levels))


def register(sub: Any) -> None:
    bench = sub.add_parser(
        "bench",
        help="measure throughput at several concurrency levels and recommend one",
        description="Run the same batches at each concurrency level against the server and "
        "print wall time, batches/s, output tokens/s, pairs/min and batch latency; then "
        "recommend the level past which throughput stops growing. Nothing is written.",
        epilog=BENCH_EXAMPLES,
        formatter_class=formatter,
    )
    add_server(bench)
    batches = add_batches(bench, concurrency=False)
    batches.add_argument(
        "--concurrency",
        dest="levels",
        type=_levels,
        default=[1, 2, 4, 8],
        metavar="LIST",
        help="comma-separated concurrency levels (default 1,2,4,8)",
    )
    add_logging(bench)
    bench.set_defaults(handler=run)


def run(args: argparse.Namespace, log_format: str, argv: list[str]) -> int:
    import anyio

    from client.run.bench import recommend, run_bench

    settings = load_settings_from(args)
    model, results = anyio.run(run_bench, settings, api_key(), args.levels)
    table = Table(
        title=f"bench: {settings.generation.total_batches} batches x {settings.generation.num_pairs_per_batch} pairs, model {model}",
        title_justify="left",
    )
    for column in (
        "concurrency",
        "wall s",
        "batches/s",
        "output tok/s",
        "pairs/min",
        "p50 latency s",
        "p95 latency s",
        "failed",
    ):
        table.add_column(column, justify="right")
    for r in results:
        p50, p95 = r.percentile(0.5), r.percentile(0.95)
        table.add_row(
            str(r.concurrency),
            f"{r.wall_s:.2f}",
            f"{r.batches_per_s:.2f}",
            f"{r.tokens_per_s:,.0f}",
            f"{r.pairs_per_min:,.0f}",
            f"{p50:.2f}" if p50 is not None else "-",
            f"{p95:.2f}" if p95 is not None else "-",
            str(r.failed),
        )
    console = stdout_console()
    console.print(table)
    best = recommend(results)
    if best is None:
        console.print("no level finished a batch; nothing to recommend")
        return EXIT_FAILED
    if best == max(r.concurrency for r in results) and len(results) > 1:
        console.print(
            f"recommended: --concurrency {best} (throughput still grew at the highest level "
            "tried; try higher levels too)"
        )
    else:
        console.print(
            f"recommended: --concurrency {best} (higher levels add less than 10 % output tokens/s)"
        )
    return EXIT_OK if all(r.failed == 0 for r in results) else EXIT_FAILED
