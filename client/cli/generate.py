"""`client generate`: the job, with a live progress bar on a terminal."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from client.cli.args import (
    add_batches,
    add_judge,
    add_logging,
    add_server,
    formatter,
    load_settings_from,
)
from client.cli.shared import api_key, show_progress, stdout_console
from client.errors import EXIT_OK

if TYPE_CHECKING:
    from client.run.looplag import LagSummary
    from client.run.summary import RunSummary

log = structlog.get_logger("client.cli")

GENERATE_EXAMPLES = """\
examples:
  client generate --concurrency 4
  client generate --batches 40 --pairs-per-batch 30 --concurrency 8 --wait 600
  client generate --target-pairs 5000 --max-batches 400
  client generate --input transcripts.txt             # rewrite your own sentences, one a line
  client generate --input corpus.csv --input-field sentence --pairs-per-batch 20
  client generate --run-id 20261128-101500-a1b2      # resume: only unfinished batches run
  client generate --base-url http://gpu1:8000/v1 --base-url http://gpu2:8000/v1
  client generate --no-judge                         # keep every pair the checks pass
  client generate --workers 4                        # check pairs in 4 processes
"""


def register(sub: Any) -> None:
    gen = sub.add_parser(
        "generate",
        help="generate the dataset (all batches concurrently)",
        description="Send every batch to the server (at most --concurrency in flight per "
        "endpoint), validate the pairs, write raw batch files and the processed dataset.",
        epilog=GENERATE_EXAMPLES,
        formatter_class=formatter,
    )
    add_server(gen)
    add_batches(gen)
    g = gen.add_argument_group("run")
    g.add_argument("--output-dir", type=Path, metavar="DIR", help="default: outputs")
    g.add_argument("--run-id", metavar="ID", help="name of the run; an existing one is resumed")
    g.add_argument("--target-pairs", type=int, metavar="N", help="keep going until N unique pairs")
    g.add_argument("--max-batches", type=int, metavar="N", help="batch cap for --target-pairs")
    g.add_argument("--max-attempts", type=int, metavar="N", help="attempts per batch")
    g.add_argument(
        "--min-quality", type=float, metavar="Q", help="drop pairs scoring below Q (0-1)"
    )
    g.add_argument("--system-prompt", type=Path, metavar="FILE", help="system prompt template")
    g.add_argument(
        "--dedup-previous-runs",
        dest="dedup_previous",
        action="store_true",
        default=None,
        help="also drop pairs already in earlier datasets of the output dir",
    )
    g.add_argument(
        "--avoid-phrases",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="tell later batches the openings, endings and phrases the run overuses (default on)",
    )
    g.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="processes that check each batch's pairs (default: one per core, at most 4; "
        "1: in the run's own process)",
    )
    g.add_argument("--no-progress", action="store_true", help="no live progress display")
    _add_inputs(gen)
    add_judge(gen)
    add_logging(gen)
    gen.set_defaults(handler=run)


def _add_inputs(gen: argparse.ArgumentParser) -> None:
    i = gen.add_argument_group("your own sentences")
    i.add_argument(
        "--input",
        type=Path,
        metavar="FILE",
        help="rewrite these sentences instead of inventing pairs: .txt (one a line), "
        ".jsonl or .csv; each line becomes one pair or one recorded rejection",
    )
    i.add_argument(
        "--input-field",
        metavar="NAME",
        help="the JSON field (default: standard) or CSV column holding the sentence",
    )
    i.add_argument(
        "--rewrite-prompt",
        type=Path,
        metavar="FILE",
        help="rewrite prompt template (default: prompt.rewrite_prompt_path in the config)",
    )


def no_pair_message(*, judged: bool) -> str:
    """What a run that kept no pair says; it names the judge only when it was on."""
    stages = "validation and the judge" if judged else "validation"
    return f"no pair survived {stages}; see the rejection reasons above and in the raw files"


def run(args: argparse.Namespace, log_format: str, argv: Sequence[str]) -> int:
    # Settings first: a bad config fails before the slow imports (the OpenAI SDK).
    settings = load_settings_from(args)
    if args.run_id is not None:
        from client.storage.layout import check_run_id

        check_run_id(args.run_id)

    from rich.console import Console

    from client.cli.run_table import print_summary
    from client.run.generate import generate
    from client.run.heap import fix_mmap_threshold
    from client.run.progress import LiveStats, ProgressObserver

    fix_mmap_threshold()

    key = api_key()
    progress = show_progress(args, log_format)
    make_observer: Callable[[LiveStats], Any] | None = None
    if progress:
        err = Console(stderr=True)

        def make_observer(live: LiveStats) -> ProgressObserver:
            return ProgressObserver(
                live, console=err, target_pairs=settings.generation.target_pairs
            )

    summary, lag = _probed(
        lambda: generate(
            settings,
            api_key=key,
            run_id=args.run_id,
            argv=argv,
            make_observer=make_observer,
            # With a progress bar on screen a log line per batch is noise.
            quiet_success=progress,
        )
    )
    print_summary(summary, stdout_console())
    if summary.status == "complete" and summary.stats.pairs_unique == 0:
        log.error(
            no_pair_message(judged=settings.judge.enabled),
            rejections=dict(summary.stats.rejections),
        )
    _log_finished(summary, lag)
    return summary.exit_code


def _log_finished(summary: RunSummary, lag: LagSummary) -> None:
    """The run's last log line: a warning when it did not end with exit 0. The loop
    lag of the whole run and of its batch phase go with it (tests/bench/growth.py)."""
    batch_lag = summary.batch_loop_lag
    event = log.info if summary.exit_code == EXIT_OK else log.warning
    event(
        "run finished",
        run_id=summary.run_id,
        status=summary.status,
        pairs=summary.stats.pairs_unique,
        failed_batches=summary.stats.batches_failed,
        processed=summary.files.get("processed"),
        resume=summary.resume_command,
        loop_lag_ms=lag.to_json(),
        batch_loop_lag_ms=None if batch_lag is None else batch_lag.to_json(),
    )


def _probed(run: Callable[[], Awaitable[RunSummary]]) -> tuple[RunSummary, LagSummary]:
    """The run, and how late its event loop ran what was due: while the loop is busy
    checking pairs, no reply is read and no request sent (tests/bench/growth.py reads
    it from the "run finished" log line)."""
    import anyio

    from client.run.looplag import probing

    async def probed() -> tuple[RunSummary, LagSummary]:
        with probing() as lag:
            summary = await run()
        return summary, lag.summary()

    return anyio.run(probed)
