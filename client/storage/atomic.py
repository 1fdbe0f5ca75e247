"""Writing files so a reader (or a resumed run) sees the old file or the complete new
one, never half of one: a temporary name in the same folder, fsync, rename."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from client.errors import OutputDirError


def dumps(obj: Any, *, indent: int | None = 2) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=indent)


_CHUNK_CHARS = 16_384


def dump_chunks(obj: Any, *, indent: int | None = 2) -> list[str]:
    """The text of `dumps`, as pieces of about 16 KB. A manifest of thousands of batches
    is a megabyte, rewritten every second: as one string, each copy was a fresh large
    allocation the C allocator kept around (its dynamic mmap threshold), and a
    100,000-line run's memory crept up by about 10 MB; pieces this size are reused."""
    encoder = json.JSONEncoder(ensure_ascii=False, indent=indent)
    chunks: list[str] = []
    buffer: list[str] = []
    size = 0
    for piece in encoder.iterencode(obj):
        buffer.append(piece)
        size += len(piece)
        if size >= _CHUNK_CHARS:
            chunks.append("".join(buffer))
            buffer, size = [], 0
    chunks.append("".join(buffer))
    return chunks


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
    atomic_write_text(path, [*dump_chunks(obj, indent=indent), "\n"], fsync=fsync)


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> int:
    """One JSON object a line, atomically and fsynced, its folder made; answers how many
    were written. The records are streamed, never held as one text."""
    count = 0

    def lines() -> Iterator[str]:
        nonlocal count
        for record in records:
            count += 1
            yield json.dumps(record, ensure_ascii=False) + "\n"

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, lines(), fsync=True)
    return count


def read_json(path: Path) -> Any:
    with path.open("r", encoding="utf-8") as fh:
        return json.load(fh)


def read_json_object(path: Path) -> dict[str, Any] | None:
    """A JSON object from a file, or None when it is missing, unreadable or not an object."""
    try:
        data = read_json(path)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


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
