"""Files on disk: raw batch records, the run manifest and the processed dataset.

Every file is written to a temporary name in the same directory, fsynced and
renamed over the final name, so a reader (or a resumed run) sees either the old
file or the complete new one, never half of one. The raw batch files are the
source of truth: the manifest summarises them and the processed dataset is
rebuilt from them.

Layout under the output directory:

    raw/<run_id>/batch_0001.json ...   one per finished (or failed) batch
    raw/<run_id>/manifest.json         config snapshot, prompt hash, per-batch status
    processed/gyaru_dataset_<run_id>.json
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from client.errors import ConfigError, OutputDirError
from client.pairs.records import FINISHED_STATUSES

RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
BATCH_FILE_RE = re.compile(r"^batch_(\d{4,})\.json$")
MANIFEST_NAME = "manifest.json"
RECORD_FORMAT = 1


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def check_run_id(run_id: str) -> str:
    if not RUN_ID_RE.fullmatch(run_id) or ".." in run_id:
        raise ConfigError(
            f"--run-id {run_id!r}: use letters, digits, '.', '_' and '-' only "
            "(it names a folder inside the output directory)"
        )
    return run_id


def dumps(obj: Any, *, indent: int | None = 2) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=indent)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_text(path: Path, chunks: Iterable[str], *, fsync: bool) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            for chunk in chunks:
                fh.write(chunk)
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if fsync:
        _fsync_dir(path.parent)


def atomic_write_json(path: Path, obj: Any, *, fsync: bool, indent: int | None = 2) -> None:
    atomic_write_text(path, [dumps(obj, indent=indent), "\n"], fsync=fsync)


def read_json(path: Path) -> Any:
    with path.open("r", encoding="utf-8") as fh:
        return json.load(fh)


def ensure_writable(*folders: Path) -> None:
    """Create the folders and prove they are writable, before any GPU time is spent."""
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f".write-test.{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise OutputDirError(
                f"output directory is not writable: {folder}: {exc.strerror or exc}"
            ) from None


class RunStore:
    def __init__(self, output_dir: Path, run_id: str, *, fsync: bool = True) -> None:
        self.output_dir = output_dir
        self.run_id = check_run_id(run_id)
        self.fsync = fsync
        self.raw_dir = output_dir / "raw" / run_id
        self.processed_dir = output_dir / "processed"
        self.manifest_path = self.raw_dir / MANIFEST_NAME
        self.processed_path = self.processed_dir / f"gyaru_dataset_{run_id}.json"

    def prepare(self) -> None:
        """Create the run's folders and prove they are writable."""
        ensure_writable(self.raw_dir, self.processed_dir)
        # Temporary files left by a killed run are never finished batches.
        for stale in self.raw_dir.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                stale.unlink()

    def batch_path(self, index: int) -> Path:
        return self.raw_dir / f"batch_{index:04d}.json"

    def batch_files(self) -> list[tuple[int, Path]]:
        if not self.raw_dir.is_dir():
            return []
        found = []
        for path in self.raw_dir.iterdir():
            match = BATCH_FILE_RE.match(path.name)
            if match:
                found.append((int(match.group(1)), path))
        return sorted(found)

    def iter_records(self) -> Iterator[tuple[int, dict[str, Any] | None]]:
        """Each batch file's record, in batch order; None for a file that cannot be read."""
        for index, path in self.batch_files():
            try:
                record = read_json(path)
            except (OSError, ValueError):
                yield index, None
                continue
            yield index, record if isinstance(record, dict) else None

    def finished_records(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """Every batch whose record says it is done, one at a time."""
        for index, record in self.iter_records():
            if record is not None and record.get("status") in FINISHED_STATUSES:
                yield index, record

    def write_batch(self, index: int, record: dict[str, Any]) -> Path:
        path = self.batch_path(index)
        atomic_write_json(path, record, fsync=self.fsync)
        return path

    def read_manifest(self) -> dict[str, Any] | None:
        try:
            data = read_json(self.manifest_path)
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        atomic_write_json(self.manifest_path, manifest, fsync=self.fsync)

    def write_processed(self, metadata: dict[str, Any], pair_lines: Iterable[str]) -> Path:
        """Stream the dataset to disk, one pair (already JSON) per line, so memory
        does not grow with it."""

        def chunks() -> Iterator[str]:
            yield '{\n"metadata": '
            yield dumps(metadata)
            yield ',\n"pairs": ['
            first = True
            for line in pair_lines:
                yield ("\n  " if first else ",\n  ") + line
                first = False
            yield "\n]}\n"

        atomic_write_text(self.processed_path, chunks(), fsync=self.fsync)
        return self.processed_path


class ManifestWriter:
    """Keeps the manifest current without rewriting it after every one of thousands of batches.

    Writes at most once per `interval_s` while the run goes (the raw files already
    hold every finished batch), and always on `flush`.
    """

    def __init__(
        self,
        store: RunStore,
        manifest: dict[str, Any],
        *,
        interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.manifest = manifest
        self.interval_s = interval_s
        self._clock = clock
        # None, not 0.0: the clock counts from an arbitrary origin (time.monotonic from
        # boot), so on a machine up for less than interval_s "written at 0.0" would make
        # a manifest never written look recently written.
        self._last_write: float | None = None
        self._dirty = False

    def update(self, **fields: Any) -> None:
        self.manifest.update(fields)
        self._dirty = True

    def set_batch(self, index: int, entry: dict[str, Any]) -> None:
        self.manifest.setdefault("batches", {})[str(index)] = entry
        self._dirty = True

    def due(self) -> bool:
        if not self._dirty:
            return False
        return self._last_write is None or self._clock() - self._last_write >= self.interval_s

    def mark_written(self) -> None:
        self._last_write = self._clock()
        self._dirty = False

    def write_text(self, text: str) -> None:
        atomic_write_text(self.store.manifest_path, [text, "\n"], fsync=self.store.fsync)

    def write(self) -> None:
        self.mark_written()
        self.store.write_manifest(self.manifest)
