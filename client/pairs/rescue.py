"""The items a run turned down, as a review sees them, and what rescuing one adds to
the dataset. Pure.

A run keeps every item it rejected in its raw batch files (`rejected`: reason,
detail, the item); `client judge` keeps the pairs it set aside beside its dataset.
The review page lists them; a person who disagrees with the run accepts one (or
edits its persona line), and the decision, with the item itself, is kept in the
review file. Export and stats then add the item to the dataset as a pair; the
dataset file is never changed. These are the labels calibration needs most: a
good line the checks called bad.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from client.pairs.judge import Grades, grades_from_json

# Reasons that say nothing about how a pair reads: the item never was a whole pair.
STRUCTURAL_REASONS = frozenset({"schema", "empty", "misaligned", "missing"})
# The judge only sees what the checks kept: its rejections passed the checks.
JUDGE_REASONS = frozenset({"judge", "judge_unreadable"})


def checks_passed(reason: str) -> bool | None:
    """What the run's checks (validation and the pair checks) said of an item turned
    down for `reason`: True (passed; the judge turned it down), False, or None (no
    verdict on the lines: the item was not a pair)."""
    if reason in JUDGE_REASONS:
        return True
    return None if reason in STRUCTURAL_REASONS else False


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


@dataclass(frozen=True, slots=True)
class RunItem:
    """One item the run (or `client judge`) turned down."""

    id: str
    batch: int
    topic: str
    standard: str
    gyaru: str
    reason: str
    detail: str
    judge: Grades | None = None
    quality: float | None = None

    @property
    def rescuable(self) -> bool:
        """Whether there are two lines to accept: an item that was not an object, or
        lacks a line, can only be read."""
        return bool(self.standard.strip() and self.gyaru.strip())

    @property
    def checks(self) -> bool | None:
        return checks_passed(self.reason)

    def with_quality(self, quality: float) -> RunItem:
        return replace(self, quality=quality)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "batch": self.batch,
            "topic": self.topic,
            "standard": self.standard,
            "gyaru": self.gyaru,
            "reason": self.reason,
            "detail": self.detail,
            "judge": self.judge.to_json() if self.judge is not None else None,
            "quality": self.quality,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunItem:
        """An item as to_json wrote it (the review file); ValueError for anything else."""
        for key in ("id", "standard", "gyaru", "reason"):
            if not isinstance(data.get(key), str):
                raise ValueError(f"the item's {key!r} is not a string")
        batch, quality = data.get("batch"), data.get("quality")
        grades = grades_from_json(data["judge"]) if data.get("judge") is not None else None
        return cls(
            id=data["id"],
            batch=batch if isinstance(batch, int) and not isinstance(batch, bool) else 0,
            topic=_text(data.get("topic")),
            standard=data["standard"],
            gyaru=data["gyaru"],
            reason=data["reason"],
            detail=_text(data.get("detail")),
            judge=grades if isinstance(grades, Grades) else None,
            quality=float(quality) if isinstance(quality, int | float) else None,
        )


def run_item(item_id: str, batch: int, rejection: Mapping[str, Any]) -> RunItem:
    """A rejection as a raw batch file keeps it (`{"index", "reason", "detail", "item"}`,
    the item with the judge's grades for the judge's rejections)."""
    item = rejection.get("item")
    if isinstance(item, dict):
        standard, gyaru, topic = (
            _text(item.get("standard")),
            _text(item.get("gyaru")),
            item.get("topic"),
        )
        stored = item.get("judge") if item.get("judge") is not None else rejection.get("judge")
    else:
        # Not even an object: show what the model wrote, as text.
        standard, gyaru, topic, stored = json.dumps(item, ensure_ascii=False), "", "", None
    grades = grades_from_json(stored) if stored is not None else None
    return RunItem(
        id=item_id,
        batch=batch,
        topic=_text(topic),
        standard=standard,
        gyaru=gyaru,
        reason=str(rejection.get("reason", "?")),
        detail=str(rejection.get("detail", "")),
        judge=grades if isinstance(grades, Grades) else None,
    )


def rescued_pair(item: RunItem, gyaru: str | None) -> dict[str, Any]:
    """The pair a rescue adds to the dataset: the item as the run wrote it (with the
    person's persona line when they edited it), and the reason the run gave."""
    pair: dict[str, Any] = {
        "id": item.id,
        "batch": item.batch,
        "topic": item.topic,
        "standard": item.standard,
        "gyaru": gyaru if gyaru is not None else item.gyaru,
        "rescued_from": item.reason,
    }
    if gyaru is not None:
        pair["edited_from"] = item.gyaru
    if item.quality is not None and math.isfinite(item.quality):
        pair["quality"] = item.quality
    if item.judge is not None:
        pair["judge"] = item.judge.to_json()
    return pair
