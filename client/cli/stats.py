"""`client stats`: counts, topic balance, lengths, quality, diversity and sample pairs of a dataset."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

from client.cli.args import add_logging, add_persona, formatter
from client.cli.reviewed import add_ignore_review, apply_review, review_line
from client.cli.run_table import diversity_line
from client.cli.shared import dataset_settings, output_dir_and_settings, stdout_console
from client.errors import EXIT_OK

if TYPE_CHECKING:
    from client.pairs.stats import DatasetReport

STATS_EXAMPLES = """\
examples:
  client stats 20261128-101500-a1b2
  client stats outputs/processed/gyaru_dataset_20261128-101500-a1b2.json --samples 10 --json
"""


def register(sub: Any) -> None:
    stats = sub.add_parser(
        "stats",
        help="counts, topic balance, lengths, quality, diversity, and sample pairs of a dataset",
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
    add_persona(
        stats, "the persona whose first person and markers to count (default: the dataset's)"
    )
    stats.add_argument("--output-dir", type=Path, metavar="DIR", help="where run ids are looked up")
    add_ignore_review(stats)
    add_logging(stats)
    stats.set_defaults(handler=run)


def run(args: argparse.Namespace, log_format: str, argv: list[str]) -> int:
    import random

    from client.pairs.stats import describe
    from client.storage.dataset import load_dataset

    output_dir, settings = output_dir_and_settings(args)
    dataset, review = apply_review(args, load_dataset(args.source, output_dir))
    settings = dataset_settings(args, dataset, settings)
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    summary = dataset.metadata.get("summary")
    near = summary.get("near_duplicates") if isinstance(summary, dict) else None
    report = describe(
        dataset.pairs,
        first_person=settings.persona.first_person,
        samples=max(args.samples, 0),
        seed=seed,
        markers=settings.persona.style_markers,
        near_duplicates=near if isinstance(near, int) else None,
    )
    if args.json:
        sys.stdout.write(
            json.dumps(
                {
                    "source": str(dataset.path),
                    **report.to_json(),
                    "review": review.to_json() if review else None,
                },
                ensure_ascii=False,
                indent=2,
            )
            + "\n"
        )
        return EXIT_OK
    console = stdout_console()
    overview = _overview(report, dataset.path)
    line = review_line(args, review)
    if line is not None:
        overview.add_row("review", line)
    console.print(overview)
    if report.samples:
        console.print(_samples(report, seed))
    return EXIT_OK


def _overview(report: DatasetReport, path: Path) -> Table:
    overview = Table(title=f"{path}: {report.count} pairs", title_justify="left", show_header=False)
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
    if report.judged or report.unjudged:
        overview.add_row(
            "judge",
            f"{report.judged} graded · {report.unjudged} unjudged (let in without the judge)",
        )
    _diversity_rows(overview, report)
    return overview


def _diversity_rows(overview: Table, report: DatasetReport) -> None:
    if report.diversity is None or not report.count:
        return
    d = report.diversity.to_json()
    overview.add_row("diversity", diversity_line(d))
    for name, key in (("repeated openings", "top_openings"), ("repeated endings", "top_endings")):
        if d[key]:
            overview.add_row(name, ", ".join(f"{text} x{count}" for text, count in d[key]))
    used = {m: share for m, share in d["style_markers"].items() if share}
    if used:
        overview.add_row("style markers", ", ".join(f"{m} {s:.0%}" for m, s in used.items()))


def _samples(report: DatasetReport, seed: int) -> Table:
    samples = Table(title=f"{len(report.samples)} random pairs (seed {seed})", title_justify="left")
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
    return samples
