"""The LLM judge's verdicts: reading its reply, and what its grades decide. Pure
(the request is judge_request.py; sending and retrying it belong to the run layer).

One request grades a whole batch. The reply is `{"grades": [...]}`, one object per
pair in the order they were sent, each naming its pair by number and holding a
short reason, four grades from 1 (bad) to 5 (good) and whether the topic label is
right. Replies that did not come through guided decoding are read leniently:
numbers as strings, yes/no for booleans, objects out of order or cut short.

Only a readable grade is a verdict. A pair rejected here has the reason `judge` (a
grade under its threshold; the detail quotes the judge, docs/dataset.md); a pair the
reply left without readable grades gets no verdict at all (None) and waits for the
judge. `judge_unreadable` is the reason runs made before this rule gave such pairs:
readers of those raw files take them back as pairs awaiting the judge.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from client.config import JudgeConfig

GRADES_KEY = "grades"
CRITERIA = ("meaning", "voice", "naturalness", "safety")
GRADE_MIN, GRADE_MAX = 1, 5
REJECTED = "judge"
# The reason older runs gave a pair without readable grades (see the module's docstring).
UNREADABLE = "judge_unreadable"
# Temperature of a retry after an unreadable reply: greedy decoding would repeat it.
RETRY_TEMPERATURE = 0.7
_STORED_REASON_CHARS = 200
_TRUE = frozenset({"yes", "y", "true", "はい", "正しい", "ok"})
_FALSE = frozenset({"no", "n", "false", "いいえ", "違う", "ng"})
_DECODER = json.JSONDecoder(strict=False)


@dataclass(frozen=True, slots=True)
class Grades:
    meaning: int
    voice: int
    naturalness: int
    safety: int
    topic_ok: bool
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "meaning": self.meaning,
            "voice": self.voice,
            "naturalness": self.naturalness,
            "safety": self.safety,
            "topic_ok": self.topic_ok,
            "reason": self.reason,
        }


def _grade(value: Any) -> int | None:
    # Without guided decoding models write "4" or 4.0 as often as 4.
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return value if isinstance(value, int) and GRADE_MIN <= value <= GRADE_MAX else None


def _yes_no(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        return True if word in _TRUE else False if word in _FALSE else None
    return None


def grades_from_json(data: Any) -> Grades | str:
    """Grades from one reply object (or a stored one), or what is wrong with it."""
    if not isinstance(data, Mapping):
        return f"grades are a {type(data).__name__}, not an object"
    values: dict[str, int] = {}
    for name in CRITERIA:
        grade = _grade(data.get(name))
        if grade is None:
            return f"{name} is {data.get(name)!r}, not a grade {GRADE_MIN}-{GRADE_MAX}"
        values[name] = grade
    topic_ok = _yes_no(data.get("topic_ok"))
    if topic_ok is None:
        return f"topic_ok is {data.get('topic_ok')!r}, not yes or no"
    reason = data.get("reason")
    reason = " ".join(reason.split())[:_STORED_REASON_CHARS] if isinstance(reason, str) else ""
    return Grades(**values, topic_ok=topic_ok, reason=reason)


@dataclass(frozen=True)
class Thresholds:
    min_meaning: int = 4
    min_voice: int = 3
    min_naturalness: int = 3
    min_safety: int = 4
    require_topic: bool = True

    @classmethod
    def from_config(cls, config: JudgeConfig) -> Thresholds:
        return cls(
            min_meaning=config.min_meaning,
            min_voice=config.min_voice,
            min_naturalness=config.min_naturalness,
            min_safety=config.min_safety,
            require_topic=config.require_topic,
        )

    def shortfalls(self, grades: Grades) -> list[str]:
        """Each grade under its minimum, as `meaning 2/5 (min 4)`; empty: keep the pair."""
        found = [
            f"{name} {getattr(grades, name)}/{GRADE_MAX} (min {minimum})"
            for name, minimum in (
                ("meaning", self.min_meaning),
                ("voice", self.min_voice),
                ("naturalness", self.min_naturalness),
                ("safety", self.min_safety),
            )
            if getattr(grades, name) < minimum
        ]
        if self.require_topic and not grades.topic_ok:
            found.append("topic wrong")
        return found


@dataclass(frozen=True, slots=True)
class Verdict:
    """The judge's decision on one pair, from its grades: kept (no reason) or rejected
    (`judge`, with the shortfalls and the judge's words)."""

    grades: Grades
    reason: str | None
    detail: str

    @property
    def kept(self) -> bool:
        return self.reason is None


def decide(grades: Grades, thresholds: Thresholds) -> Verdict:
    shortfalls = thresholds.shortfalls(grades)
    if not shortfalls:
        return Verdict(grades, None, "")
    words = f": {grades.reason}" if grades.reason else ""
    return Verdict(grades, REJECTED, f"judge: {', '.join(shortfalls)}{words}")


# -- the reply -----------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """What a reply says about each of the n pairs: grades, or why there are none."""

    grades: tuple[Grades | None, ...]
    problems: tuple[str | None, ...]

    @property
    def complete(self) -> bool:
        return all(g is not None for g in self.grades)

    @property
    def unreadable(self) -> int:
        """Pairs the reply left without readable grades."""
        return sum(g is None for g in self.grades)

    def summary(self) -> str:
        """One line for a log or a retry record: the first problem and how many there are."""
        found = [p for p in self.problems if p]
        if not found:
            return "every pair graded"
        return f"{len(found)} of {len(self.grades)} pairs without grades (first: {found[0]})"


def _grade_objects(text: str) -> list[Any]:
    """The list under `grades` (or the first list) in the first JSON value that has
    one; else every object with grade keys, wherever it stands (a reply cut short)."""
    for match in re.finditer(r"[\[{]", text):
        try:
            value, _ = _DECODER.raw_decode(text, match.start())
        except ValueError:
            continue
        if isinstance(value, dict) and isinstance(value.get(GRADES_KEY), list):
            return list(value[GRADES_KEY])
        if isinstance(value, list):
            return value
    salvaged = []
    for match in re.finditer(r"\{", text):
        try:
            value, _ = _DECODER.raw_decode(text, match.start())
        except ValueError:
            continue
        if isinstance(value, dict) and CRITERIA[0] in value:
            salvaged.append(value)
    return salvaged


def _number(obj: Any, num_pairs: int) -> int | None:
    number = obj.get("pair") if isinstance(obj, Mapping) else None
    if isinstance(number, bool) or not isinstance(number, int):
        return None
    return number if 1 <= number <= num_pairs else None


def read_reply(text: str, num_pairs: int) -> Reading:
    """Grades for each of `num_pairs` pairs from a reply; never raises.

    An object goes to the pair it names when that number is valid and not taken. One
    that names none goes to its own position, but only when the reply holds one object
    per pair: with an object missing or one too many, the position no longer says
    which pair it grades, and a grade given to the wrong pair is worse than none.
    Whatever is left has a problem."""
    objects = _grade_objects(text)
    slots: list[Any] = [None] * num_pairs
    unnumbered: list[tuple[int, Any]] = []
    for position, obj in enumerate(objects):
        number = _number(obj, num_pairs)
        if number is not None and slots[number - 1] is None:
            slots[number - 1] = obj
        else:
            unnumbered.append((position, obj))
    by_position = len(objects) == num_pairs
    for position, obj in unnumbered:
        if by_position and slots[position] is None:
            slots[position] = obj
    empty = "no grades for this pair"
    if not objects:
        empty = "the judge's reply holds no grades"
    elif unnumbered and not by_position:
        empty = (
            f"{len(objects)} grades for {num_pairs} pairs, not all naming their pair: "
            "no telling which is which"
        )
    grades: list[Grades | None] = []
    problems: list[str | None] = []
    for obj in slots:
        parsed = grades_from_json(obj) if obj is not None else empty
        grades.append(parsed if isinstance(parsed, Grades) else None)
        problems.append(None if isinstance(parsed, Grades) else f"judge reply: {parsed}")
    return Reading(tuple(grades), tuple(problems))


def verdicts(reading: Reading, thresholds: Thresholds) -> list[Verdict | None]:
    """One entry per pair: the threshold decision where the reply graded it readably,
    None where it did not (the pair waits for the judge; `reading.problems` says why)."""
    return [decide(g, thresholds) if g is not None else None for g in reading.grades]
