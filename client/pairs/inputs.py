"""The user's own sentences, one record at a time: parsing, screening, batching. Pure.

A record becomes, in this order of checks:

- nothing, when its text is empty (a blank line is not an input);
- a `duplicate` rejection, when an earlier line has the same text, exactly or once
  normalised (NFKC, case, whitespace and punctuation folded); it is sent once;
- a rejection without a request (`length`, `not_japanese`, `control_chars`), when no
  rewrite of it could ever pass validation;
- an `InputItem` to send, numbered 1, 2, 3 ... in file order.

The numbers and keys depend only on the file's contents, so a second session over the
same file finds the same items again (`key`: the digest of the normalised text), and
the screen fingerprints the file as it reads it (client.pairs.fingerprint).
Reading the file (encodings, line numbers, errors naming file:line) is
`client.storage.inputs`; this module turns each record's fields into text.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from client.pairs.dedup import normalise
from client.pairs.digests import DigestMap, DigestSet, digest64, hex64
from client.pairs.fingerprint import InputDigest, InputFingerprint
from client.pairs.schema import PairRules

InputFormat = Literal["txt", "jsonl", "csv"]
INPUT_FORMATS: dict[str, InputFormat] = {".txt": "txt", ".jsonl": "jsonl", ".csv": "csv"}
DEFAULT_FIELD = "standard"
_CONTROL = re.compile(r"[\u0000-\u001f\u007f-\u009f]")


def input_format(suffix: str) -> InputFormat | None:
    """The format a file name's suffix says, or None for one this tool does not read."""
    return INPUT_FORMATS.get(suffix.lower())


@dataclass(frozen=True, slots=True)
class InputLine:
    line: int  # 1-based line of the file where the record starts
    text: str  # surrounding whitespace trimmed; nothing else changed


@dataclass(frozen=True, slots=True)
class InputItem:
    id: int  # 1-based among the inputs sent, in file order
    line: int
    text: str
    key: str  # hex digest of the normalised text: the input's identity across sessions

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "line": self.line, "key": self.key}


@dataclass(frozen=True, slots=True)
class InputRejection:
    line: int
    text: str
    reason: str
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "text": self.text, "reason": self.reason, "detail": self.detail}


def text_of_json(raw: str, field_name: str) -> str | None:
    """The text of one JSON Lines record; None for a blank line. ValueError says why not."""
    if not raw.strip():
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"not a JSON object: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError(f"a JSON {type(value).__name__}, not an object")
    if field_name not in value:
        raise ValueError(f"no field {field_name!r} (fields: {', '.join(map(str, value))})")
    text = value[field_name]
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValueError(f"field {field_name!r} is a {type(text).__name__}, not a string")
    return text


def column_of(header: Sequence[str], field_name: str) -> int:
    """The index of the column named `field_name`; ValueError names the columns there are."""
    names = [name.strip().lstrip("\ufeff") for name in header]
    if field_name not in names:
        raise ValueError(f"no column {field_name!r} (columns: {', '.join(names) or 'none'})")
    return names.index(field_name)


def text_of_row(row: Sequence[str], column: int, width: int) -> str | None:
    if not row or not any(cell.strip() for cell in row):
        return None
    if len(row) != width:
        raise ValueError(f"{len(row)} fields where the header has {width}")
    return row[column]


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).digest()


@dataclass
class InputCounts:
    lines: int = 0  # records read, blank ones included
    empty: int = 0
    duplicates_exact: int = 0
    duplicates_normalised: int = 0
    sent: int = 0  # unique inputs that go to the model
    rejected: Counter[str] = field(default_factory=Counter)  # before any request

    def to_json(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "empty": self.empty,
            "duplicates_exact": self.duplicates_exact,
            "duplicates_normalised": self.duplicates_normalised,
            "unique": self.sent,
            "rejected_before_request": dict(self.rejected.most_common()),
        }


class InputScreen:
    """Decides, line by line, what is sent. Memory: two 8-byte digests per unique line
    (and its line number), about 40 bytes in all."""

    def __init__(self, rules: PairRules) -> None:
        self.rules = rules
        self.counts = InputCounts()
        self._exact = DigestSet()
        self._normalised = DigestMap()  # digest -> first line with it
        self._lines = InputDigest()

    def _problem(self, text: str) -> tuple[str, str] | None:
        rules = self.rules
        if _CONTROL.search(text):
            return "control_chars", "holds a tab or another control character"
        if not rules.standard_min_chars <= len(text) <= rules.standard_max_chars:
            return "length", (
                f"{len(text)} characters, outside "
                f"{rules.standard_min_chars}..{rules.standard_max_chars}"
            )
        problem = rules.japanese_problem(text)
        return ("not_japanese", problem) if problem else None

    def screen(self, record: InputLine) -> InputItem | InputRejection | None:
        counts = self.counts
        counts.lines += 1
        text = record.text
        if not text:
            counts.empty += 1
            return None
        normalised = normalise(text)
        self._lines.add(normalised)
        folded = _digest(normalised)
        new_text = self._exact.add(digest64(_digest(text)))
        first = self._normalised.setdefault(digest64(folded), record.line)
        if first is not None:
            if new_text:
                counts.duplicates_normalised += 1
            else:
                counts.duplicates_exact += 1
            return InputRejection(record.line, text, "duplicate", f"same as line {first}")
        problem = self._problem(text)
        if problem is not None:
            counts.rejected[problem[0]] += 1
            return InputRejection(record.line, text, *problem)
        counts.sent += 1
        return InputItem(id=counts.sent, line=record.line, text=text, key=folded.hex())

    def fingerprint(self, file: str) -> InputFingerprint:
        """The file as screened so far (the whole of it, after the last record)."""
        return InputFingerprint(file, self.counts.lines, self._lines.hexdigest())


def batches_of(
    items: Iterable[InputItem], size: int, *, done: DigestSet | None = None
) -> Iterator[list[InputItem]]:
    """The inputs not yet done (`done`: their keys' digests), `size` at a time, in file order."""
    batch: list[InputItem] = []
    for item in items:
        if done and hex64(item.key) in done:
            continue
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def free_indexes(taken: Iterable[int]) -> Iterator[int]:
    """Batch numbers not held by a finished batch, ascending: a resumed session refills
    the slots of failed batches first, so no failed record outlives its inputs."""
    taken_set = set(taken)
    index = 1
    while True:
        if index not in taken_set:
            yield index
        index += 1
