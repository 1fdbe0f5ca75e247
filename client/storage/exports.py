"""Every export format in one table: name -> writer (`EXPORTS`), and the one write path.

| format | writes | `--reverse` | reads the raw files |
| --- | --- | --- | --- |
| openai-chat, alpaca, sharegpt | FILE.jsonl: one training example a pair (pairs.export) | yes | no |
| dpo | FILE.jsonl: TRL preference rows (pairs.preference) | no | yes: the run's rejections |
| hf | DIR: a Hugging Face dataset folder with its card (storage.hf) | no | no |

Every format splits train/validation the same way (`val_fraction`, `seed`: the same
pairs land in validation whatever the format), writing FILE.val.jsonl (or a
`validation` split) beside the training file. The dpo rows need the run's rejected
items, which only the raw batch files hold: they are read from `raw/<run_id>/`
beside the dataset's `processed/` folder; without them every rejected line is the
plain standard line (and the log says so). `client export` takes its choices, help
and the `--reverse` rule from this table, so a new format is one row here. Every
command's parser imports this table, so the writers import what they need (the run's
raw files, the card, `datasets`) when they run, not with the table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from client.errors import UsageError
from client.pairs.export import Format, example, split
from client.storage.atomic import write_jsonl

if TYPE_CHECKING:
    from client.storage.dataset import Dataset

log = structlog.get_logger("client.storage.exports")


@dataclass(frozen=True)
class ExportJob:
    """What to export, where, and how. `review_rejected`: the pairs a person rejected
    in review (the dpo writer uses their lines as rejected answers)."""

    dataset: Dataset
    out: Path
    system: str | None
    reverse: bool = False
    val_fraction: float = 0.0
    seed: int = 0
    review_rejected: Sequence[dict[str, Any]] = ()


@dataclass(frozen=True)
class Written:
    """Rows written per file, and what a format has to say about them (for the log)."""

    files: dict[str, int]
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExportFormat:
    name: str
    summary: str
    write: Callable[[ExportJob], Written]
    # --reverse (persona line in, standard line out) makes sense for this format.
    reversible: bool = False
    # Reads the run's raw batch files, not only the dataset.
    needs_raw: bool = False
    # --out names a folder, not a file.
    folder: bool = False
    # Refuses an empty dataset (a folder of empty parquet files helps nobody).
    needs_pairs: bool = False


def val_path(out: Path) -> Path:
    """FILE.jsonl -> FILE.val.jsonl, as the JSONL formats name their validation split."""
    return out.with_name(f"{out.stem}.val{out.suffix or '.jsonl'}")


def _splits(job: ExportJob) -> Iterator[tuple[Path, list[dict[str, Any]]]]:
    """(file, pairs) of the training file and, when there is one, the validation file."""
    train, val = split(job.dataset.pairs, job.val_fraction, seed=job.seed)
    yield job.out, train
    if val:
        yield val_path(job.out), val


def _jsonl_writer(fmt: Format) -> Callable[[ExportJob], Written]:
    def write(job: ExportJob) -> Written:
        files = {
            str(path): write_jsonl(
                path, (example(p, fmt, system=job.system, reverse=job.reverse) for p in pairs)
            )
            for path, pairs in _splits(job)
        }
        return Written(files)

    return write


def raw_records(dataset: Dataset) -> Iterator[dict[str, Any]]:
    """The raw batch records of the run a processed dataset was built from, in batch order."""
    from client.storage.runstore import RunStore

    run_id = dataset.metadata.get("run_id")
    output_dir = dataset.path.parent.parent
    store = RunStore(output_dir, run_id) if isinstance(run_id, str) else None
    if store is None or not store.raw_dir.is_dir():
        log.warning(
            "no raw batch files beside the dataset: every rejected line is the standard line",
            expected=str(output_dir / "raw" / str(run_id)),
        )
        return
    for _, record in store.iter_records():
        if record is not None:
            yield record.data


def write_dpo(job: ExportJob) -> Written:
    """FILE.jsonl (and FILE.val.jsonl) of preference rows; the details say where the
    rejected lines came from."""
    from client.pairs.preference import (
        PreferenceCounts,
        preference_rows,
        rejected_lines,
        review_rejected_lines,
    )

    rejected = review_rejected_lines(
        job.review_rejected, rejected_lines(raw_records(job.dataset), keep=job.dataset.pairs)
    )
    counts = PreferenceCounts()
    files = {
        str(path): write_jsonl(
            path, preference_rows(pairs, system=job.system, rejected=rejected, counts=counts)
        )
        for path, pairs in _splits(job)
    }
    return Written(files, {"rejected_sources": counts.to_json()})


def write_hf(job: ExportJob) -> Written:
    """The dataset folder: a parquet file per split, `load_from_disk` files and a card."""
    from client.pairs.card import dataset_card, hf_row, judge_stats
    from client.storage.hf import write_hf_dataset

    splits = {
        "train" if path == job.out else "validation": [hf_row(p, system=job.system) for p in pairs]
        for path, pairs in _splits(job)
    }
    counts = {name: len(rows) for name, rows in splits.items()}
    card = dataset_card(job.dataset.metadata, counts, judge_stats(job.dataset.pairs))
    write_hf_dataset(job.out, splits, card)
    return Written(
        {str(job.out / "data" / f"{name}-00000-of-00001.parquet"): n for name, n in counts.items()}
    )


EXPORTS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat(
            "openai-chat",
            "chat messages: system, user (standard line), assistant (persona line)",
            _jsonl_writer("openai-chat"),
            reversible=True,
        ),
        ExportFormat(
            "alpaca",
            "instruction (system), input (standard line), output (persona line)",
            _jsonl_writer("alpaca"),
            reversible=True,
        ),
        ExportFormat(
            "sharegpt",
            "conversations: system, human (standard line), gpt (persona line)",
            _jsonl_writer("sharegpt"),
            reversible=True,
        ),
        ExportFormat(
            "dpo",
            "TRL preference rows: prompt, chosen (the persona line), rejected (a line the "
            "run or the reviewer rejected, else the standard line)",
            write_dpo,
            needs_raw=True,
        ),
        ExportFormat(
            "hf",
            "a Hugging Face dataset folder: parquet files, load_from_disk files, a card "
            "(needs the hf extra)",
            write_hf,
            folder=True,
            needs_pairs=True,
        ),
    )
}


def reversible_formats() -> list[str]:
    return [f.name for f in EXPORTS.values() if f.reversible]


def export(name: str, job: ExportJob) -> Written:
    """Write `job` in format `name`. Raises UsageError for a combination the format
    refuses (an unknown name, --reverse where it does not apply, no pairs for hf)."""
    fmt = EXPORTS.get(name)
    if fmt is None:
        raise UsageError(f"unknown export format {name!r}; known: {', '.join(EXPORTS)}")
    if job.reverse and not fmt.reversible:
        raise UsageError(f"--reverse applies to {', '.join(reversible_formats())} only")
    if fmt.needs_pairs and not job.dataset.pairs:
        raise UsageError(f"{job.dataset.path}: no pairs to export")
    return fmt.write(job)
