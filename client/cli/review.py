"""`client review`: the review page for a dataset, or its labels file."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from client.cli.args import add_logging, add_persona, formatter
from client.cli.shared import dataset_settings, output_dir_and_settings
from client.errors import EXIT_OK, UsageError

if TYPE_CHECKING:
    from client.config import Settings
    from client.storage.dataset import Dataset

log = structlog.get_logger("client.cli")

REVIEW_EXAMPLES = """\
examples:
  client review 20261128-101500-a1b2
  client review outputs/processed/gyaru_dataset_20261128-101500-a1b2.json --port 8765 --no-browser
  client review 20261128-101500-a1b2 --export-labels labels.jsonl
"""


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0-65535, got {port}")
    return port


def register(sub: Any) -> None:
    review = sub.add_parser(
        "review",
        help="review a dataset in the browser: accept, reject, edit; charts",
        description="Serve a review page for a dataset on 127.0.0.1 and print its address "
        "(with the access token) on stdout. Decisions are saved at once to a review file "
        "beside the dataset; export and stats then leave rejected pairs out, use edited "
        "lines and add the items rescued from the run's rejections. Ctrl-C stops the server.",
        epilog=REVIEW_EXAMPLES,
        formatter_class=formatter,
    )
    review.add_argument("source", help="a processed dataset file, or a run id")
    review.add_argument(
        "--port", type=_port, default=0, metavar="N", help="port on 127.0.0.1 (default: a free one)"
    )
    review.add_argument("--no-browser", action="store_true", help="print the address only")
    review.add_argument(
        "--export-labels",
        type=Path,
        metavar="FILE.jsonl",
        help="write the reviewed lines as labelled examples (for client calibrate), with what "
        "the run decided about each, and exit",
    )
    review.add_argument(
        "--config",
        type=Path,
        default=None,
        help="config for output.output_dir and output.fsync, and the persona the page names "
        "and marks (default: the config the dataset was made with)",
    )
    add_persona(review)
    review.add_argument(
        "--output-dir", type=Path, metavar="DIR", help="where run ids are looked up"
    )
    add_logging(review)
    review.set_defaults(handler=run)


def run(args: argparse.Namespace, log_format: str, argv: list[str]) -> int:
    from client.storage.dataset import load_dataset

    output_dir, settings = output_dir_and_settings(args)
    dataset = load_dataset(args.source, output_dir)
    if args.export_labels is not None:
        return _export_labels(dataset, args.export_labels)
    # The persona's name and words come from the config the dataset was made with
    # (or --config); fsync from the config in use.
    persona = dataset_settings(args, dataset, settings)
    return _serve(
        dataset, persona, port=args.port, browser=not args.no_browser, fsync=settings.output.fsync
    )


def _export_labels(dataset: Dataset, out: Path) -> int:
    from client.pairs.review import label_rows
    from client.storage.atomic import write_jsonl
    from client.storage.review import ReviewFile

    review = ReviewFile.beside(dataset.path)
    persona = dataset.metadata.get("persona")
    rows = label_rows(
        dataset.pairs, review.load(), persona=persona if isinstance(persona, str) else None
    )
    if not rows:
        raise UsageError(
            f"no reviewed pairs in {review.path}: review some first with `client review {dataset.path}`"
        )
    try:
        write_jsonl(out, rows)
    except OSError as exc:
        raise UsageError(f"cannot write {exc.filename or out}: {exc.strerror or exc}") from None
    good = sum(1 for row in rows if row["label"] == "good")
    # Good lines the run turned down: where the checks and the person disagree most.
    rescued = sum(1 for row in rows if row["label"] == "good" and row.get("run") == "rejected")
    log.info(
        "labels written",
        path=str(out),
        rows=len(rows),
        good=good,
        bad=len(rows) - good,
        good_rejected_by_run=rescued,
    )
    return EXIT_OK


def _serve(dataset: Dataset, settings: Settings, *, port: int, browser: bool, fsync: bool) -> int:
    from client.clock import utc_now
    from client.web.server import bind, open_browser, serve
    from client.web.session import open_session

    session = open_session(dataset, clock=utc_now, settings=settings, fsync=fsync)
    bound = bind(port)

    def started() -> None:
        # The address goes out once the server answers: a script may use it at once.
        sys.stdout.write(bound.url + "\n")
        sys.stdout.flush()
        log.info(
            "review server started",
            url=f"http://127.0.0.1:{bound.port}/",
            dataset=str(dataset.path),
            review_file=str(session.review.path),
            pairs=len(session.pairs),
            run_rejected=len(session.rejected),
            decisions=len(session.saved),
        )
        if browser:
            open_browser(bound.url)

    # uvicorn shuts down on Ctrl-C and then raises it again: here it is how a review ends.
    with contextlib.suppress(KeyboardInterrupt):
        serve(session, bound, on_started=started)
    log.info("review server stopped", review_file=str(session.review.path))
    return EXIT_OK
