"""Reading an input file one record at a time, with errors that name the file and line.

The file is read as bytes and decoded line by line, so a byte that is not UTF-8 is
reported at its line, and memory does not grow with the file. A UTF-8 byte-order
mark (what spreadsheet programs write) is dropped. Every problem is a `UsageError`
(exit 2) raised before the first request of a run: `check_input` reads the whole
file once, up front, for that reason; `read_input` then streams it again for the run.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from client.errors import UsageError
from client.pairs.inputs import (
    DEFAULT_FIELD,
    INPUT_FORMATS,
    InputCounts,
    InputFormat,
    InputItem,
    InputLine,
    InputRejection,
    InputScreen,
    column_of,
    input_format,
    text_of_json,
    text_of_row,
)
from client.storage.atomic import atomic_write_text

_BOM = "\ufeff"


@dataclass(frozen=True)
class InputSource:
    path: Path
    format: InputFormat
    field: str = DEFAULT_FIELD

    @classmethod
    def of(cls, path: Path, field: str | None = None) -> InputSource:
        """The source `path` names; UsageError for a folder or a format this tool does
        not read. A .jsonl field and a .csv column default to `standard`."""
        if path.is_dir():
            raise UsageError(f"{path}: is a directory, not an input file")
        fmt = input_format(path.suffix)
        if fmt is None:
            if not path.suffix and not path.exists():
                raise UsageError(f"{path}: input file not found")
            known = ", ".join(INPUT_FORMATS)
            raise UsageError(f"{path}: unknown input format {path.suffix!r} (use {known})")
        if fmt == "txt" and field is not None:
            raise UsageError(f"{path}: --input-field applies to .jsonl and .csv files only")
        return cls(path=path, format=fmt, field=field or DEFAULT_FIELD)


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, decoded line without its line break), one at a time."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise UsageError(f"{path}: input file not found") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, not an input file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the input file: {exc.strerror or exc}") from None
    with handle:
        number = 0
        try:
            for number, raw in enumerate(handle, start=1):
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise UsageError(
                        f"{path}:{number}: not UTF-8 (byte 0x{raw[exc.start]:02x} at column "
                        f"{exc.start + 1}); save the file as UTF-8"
                    ) from None
                if number == 1:
                    text = text.removeprefix(_BOM)
                yield number, text.rstrip("\r\n")
        except OSError as exc:
            raise UsageError(
                f"{path}:{number + 1}: cannot read the input file: {exc.strerror or exc}"
            ) from None


def _jsonl(source: InputSource) -> Iterator[InputLine]:
    for number, raw in _lines(source.path):
        try:
            text = text_of_json(raw, source.field)
        except ValueError as exc:
            raise UsageError(f"{source.path}:{number}: {exc}") from None
        yield InputLine(number, (text or "").strip())


def _csv(source: InputSource) -> Iterator[InputLine]:
    lines = _lines(source.path)
    # The csv module counts the lines it consumed; a record (a quoted cell may span
    # lines) starts on the line after the previous record ended.
    reader = csv.reader((text + "\n" for _, text in lines), strict=True)
    start = 1
    try:
        header = next(reader, None)
        if header is None:
            raise UsageError(f"{source.path}: no lines to rewrite (the file is empty)")
        try:
            column = column_of(header, source.field)
        except ValueError as exc:
            hint = "; name the column with --input-field" if source.field == DEFAULT_FIELD else ""
            raise UsageError(f"{source.path}:1: {exc}{hint}") from None
        start = reader.line_num + 1
        for row in reader:
            try:
                text = text_of_row(row, column, len(header))
            except ValueError as exc:
                raise UsageError(f"{source.path}:{start}: {exc}") from None
            yield InputLine(start, (text or "").strip())
            start = reader.line_num + 1
    except csv.Error as exc:
        raise UsageError(
            f"{source.path}:{start}: broken CSV ({exc}; check the quotes of this record)"
        ) from None


def _records(source: InputSource) -> Iterator[InputLine]:
    if source.format == "jsonl":
        yield from _jsonl(source)
    elif source.format == "csv":
        yield from _csv(source)
    else:
        for number, text in _lines(source.path):
            yield InputLine(number, text.strip())


def read_input(source: InputSource) -> Iterator[InputLine]:
    """Every record of the file, in order; UsageError at the first bad one, and at the
    end of a file with no line to rewrite (empty, blank lines only, a header only)."""
    records = blank = 0
    for record in _records(source):
        records += 1
        blank += not record.text
        yield record
    if records == blank:
        raise UsageError(f"{source.path}: no lines to rewrite ({_emptiness(source, records)})")


def _emptiness(source: InputSource, records: int) -> str:
    unit = "row" if source.format == "csv" else "line"
    if records:
        return f"{records} blank {unit}{'s' if records > 1 else ''}"
    return "only a header" if source.format == "csv" else "the file is empty"


def check_input(source: InputSource) -> int:
    """Read the whole file once, before anything is sent; the number of records."""
    return sum(1 for _ in read_input(source))


def survey(
    source: InputSource, screen: InputScreen, rejections: Path, *, fsync: bool
) -> InputCounts:
    """Read and screen the whole file before anything is sent: a bad record stops the
    run here (UsageError naming file:line); the lines rejected without a request
    (duplicates too) go to `rejections`, one JSON object a line; the counts come back."""

    def lines() -> Iterator[str]:
        for record in read_input(source):
            outcome = screen.screen(record)
            if isinstance(outcome, InputRejection):
                yield json.dumps(outcome.to_json(), ensure_ascii=False) + "\n"

    atomic_write_text(rejections, lines(), fsync=fsync)
    return screen.counts


def items(source: InputSource, screen: InputScreen) -> Iterator[InputItem]:
    """The inputs to send, in file order, numbered as `survey` numbered them."""
    for record in read_input(source):
        outcome = screen.screen(record)
        if isinstance(outcome, InputItem):
            yield outcome
