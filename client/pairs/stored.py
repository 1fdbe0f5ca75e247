"""The records the tool reads back from its files, typed. Pure: storage reads the
files and hands their JSON objects to `from_json`; `to_json` gives the same objects back.

| model | what it is | where it is stored |
| --- | --- | --- |
| `StoredPair` | a pair as a raw file or a dataset holds it | raw `accepted`, dataset `pairs` |
| `InputRef` | the input line a pair or rejection belongs to (`generate --input`) | their `input` |
| `StoredRejection` | an item the run turned down | raw `rejected` |
| `SetAside` | a pair `client judge` left out of its dataset | NAME.rejected.jsonl |
| `DatasetMetadata` | a dataset's metadata | dataset `metadata` |

Reading is lenient, as the readers always were: a missing field is empty (None; ""
for a pair's two lines). A field this version does not know, or one whose value it
cannot read (a `quality` that is not a number, grades not in the judge's shape), is
kept as it was in `extra` and written back unchanged: a pair a newer version wrote
keeps its fields through an export, a review or `client judge` made with this one.
`to_json` writes the known fields in the order the run writes them, then the others.

These are frozen dataclasses with slots, not pydantic models: a run reads back up to
tens of thousands of pairs, a slots instance is a third of the size of the dict it
replaces (a pydantic model is larger than the dict), and validation here is the
lenient reading above, not a schema to refuse files by.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from client.pairs.judge import CRITERIA, GRADE_MAX, GRADE_MIN, STORED_REASON_CHARS, Grades

# Fields kept as they were read: (name, JSON value) in file order. A tuple, not a
# dict: most records have none, and the empty tuple is shared and immutable.
Extra = tuple[tuple[str, Any], ...]


class _Unread:
    """A value a field's reader could not read: the field goes to `extra`."""


_UNREAD = _Unread()
# How a field is read: the JSON types its value may have (taken as it is: an int
# quality stays an int, so a round trip writes the same bytes), or a function that
# answers the typed value or _UNREAD. Exact types: a bool is no number here.
Reader = frozenset[type] | Callable[[Any], Any]
_TEXT: Reader = frozenset({str})
_WHOLE: Reader = frozenset({int})
_NUMBER: Reader = frozenset({int, float})
_GRADE_FIELDS = frozenset((*CRITERIA, "topic_ok", "reason"))


def _true(value: Any) -> Any:
    return True if value is True else _UNREAD


def _any(value: Any) -> Any:
    return value


def _grades(value: Any) -> Any:
    """Grades exactly as `Grades.to_json` writes them (so they are written back the
    same); anything else stays as it was."""
    if not isinstance(value, Mapping) or value.keys() != _GRADE_FIELDS:
        return _UNREAD
    grades = Grades(**value)
    reason = grades.reason
    exact = (
        type(reason) is str
        and type(grades.topic_ok) is bool
        and _grade(grades.meaning)
        and _grade(grades.voice)
        and _grade(grades.naturalness)
        and _grade(grades.safety)
        and reason == " ".join(reason.split())[:STORED_REASON_CHARS]
    )
    return grades if exact else _UNREAD


def _grade(value: Any) -> bool:
    return type(value) is int and GRADE_MIN <= value <= GRADE_MAX


def _read(data: Mapping[str, Any], readers: Mapping[str, Reader]) -> tuple[dict[str, Any], Extra]:
    """The typed values of the fields `readers` knows, and everything else as it was."""
    values: dict[str, Any] = {}
    extra: list[tuple[str, Any]] = []
    for key, value in data.items():
        reader = readers.get(key)
        if reader is None:
            extra.append((key, value))
        elif isinstance(reader, frozenset):
            if type(value) in reader:
                values[key] = value
            else:
                extra.append((key, value))
        elif (typed := reader(value)) is _UNREAD:
            extra.append((key, value))
        else:
            values[key] = typed
    return values, tuple(extra)


def _written(values: Iterable[tuple[str, Any]], extra: Extra) -> dict[str, Any]:
    """The JSON object: the known fields that have a value, then `extra` (where it
    holds a known field, its value as read wins: the typed one is only a default)."""
    data = {key: value for key, value in values if value is not None}
    data.update(extra)
    return data


def _value(extra: Extra, name: str) -> Any:
    return next((value for key, value in extra if key == name), None)


def _without(extra: Extra, names: Iterable[str]) -> Extra:
    drop = set(names)
    return tuple((k, v) for k, v in extra if k not in drop) if extra else extra


@dataclass(frozen=True, slots=True, kw_only=True)
class InputRef:
    """The input line an outcome belongs to: `{"id", "line", "key"}`, plus
    `"tied_by": "text"` when the reply's item was tied to it by its text."""

    id: int | None = None  # 1-based among the inputs sent
    line: int | None = None  # the file's line
    key: str | None = None  # hex digest of the normalised text
    tied_by: str | None = None
    extra: Extra = ()

    @property
    def tied_by_text(self) -> bool:
        return self.tied_by == "text"

    def to_json(self) -> dict[str, Any]:
        return _written(
            (("id", self.id), ("line", self.line), ("key", self.key), ("tied_by", self.tied_by)),
            self.extra,
        )

    @classmethod
    def from_json(cls, data: Any) -> InputRef | None:
        """None when `data` is not an object."""
        if not isinstance(data, Mapping):
            return None
        values, extra = _read(data, _INPUT_FIELDS)
        return cls(**values, extra=extra)


_INPUT_FIELDS: dict[str, Reader] = {"id": _WHOLE, "line": _WHOLE, "key": _TEXT, "tied_by": _TEXT}


def _input(value: Any) -> Any:
    ref = InputRef.from_json(value)
    return ref if ref is not None else _UNREAD


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredPair:
    """A pair as a raw batch file (`accepted`) or a dataset (`pairs`) holds it.

    The run writes the fields from `id` to `check_note` (client.pairs.records.Pair);
    the dataset rebuild adds `unjudged` (let in without the judge's grades); a review
    adds `rescued_from` (an item the run rejected that a person accepted) and
    `edited_from` (the persona line before a person edited it)."""

    standard: str = ""
    gyaru: str = ""
    id: str | None = None
    batch: int | None = None
    topic: str | None = None
    generated_at: str | None = None
    quality: float | None = None
    input: InputRef | None = None
    judge: Grades | None = None
    check_note: str | None = None
    rescued_from: str | None = None
    edited_from: str | None = None
    unjudged: bool = False
    extra: Extra = ()

    @property
    def graded(self) -> bool:
        """Whether the pair carries the judge's grades (in a shape this version reads
        or not: any object under `judge`)."""
        return self.judge is not None or isinstance(self.extra_value("judge"), Mapping)

    @property
    def judge_json(self) -> Mapping[str, Any] | None:
        """The judge's grades as stored (None: not graded)."""
        if self.judge is not None:
            return self.judge.to_json()
        stored = self.extra_value("judge")
        return stored if isinstance(stored, Mapping) else None

    @property
    def position(self) -> int:
        """The pair's position in its batch's reply: ids end in it (`<run>-b0003-012`);
        -1 when the id says none."""
        try:
            return int((self.id or "").rsplit("-", 1)[-1])
        except ValueError:
            return -1

    def extra_value(self, name: str) -> Any:
        """A field kept as it was read (None when there is none)."""
        return _value(self.extra, name)

    def changed(self, **changes: Any) -> StoredPair:
        """This pair with `changes` to its known fields (what was kept of those fields
        as read is dropped: the new value is the pair's)."""
        return replace(self, **changes, extra=_without(self.extra, changes))

    def graded_by(self, grades: Grades) -> StoredPair:
        """This pair as the judge kept it: its grades, no longer `unjudged`."""
        return self.changed(judge=grades, unjudged=False)

    def to_json(self) -> dict[str, Any]:
        # Field by field, not through _written: the rebuild writes every pair of a run.
        data: dict[str, Any] = {}
        if self.id is not None:
            data["id"] = self.id
        if self.batch is not None:
            data["batch"] = self.batch
        if self.topic is not None:
            data["topic"] = self.topic
        data["standard"] = self.standard
        data["gyaru"] = self.gyaru
        if self.generated_at is not None:
            data["generated_at"] = self.generated_at
        if self.quality is not None:
            data["quality"] = self.quality
        if self.input is not None:
            data["input"] = self.input.to_json()
        if self.judge is not None:
            data["judge"] = self.judge.to_json()
        for name in ("check_note", "rescued_from", "edited_from"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        if self.unjudged:
            data["unjudged"] = True
        if self.extra:
            data.update(self.extra)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StoredPair:
        values, extra = _read(data, _PAIR_FIELDS)
        return cls(**values, extra=extra)


_PAIR_FIELDS: dict[str, Reader] = {
    "id": _TEXT,
    "batch": _WHOLE,
    "topic": _TEXT,
    "standard": _TEXT,
    "gyaru": _TEXT,
    "generated_at": _TEXT,
    "quality": _NUMBER,
    "input": _input,
    "judge": _grades,
    "check_note": _TEXT,
    "rescued_from": _TEXT,
    "edited_from": _TEXT,
    "unjudged": _true,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredRejection:
    """An item the run turned down, as a raw batch file holds it: its position in the
    reply (`index`; -1 for an input the reply had no item for), the reason code, the
    detail for a person, the item as the model returned it (any JSON value; for the
    judge's rejections, the pair with its grades) and its input line, if any."""

    index: int | None = None
    reason: str | None = None
    detail: str | None = None
    item: Any = None
    input: InputRef | None = None
    extra: Extra = ()

    @property
    def item_pair(self) -> StoredPair | None:
        """The item read as a pair (None when it is not an object)."""
        return StoredPair.from_json(self.item) if isinstance(self.item, Mapping) else None

    def extra_value(self, name: str) -> Any:
        """A field kept as it was read (None when there is none)."""
        return _value(self.extra, name)

    def to_json(self) -> dict[str, Any]:
        data = _written(
            (("index", self.index), ("reason", self.reason), ("detail", self.detail)), ()
        )
        # Every writer writes the item, null included (the model's item may be null).
        data["item"] = self.item
        if self.input is not None:
            data["input"] = self.input.to_json()
        data.update(self.extra)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StoredRejection:
        values, extra = _read(data, _REJECTION_FIELDS)
        return cls(**values, extra=extra)


_REJECTION_FIELDS: dict[str, Reader] = {
    "index": _WHOLE,
    "reason": _TEXT,
    "detail": _TEXT,
    "item": _any,
    "input": _input,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class SetAside:
    """A pair `client judge` left out of the dataset it wrote, with the judge's reason,
    detail and grades (one JSON object a line of NAME.rejected.jsonl)."""

    pair: StoredPair
    reason: str | None = None
    detail: str | None = None
    judge: Grades | None = None
    extra: Extra = ()

    @property
    def judge_json(self) -> Mapping[str, Any] | None:
        """The grades as stored here, else those the pair carries."""
        if self.judge is not None:
            return self.judge.to_json()
        stored = _value(self.extra, "judge")
        return stored if isinstance(stored, Mapping) and stored else self.pair.judge_json

    def to_json(self) -> dict[str, Any]:
        return _written(
            (
                ("reason", self.reason),
                ("detail", self.detail),
                ("judge", self.judge.to_json() if self.judge is not None else None),
                ("pair", self.pair.to_json()),
            ),
            self.extra,
        )

    @classmethod
    def from_json(cls, data: Any) -> SetAside | None:
        """None when `data` is not an object holding a pair object."""
        if not isinstance(data, Mapping) or not isinstance(data.get("pair"), Mapping):
            return None
        values, extra = _read(data, _SET_ASIDE_FIELDS)
        return cls(**values, extra=extra)


_SET_ASIDE_FIELDS: dict[str, Reader] = {
    "reason": _TEXT,
    "detail": _TEXT,
    "judge": _grades,
    "pair": lambda value: StoredPair.from_json(value),
}


def _optional_text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class DatasetMetadata:
    """A dataset's metadata, kept as its file holds it, with a typed view of what the
    commands read. Its `config` (the settings snapshot, which `Settings` validates)
    and `summary` (the run's numbers) stay free-form JSON."""

    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def run_id(self) -> str | None:
        return _optional_text(self.data.get("run_id"))

    @property
    def persona(self) -> str | None:
        return _optional_text(self.data.get("persona"))

    @property
    def model(self) -> str | None:
        return _optional_text(self.data.get("model"))

    @property
    def created_at(self) -> str | None:
        return _optional_text(self.data.get("created_at"))

    @property
    def system_prompt_sha256(self) -> str | None:
        return _optional_text(self.data.get("system_prompt_sha256"))

    @property
    def config(self) -> Mapping[str, Any] | None:
        """The settings the dataset was made with, as a snapshot (None: none kept)."""
        config = self.data.get("config")
        return config if isinstance(config, Mapping) else None

    @property
    def summary(self) -> Mapping[str, Any]:
        summary = self.data.get("summary")
        return summary if isinstance(summary, Mapping) else {}

    @property
    def near_duplicates(self) -> int | None:
        """How many near duplicates the run that made the dataset left out, if it says."""
        near = self.summary.get("near_duplicates")
        return near if isinstance(near, int) and not isinstance(near, bool) else None

    @property
    def review(self) -> Mapping[str, Any] | None:
        """What a review did to the pairs (set on the dataset as reviewed, for export)."""
        review = self.data.get("review")
        return review if isinstance(review, Mapping) else None

    def with_fields(self, **values: Any) -> DatasetMetadata:
        """This metadata with `values` set (after the rest, or in their place)."""
        return DatasetMetadata({**self.data, **values})

    def to_json(self) -> dict[str, Any]:
        return dict(self.data)

    @classmethod
    def from_json(cls, data: Any) -> DatasetMetadata:
        """Anything but an object reads as no metadata."""
        return cls(dict(data) if isinstance(data, Mapping) else {})
