"""A dataset folder Hugging Face `datasets` reads two ways, written whole or not at all.

    DIR/README.md                         the dataset card (client.pairs.card)
    DIR/data/<split>-00000-of-00001.parquet   what `load_dataset(DIR)` and the Hub read
    DIR/dataset_dict.json, DIR/<split>/   what `datasets.load_from_disk(DIR)` reads

The folder is built beside DIR and renamed into place, so an interrupted export never
leaves half a dataset; an existing DIR is replaced only when it is an earlier export
(it holds dataset_dict.json), never a folder of something else.

`datasets` (with pyarrow, about 220 MB) is an optional extra, imported only here:
most users generate and export JSONL without it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from client.errors import UsageError
from client.pairs.card import uniform

INSTALL_HINT = (
    "--format hf needs the Hugging Face datasets library: "
    "uv sync --extra hf (or pip install 'gyaru-datagen[hf]')"
)
MARKER = "dataset_dict.json"


def _datasets() -> Any:
    try:
        import datasets
    except ImportError:
        raise UsageError(INSTALL_HINT) from None
    datasets.disable_progress_bars()
    return datasets


def _check_target(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise UsageError(f"{out}: folder is not empty and not an earlier export; choose another")


def _build(datasets: Any, splits: Mapping[str, Sequence[dict[str, Any]]]) -> Any:
    splits = uniform(splits)
    first = next(iter(splits.values()))
    built = {"train": datasets.Dataset.from_list(list(first))}
    # One schema for every split: the validation split takes the train split's types,
    # even where one of its columns holds only nulls.
    for name, rows in splits.items():
        if name not in built:
            built[name] = datasets.Dataset.from_list(list(rows), features=built["train"].features)
    return datasets.DatasetDict(built)


def _write(dataset: Any, card: str, folder: Path) -> None:
    dataset.save_to_disk(str(folder))
    data = folder / "data"
    data.mkdir()
    for name, split in dataset.items():
        split.to_parquet(str(data / f"{name}-00000-of-00001.parquet"))
    (folder / "README.md").write_text(card, encoding="utf-8")


def write_hf_dataset(out: Path, splits: Mapping[str, Sequence[dict[str, Any]]], card: str) -> Path:
    """Write the splits (train first) and the card to `out`; the path written."""
    datasets = _datasets()
    _check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    building = out.with_name(f".{out.name}.{os.getpid()}.building")
    retired = out.with_name(f".{out.name}.{os.getpid()}.old")
    shutil.rmtree(building, ignore_errors=True)
    try:
        _write(_build(datasets, splits), card, building)
        if out.exists():
            out.rename(retired)
        building.rename(out)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        if retired.exists() and not out.exists():
            with contextlib.suppress(OSError):
                retired.rename(out)
        raise
    shutil.rmtree(retired, ignore_errors=True)
    return out
