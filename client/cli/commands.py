"""The subcommands other than generate: check, export, stats, bench.

Each registers its parser here and keeps its work in its own module; the
handlers only turn arguments into calls and results into tables.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog
from rich.console import Console
from rich.table import Table

from client.errors import EXIT_FAILED, EXIT_OK, UsageError

log = structlog.get_logger("client.cli.commands")

AddGroup = Callable[..., Any]

CHECK_EXAMPLES = """\
examples:
  client check
  client check --base-url http://gpu-box:8000/v1 --wait 600
"""

EXPORT_EXAMPLES = """\
examples:
  client export outputs/processed/gyaru_dataset_20261128-101500-a1b2.json --format openai-chat --out train.jsonl
  client export 20261128-101500-a1b2 --format sharegpt --out data/sharegpt.jsonl --val-fraction 0.1
  client export 20261128-101500-a1b2 --format alpaca --out reverse.jsonl --reverse
"""

STATS_EXAMPLES = """\
examples:
  client stats 20261128-101500-a1b2
  client stats outputs/processed/gyaru_dataset_20261128-101500-a1b2.json --samples 10 --json
"""

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


def register(
    sub: Any,
    *,
    formatter: Callable[[str], argparse.HelpFormatter],
    add_server: AddGroup,
    add_batches: AddGroup,
    add_logging: AddGroup,
) -> None:
    check = sub.add_parser(
        "check",
        help="is the server ready? models, a one-token completion, structured output",
        description="Check the configured server(s): reachable, models served and their "
        "max_model_len, a one-token completion and its latency, and structured output with "
        "this project's schema. Exit 0 when ready.",
        epilog=CHECK_EXAMPLES,
        formatter_class=formatter,
    )
    add_server(check)
    add_logging(check)
    check.set_defaults(handler=run_check_command)

    export = sub.add_parser(
        "export",
        help="write a dataset as fine-tuning JSONL (openai-chat, alpaca, sharegpt)",
        description="One training example per pair: the user turn holds the standard line, "
        "the assistant turn the gyaru line (or the other way round with --reverse).",
        epilog=EXPORT_EXAMPLES,
        formatter_class=formatter,
    )
    export.add_argument("source", help="a processed dataset file, or a run id")
    export.add_argument("--format", choices=("openai-chat", "alpaca", "sharegpt"), required=True)
    export.add_argument("--out", type=Path, required=True, metavar="FILE.jsonl")
    export.add_argument(
        "--system", help="system text (default: export.system_prompt in the config)"
    )
    export.add_argument("--no-system", action="store_true", help="no system turn / instruction")
    export.add_argument("--reverse", action="store_true", help="gyaru in, standard out")
    export.add_argument(
        "--val-fraction",
        type=float,
        default=0.0,
        metavar="F",
        help="also write FILE.val.jsonl with this share of the pairs (e.g. 0.1)",
    )
    export.add_argument("--seed", type=int, default=0, help="seed of the train/validation split")
    export.add_argument(
        "--config",
        type=Path,
        default=None,
        help="config whose export.system_prompt to use (default: the one the dataset was made with)",
    )
    export.add_argument(
        "--output-dir", type=Path, metavar="DIR", help="where run ids are looked up"
    )
    add_logging(export)
    export.set_defaults(handler=run_export_command)

    stats = sub.add_parser(
        "stats",
        help="counts, topic balance, lengths, quality, and sample pairs of a dataset",
        epilog=STATS_EXAMPLES,
        formatter_class=formatter,
    )
    stats.add_argument("source", help="a processed dataset file, or a run id")
    stats.add_argument("--samples", type=int, default=5, metavar="N", help="random pairs to show")
    stats.add_argument("--seed", type=int, default=None, help="seed for the sample")
    stats.add_argument("--json", action="store_true", help="print the numbers as JSON")
    stats.add_argument(
        "--config",
        type=Path,
        default=None,
        help="config whose persona to count (default: the one the dataset was made with)",
    )
    stats.add_argument("--output-dir", type=Path, metavar="DIR", help="where run ids are looked up")
    add_logging(stats)
    stats.set_defaults(handler=run_stats_command)

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
    bench.set_defaults(handler=run_bench_command)


def _console() -> Console:
    from client.cli import stdout_console

    console: Console = stdout_console()
    return console


def _settings(args: argparse.Namespace) -> Any:
    from client.cli import load_settings_from

    return load_settings_from(args)


def _api_key() -> Any:
    from client.config import api_key_from_env
    from client.redact import register_secret

    key = api_key_from_env()
    register_secret(key.get_secret_value() if key else None)
    return key


def run_check_command(args: argparse.Namespace, log_format: str, argv: list[str]) -> int:
    import anyio

    from client.run.check import run_check

    settings = _settings(args)
    results = anyio.run(run_check, settings, _api_key())
    table = Table(title="server check", title_justify="left")
    for column in (
        "endpoint",
        "reachable",
        "models (max_model_len)",
        "1-token completion",
        "structured output",
        "problems",
    ):
        table.add_column(column)
    for r in results:
        models = ", ".join(f"{m.id} ({m.max_model_len or '?'})" for m in r.models) or "-"
        table.add_row(
            r.url,
            "yes" if r.reachable else "no",
            models,
            f"{r.completion_s * 1000:.0f} ms" if r.completion_s is not None else "-",
            "-"
            if r.structured_ok is None
            else f"ok ({r.structured_s:.1f} s)"
            if r.structured_ok and r.structured_s
            else "FAILED",
            "; ".join(r.problems) or "ready",
        )
    _console().print(table)
    ready = all(r.ready for r in results)
    for r in results:
        if r.ready:
            log.info("server ready", endpoint=r.url, model=r.model)
        else:
            log.error("server not ready: " + "; ".join(r.problems), endpoint=r.url)
    return EXIT_OK if ready else EXIT_FAILED


def _output_dir(args: argparse.Namespace) -> tuple[Path, Any]:
    from client.config import load_settings

    settings = load_settings(args.config)
    return (args.output_dir or settings.output.output_dir), settings


def _dataset_settings(args: argparse.Namespace, dataset: Any, fallback: Any) -> Any:
    """The settings a dataset was made with (its metadata keeps a snapshot), unless the
    user named a config: an お嬢様 dataset exports with the お嬢様 system prompt."""
    from pydantic import ValidationError

    from client.config import Settings

    snapshot = dataset.metadata.get("config")
    if args.config is not None or not isinstance(snapshot, dict):
        return fallback
    try:
        return Settings.model_validate(snapshot)
    except ValidationError:
        log.warning("the dataset's config snapshot is not readable here; using the current config")
        return fallback


def run_export_command(args: argparse.Namespace, log_format: str, argv: list[str]) -> int:
    from client.pairs.export import example, split, write_jsonl
    from client.storage.dataset import load_dataset

    if not 0 <= args.val_fraction < 1:
        raise UsageError(f"--val-fraction {args.val_fraction}: must be in [0, 1)")
    output_dir, settings = _output_dir(args)
    dataset = load_dataset(args.source, output_dir)
    settings = _dataset_settings(args, dataset, settings)
    if args.no_system:
        system = None
    elif args.system is not None:
        system = args.system
    else:
        system = (
            settings.export.reverse_system_prompt if args.reverse else settings.export.system_prompt
        )
    train, val = split(dataset.pairs, args.val_fraction, seed=args.seed)
    out: Path = args.out
    try:
        written = {
            str(out): write_jsonl(
                out, (example(p, args.format, system=system, reverse=args.reverse) for p in train)
            )
        }
        if val:
            val_path = out.with_name(f"{out.stem}.val{out.suffix or '.jsonl'}")
            written[str(val_path)] = write_jsonl(
                val_path,
                (example(p, args.format, system=system, reverse=args.reverse) for p in val),
            )
    except OSError as exc:
        raise UsageError(f"cannot write {exc.filename or out}: {exc.strerror or exc}") from None
    for path, count in written.items():
        log.info(
            "exported", path=path, examples=count, format=args.format, source=str(dataset.path)
        )
    return EXIT_OK


def run_stats_command(args: argparse.Namespace, log_format: str, argv: list[str]) -> int:
    import random

    from client.pairs.stats import describe
    from client.storage.dataset import load_dataset

    output_dir, settings = _output_dir(args)
    dataset = load_dataset(args.source, output_dir)
    settings = _dataset_settings(args, dataset, settings)
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    report = describe(
        dataset.pairs,
        first_person=settings.persona.first_person,
        samples=max(args.samples, 0),
        seed=seed,
    )
    if args.json:
        sys.stdout.write(
            json.dumps(
                {"source": str(dataset.path), **report.to_json()}, ensure_ascii=False, indent=2
            )
            + "\n"
        )
        return EXIT_OK
    console = _console()
    overview = Table(
        title=f"{dataset.path}: {report.count} pairs", title_justify="left", show_header=False
    )
    overview.add_column("what", style="bold")
    overview.add_column("value")
    total = max(report.count, 1)
    overview.add_row("pairs", str(report.count))
    overview.add_row(
        "topics", ", ".join(f"{t} {n} ({n / total:.0%})" for t, n in report.topics.items()) or "-"
    )
    for name, dist in (
        ("standard chars", report.standard_chars),
        ("gyaru chars", report.gyaru_chars),
        ("quality", report.quality),
    ):
        if dist is not None:
            overview.add_row(
                name,
                f"min {dist.minimum} · p50 {dist.p50} · mean {dist.mean} · p90 {dist.p90} · max {dist.maximum}",
            )
    if report.quality_histogram:
        overview.add_row(
            "quality histogram", "  ".join(f"{k}: {v}" for k, v in report.quality_histogram.items())
        )
    overview.add_row(
        f"with {report.first_person}",
        f"{report.with_first_person} ({report.with_first_person / total:.0%})",
    )
    console.print(overview)
    if report.samples:
        samples = Table(
            title=f"{len(report.samples)} random pairs (seed {seed})", title_justify="left"
        )
        samples.add_column("topic")
        samples.add_column("standard")
        samples.add_column("gyaru")
        samples.add_column("quality", justify="right")
        for pair in report.samples:
            samples.add_row(
                str(pair.get("topic", "")),
                pair["standard"],
                pair["gyaru"],
                str(pair.get("quality", "")),
            )
        console.print(samples)
    return EXIT_OK


def run_bench_command(args: argparse.Namespace, log_format: str, argv: list[str]) -> int:
    import anyio

    from client.run.bench import recommend, run_bench

    settings = _settings(args)
    model, results = anyio.run(run_bench, settings, _api_key(), args.levels)
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
    console = _console()
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
