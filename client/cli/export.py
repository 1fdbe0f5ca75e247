"""`client export`: a dataset as fine-tuning JSONL."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import structlog

from client.cli.args import add_logging, formatter
from client.cli.reviewed import add_ignore_review, apply_review, review_fields
from client.cli.shared import dataset_settings, output_dir_and_settings
from client.errors import EXIT_OK, UsageError

log = structlog.get_logger("client.cli")

EXPORT_EXAMPLES = """\
examples:
  client export outputs/processed/gyaru_dataset_20261128-101500-a1b2.json --format openai-chat --out train.jsonl
  client export 20261128-101500-a1b2 --format sharegpt --out data/sharegpt.jsonl --val-fraction 0.1
  client export 20261128-101500-a1b2 --format alpaca --out reverse.jsonl --reverse
"""


def register(sub: Any) -> None:
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
    add_ignore_review(export)
    add_logging(export)
    export.set_defaults(handler=run)


def run(args: argparse.Namespace, log_format: str, argv: list[str]) -> int:
    from client.pairs.export import example, split
    from client.storage.dataset import load_dataset
    from client.storage.jsonl import write_jsonl

    if not 0 <= args.val_fraction < 1:
        raise UsageError(f"--val-fraction {args.val_fraction}: must be in [0, 1)")
    output_dir, settings = output_dir_and_settings(args)
    dataset, review = apply_review(args, load_dataset(args.source, output_dir))
    settings = dataset_settings(args, dataset, settings)
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
            "exported",
            path=path,
            examples=count,
            format=args.format,
            source=str(dataset.path),
            **review_fields(args, review),
        )
    return EXIT_OK
