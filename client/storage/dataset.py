"""A processed dataset's file: reading it back (by path, or by run id under the output
directory) and writing one (a run's rebuild, `client judge`'s graded copy)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from client.errors import UsageError
from client.storage.atomic import atomic_write_text, dumps, write_jsonl
from client.storage.layout import RUN_ID_RE, processed_path, rejected_path


@dataclass(frozen=True)
class Dataset:
    path: Path
    metadata: dict[str, Any]
    pairs: list[dict[str, Any]]


def resolve_source(source: str, output_dir: Path) -> Path:
    """A dataset file path, or a run id naming outputs/processed/gyaru_dataset_<id>.json."""
    path = Path(source)
    if path.exists() or source.endswith(".json") or "/" in source:
        return path
    if RUN_ID_RE.fullmatch(source):
        return processed_path(output_dir, source)
    return path


def load_dataset(source: str, output_dir: Path) -> Dataset:
    path = resolve_source(source, output_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"dataset not found: {path} (give a processed file or a run id)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read dataset {path}: {exc}") from None
    except ValueError as exc:
        raise UsageError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("pairs"), list):
        raise UsageError(f"{path} is not a processed dataset (no 'pairs' list)")
    pairs = []
    for index, pair in enumerate(data["pairs"]):
        if (
            not isinstance(pair, dict)
            or not isinstance(pair.get("standard"), str)
            or not isinstance(pair.get("gyaru"), str)
        ):
            raise UsageError(f"{path}: pair {index} lacks the 'standard' and 'gyaru' strings")
        pairs.append(pair)
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    return Dataset(path=path, metadata=metadata or {}, pairs=pairs)


def dataset_chunks(metadata: dict[str, Any], pair_lines: Iterable[str]) -> Iterator[str]:
    """The dataset file's text, one pair (already JSON) per line, so it streams in and
    out without the whole of it in memory."""
    yield '{\n"metadata": '
    yield dumps(metadata)
    yield ',\n"pairs": ['
    first = True
    for line in pair_lines:
        yield ("\n  " if first else ",\n  ") + line
        first = False
    yield "\n]}\n"


def save_dataset(
    path: Path,
    metadata: dict[str, Any],
    pairs: Iterable[dict[str, Any]],
    *,
    rejected: Iterable[dict[str, Any]] = (),
    fsync: bool = True,
) -> Path:
    """Write a dataset, and its rejected pairs beside it (`<name>.rejected.jsonl`);
    answers the rejected file's path."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = (json.dumps(p, ensure_ascii=False) for p in pairs)
        atomic_write_text(path, dataset_chunks(metadata, lines), fsync=fsync)
        beside = rejected_path(path)
        write_jsonl(beside, rejected)
    except OSError as exc:
        raise UsageError(f"cannot write {exc.filename or path}: {exc.strerror or exc}") from None
    return beside
