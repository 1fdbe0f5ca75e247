"""`client export`: a dataset as fine-tuning JSONL, preference JSONL for DPO, or a
Hugging Face dataset folder (docs/dataset.md, "Export for training")."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import structlog

from client.cli.args import add_logging, add_persona, formatter
from client.cli.reviewed import add_ignore_review, apply_review, review_fields
from client.cli.shared import dataset_settings, output_dir_and_settings
from client.errors import EXIT_OK, UsageError
from client.storage.exports import EXPORTS, reversible_formats

log = structlog.get_logger("client.cli")

EXPORT_EXAMPLES = """\
examples:
  client export outputs/processed/gyaru_dataset_20261128-101500-a1b2.json --format openai-chat --out train.jsonl
  client export 20261128-101500-a1b2 --format sharegpt --out data/sharegpt.jsonl --val-fraction 0.1
  client export 20261128-101500-a1b2 --format alpaca --out reverse.jsonl --reverse
  client export 20261128-101500-a1b2 --format dpo --out dpo.jsonl --val-fraction 0.1
  client export 20261128-101500-a1b2 --format hf --out data/gyaru-hf --val-fraction 0.1
"""


def register(sub: Any) -> None:
    export = sub.add_parser(
        "export",
        help=f"write a dataset for training ({', '.join(EXPORTS)})",
        description=_description(),
        epilog=EXPORT_EXAMPLES,
        formatter_class=formatter,
    )
    export.add_argument("source", help="a processed dataset file, or a run id")
    export.add_argument(
        "--format",
        choices=list(EXPORTS),
        required=True,
        help="; ".join(f"{f.name}: {f.summary}" for f in EXPORTS.values()),
    )
    export.add_argument(
        "--out", type=Path, required=True, metavar="PATH", help="FILE.jsonl, or DIR for hf"
    )
    export.add_argument(
        "--system", help="system text (default: export.system_prompt in the config)"
    )
    export.add_argument("--no-system", action="store_true", help="no system turn / instruction")
    export.add_argument(
        "--reverse",
        action="store_true",
        help=f"persona line in, standard line out ({', '.join(reversible_formats())})",
    )
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
    add_persona(export, "the persona whose export.system_prompt to use (default: the dataset's)")
    export.add_argument(
        "--output-dir", type=Path, metavar="DIR", help="where run ids are looked up"
    )
    add_ignore_review(export)
    add_logging(export)
    export.set_defaults(handler=run)


def _system(args: argparse.Namespace, settings: Any) -> str | None:
    if args.no_system:
        return None
    if args.system is not None:
        return str(args.system)
    export = settings.export
    return str(export.reverse_system_prompt if args.reverse else export.system_prompt)


def _description() -> str:
    folder = [f.name for f in EXPORTS.values() if f.folder]
    return (
        "One training example per pair: the user turn holds the standard line, the "
        "assistant turn the persona's line (or the other way round with --reverse). "
        f"--out is a FILE.jsonl, or a folder for {', '.join(folder)}."
    )


def run(args: argparse.Namespace, log_format: str, argv: list[str]) -> int:
    from client.storage.dataset import load_dataset
    from client.storage.exports import ExportJob, export

    if not 0 <= args.val_fraction < 1:
        raise UsageError(f"--val-fraction {args.val_fraction}: must be in [0, 1)")
    output_dir, settings = output_dir_and_settings(args)
    dataset, review = apply_review(args, load_dataset(args.source, output_dir))
    settings = dataset_settings(args, dataset, settings)
    job = ExportJob(
        dataset=dataset,
        out=args.out,
        system=_system(args, settings),
        reverse=args.reverse,
        val_fraction=args.val_fraction,
        seed=args.seed,
        review_rejected=review.rejected if review is not None else (),
    )
    try:
        written = export(args.format, job)
    except OSError as exc:
        raise UsageError(
            f"cannot write {exc.filename or args.out}: {exc.strerror or exc}"
        ) from None
    if "rejected_sources" in written.details:
        log.info("dpo rejected lines", **written.details["rejected_sources"])
    for path, count in written.files.items():
        log.info(
            "exported",
            path=path,
            examples=count,
            format=args.format,
            source=str(dataset.path),
            **review_fields(args, review),
        )
    return EXIT_OK
