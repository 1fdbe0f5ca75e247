"""Writing a dataset for training tools that read a folder or need the run's raw files:
`hf` (a Hugging Face dataset folder with its card) and `dpo` (preference JSONL).

Both split train/validation as the JSONL formats do (`--val-fraction`, `--seed`:
the same pairs land in validation for every format). The dpo rows need the run's
rejected items, which only the raw batch files hold: they are read from
`raw/<run_id>/` beside the dataset's `processed/` folder; without them every
rejected line is the plain standard line (and the log says so).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import structlog

from client.pairs.card import dataset_card, hf_row, judge_stats
from client.pairs.export import split
from client.pairs.preference import (
    PreferenceCounts,
    preference_rows,
    rejected_lines,
    review_rejected_lines,
)
from client.storage.dataset import Dataset
from client.storage.hf import write_hf_dataset
from client.storage.jsonl import write_jsonl
from client.storage.runstore import RunStore

log = structlog.get_logger("client.storage.exports")


def val_path(out: Path) -> Path:
    """FILE.jsonl -> FILE.val.jsonl, as the JSONL formats name their validation split."""
    return out.with_name(f"{out.stem}.val{out.suffix or '.jsonl'}")


def export_hf(
    dataset: Dataset, out: Path, *, system: str | None, val_fraction: float, seed: int
) -> dict[str, int]:
    """The dataset folder; the rows of each split."""
    train, val = split(dataset.pairs, val_fraction, seed=seed)
    splits = {"train": [hf_row(p, system=system) for p in train]}
    if val:
        splits["validation"] = [hf_row(p, system=system) for p in val]
    counts = {name: len(rows) for name, rows in splits.items()}
    card = dataset_card(dataset.metadata, counts, judge_stats(dataset.pairs))
    write_hf_dataset(out, splits, card)
    return counts


def raw_records(dataset: Dataset) -> Iterator[dict[str, Any]]:
    """The raw batch records of the run a processed dataset was built from, in batch order."""
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


def export_dpo(
    dataset: Dataset,
    out: Path,
    *,
    system: str | None,
    val_fraction: float,
    seed: int,
    review_rejected: Sequence[dict[str, Any]] = (),
) -> tuple[dict[str, int], PreferenceCounts]:
    """FILE.jsonl (and FILE.val.jsonl); rows written per file, and where rejected lines
    came from. `review_rejected`: the pairs a person rejected in review."""
    run = rejected_lines(raw_records(dataset), keep=dataset.pairs)
    rejected = review_rejected_lines(review_rejected, run)
    counts = PreferenceCounts()
    train, val = split(dataset.pairs, val_fraction, seed=seed)
    written: dict[str, int] = {}
    for path, pairs in ((out, train), (val_path(out), val)):
        if pairs or path == out:
            rows = preference_rows(pairs, system=system, rejected=rejected, counts=counts)
            written[str(path)] = write_jsonl(path, rows)
    return written, counts
