"""One run's folder: its raw batch files, its manifest and its processed dataset.

The raw batch files are the source of truth: the manifest summarises them and the
processed dataset is rebuilt from them. File names come from `layout`; file shapes
from `BatchRecord` and `Manifest`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from client.storage.atomic import atomic_write_text, ensure_writable
from client.storage.batch_record import BatchRecord
from client.storage.dataset import dataset_chunks
from client.storage.layout import (
    BATCH_FILE_RE,
    INPUT_REJECTIONS_NAME,
    MANIFEST_NAME,
    batch_file_name,
    check_run_id,
    processed_dir,
    processed_path,
    raw_dir,
)
from client.storage.manifest import Manifest


class RunStore:
    def __init__(self, output_dir: Path, run_id: str, *, fsync: bool = True) -> None:
        self.output_dir = output_dir
        self.run_id = check_run_id(run_id)
        self.fsync = fsync
        self.raw_dir = raw_dir(output_dir, run_id)
        self.processed_dir = processed_dir(output_dir)
        self.manifest_path = self.raw_dir / MANIFEST_NAME
        self.input_rejections_path = self.raw_dir / INPUT_REJECTIONS_NAME
        self.processed_path = processed_path(output_dir, run_id)

    def prepare(self) -> None:
        """Create the run's folders and prove they are writable."""
        ensure_writable(self.raw_dir, self.processed_dir)
        # Temporary files left by a killed run are never finished batches.
        for stale in self.raw_dir.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                stale.unlink()

    def batch_path(self, index: int) -> Path:
        return self.raw_dir / batch_file_name(index)

    def batch_files(self) -> list[tuple[int, Path]]:
        if not self.raw_dir.is_dir():
            return []
        found = []
        for path in self.raw_dir.iterdir():
            match = BATCH_FILE_RE.match(path.name)
            if match:
                found.append((int(match.group(1)), path))
        return sorted(found)

    def iter_records(self) -> Iterator[tuple[int, BatchRecord | None]]:
        """Each batch file's record, in batch order; None for a file that cannot be read."""
        for index, path in self.batch_files():
            yield index, BatchRecord.read(path)

    def read_batch(self, index: int) -> BatchRecord | None:
        return BatchRecord.read(self.batch_path(index))

    def finished_records(self) -> Iterator[tuple[int, BatchRecord]]:
        """Every batch whose record says it is done, one at a time."""
        for index, record in self.iter_records():
            if record is not None and record.finished:
                yield index, record

    def write_batch(self, index: int, record: BatchRecord) -> Path:
        path = self.batch_path(index)
        record.write(path, fsync=self.fsync)
        return path

    def read_manifest(self) -> Manifest | None:
        return Manifest.read(self.manifest_path)

    def write_processed(self, metadata: dict[str, Any], pair_lines: Iterable[str]) -> Path:
        """Stream the dataset to disk, one pair (already JSON) per line, so memory
        does not grow with it."""

        atomic_write_text(
            self.processed_path, dataset_chunks(metadata, pair_lines), fsync=self.fsync
        )
        return self.processed_path
