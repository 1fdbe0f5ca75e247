"""The gates a run keeps pairs by, learned from people's labels. Pure.

Most of what decides a pair is rules that are right or wrong on their own (a number
changed, a keigo ending, an insult). A few are thresholds on a score, and where to
put them is a matter of taste that the user's own review settles best:

| gate | config key | rejects a pair when |
| --- | --- | --- |
| drift | `checks.meaning.max_missing_share` | more of the standard line's word weight is gone |
| near copy | `checks.near_copy.ratio` | the lines' skeletons are at least this alike |
| quality | `validation.min_quality` | its quality score is below |
| judge | `judge.min_meaning` ... `min_safety` | a grade is below (labels with grades only) |

`measure` computes, once per labelled item, what each gate looks at (and whether
something else rejects it whatever the gates); `suggest` then tries every setting on
a grid, with each gate's rejections as a bit mask, and keeps the one whose verdicts
agree best with the labels (Cohen's kappa), the nearest to today's among those
within TOLERANCE of the best.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import product
from typing import Any

from client.pairs.calibration import Agreement, LabelledItem, Verdict
from client.pairs.checks import PairChecker
from client.pairs.checks.line import Line
from client.pairs.checks.meaning import drift
from client.pairs.checks.register import copy_similarity
from client.pairs.judge import CRITERIA
from client.pairs.quality import quality_score
from client.pairs.records import Pair
from client.pairs.validate import ValidationContext, validate_item

DRIFT_GRID = tuple(round(0.2 + 0.05 * i, 2) for i in range(17))  # 0.2 .. 1.0
RATIO_GRID = tuple(round(0.6 + 0.05 * i, 2) for i in range(9))  # 0.6 .. 1.0
QUALITY_GRID = tuple(round(0.05 * i, 2) for i in range(20))  # 0.0 .. 0.95
GRADE_GRID = (1, 2, 3, 4, 5)
# Settings this close to the best kappa count as equal, and the nearest to today's wins:
# a gate moves only when the labels say so by more than one or two items' worth.
TOLERANCE = 0.01


@dataclass(frozen=True, slots=True)
class Gates:
    max_missing_share: float
    near_copy_ratio: float
    min_quality: float
    # min meaning, voice, naturalness, safety; None where the labels carry no grades.
    judge: tuple[int, int, int, int] | None = None

    def overlay(self, note_missing_share: float) -> dict[str, Any]:
        """The gates as config sections (a file `--config` takes after the persona's)."""
        data: dict[str, Any] = {
            "checks": {
                "meaning": {
                    "max_missing_share": self.max_missing_share,
                    # The judge's band stays below the reject gate.
                    "note_missing_share": min(note_missing_share, self.max_missing_share),
                },
                "near_copy": {"ratio": self.near_copy_ratio},
            },
            "validation": {"min_quality": self.min_quality},
        }
        if self.judge is not None:
            data["judge"] = {f"min_{c}": g for c, g in zip(CRITERIA, self.judge, strict=True)}
        return data

    def rows(self) -> list[tuple[str, float | int]]:
        found: list[tuple[str, float | int]] = [
            ("checks.meaning.max_missing_share", self.max_missing_share),
            ("checks.near_copy.ratio", self.near_copy_ratio),
            ("validation.min_quality", self.min_quality),
        ]
        if self.judge is not None:
            found += [(f"judge.min_{c}", g) for c, g in zip(CRITERIA, self.judge, strict=True)]
        return found


@dataclass(frozen=True, slots=True)
class Measured:
    """What the gates look at in one labelled item."""

    fixed: bool  # rejected whatever the gates (the schema, a sure rule)
    drift: float  # share of the standard line's word weight gone
    copy: float | None  # skeleton similarity; None: in the persona's register
    quality: float
    grades: Mapping[str, int | bool] | None
    topic_ok: bool = True


def today(ctx: ValidationContext, judge: Mapping[str, int] | None) -> Gates:
    checker = ctx.checker
    meaning = None if checker is None else checker.config.meaning
    return Gates(
        max_missing_share=1.0 if meaning is None else meaning.max_missing_share,
        near_copy_ratio=1.0 if checker is None else checker.config.near_copy.ratio,
        min_quality=ctx.min_quality,
        judge=None if judge is None else tuple(judge[f"min_{c}"] for c in CRITERIA),  # type: ignore[arg-type]
    )


def _open(ctx: ValidationContext) -> ValidationContext:
    """Validation with every gate open: what it rejects, no gate lets through."""
    checker = ctx.checker
    if checker is not None:
        config = checker.config
        meaning = config.meaning.model_copy(update={"max_missing_share": 1.0})
        near = config.near_copy.model_copy(update={"ratio": 1.0})
        opened = config.model_copy(
            update={
                "meaning": meaning,
                "near_copy": near,
                "disabled": (*config.disabled, "near_copy"),
            }
        )
        checker = PairChecker(opened, checker.first_person)
    return replace(ctx, checker=checker, min_quality=0.0)


def measure(items: Sequence[LabelledItem], ctx: ValidationContext) -> list[Measured]:
    opened, checker = _open(ctx), ctx.checker
    first_person = ctx.rules.first_person
    found = []
    for item in items:
        raw = {"topic": item.topic, "standard": item.standard, "gyaru": item.gyaru}
        outcome = validate_item(0, raw, ctx=opened, pair_id="x", batch=0, generated_at="")
        share, copy = 0.0, None
        if checker is not None:
            lines = (
                Line(item.standard, checker.first_person),
                Line(item.gyaru, checker.first_person),
            )
            share = drift(*lines, checker.config.meaning)[0]
            if "near_copy" not in checker.config.disabled:
                copy = copy_similarity(*lines, checker.config.near_copy)
        grades = item.grades
        found.append(
            Measured(
                fixed=not isinstance(outcome, Pair),
                drift=share,
                copy=copy,
                quality=quality_score(item.standard, item.gyaru, ctx.style_markers, first_person),
                grades=grades,
                topic_ok=True if grades is None else bool(grades.get("topic_ok", True)),
            )
        )
    return found


def _mask(flags: Iterable[bool]) -> int:
    return sum(1 << i for i, flag in enumerate(flags) if flag)


@dataclass(frozen=True)
class _Masks:
    """Each gate's rejections at each setting, one bit per item."""

    fixed: int
    drift: dict[float, int]
    copy: dict[float, int]
    quality: dict[float, int]
    grade: list[dict[int, int]]  # per criterion
    topic: int

    @classmethod
    def of(cls, measured: Sequence[Measured], grids: Mapping[str, Sequence[float]]) -> _Masks:
        m = measured
        return cls(
            fixed=_mask(x.fixed for x in m),
            drift={t: _mask(x.drift > t for x in m) for t in grids["drift"]},
            copy={r: _mask(x.copy is not None and x.copy >= r for x in m) for r in grids["copy"]},
            quality={q: _mask(x.quality < q for x in m) for q in grids["quality"]},
            grade=[
                {
                    g: _mask(x.grades is not None and int(x.grades[c]) < g for x in m)
                    for g in GRADE_GRID
                }
                for c in CRITERIA
            ],
            topic=_mask(not x.topic_ok for x in m),
        )

    def rejected(self, gates: Gates, require_topic: bool) -> int:
        found = self.fixed | self.drift[gates.max_missing_share] | self.copy[gates.near_copy_ratio]
        found |= self.quality[gates.min_quality]
        if gates.judge is not None:
            for masks, minimum in zip(self.grade, gates.judge, strict=True):
                found |= masks[minimum]
            found |= self.topic if require_topic else 0
        return found


def _agreement(rejected: int, good: int, n: int) -> Agreement:
    all_items = (1 << n) - 1
    bad = all_items & ~good
    good_rejected = (rejected & good).bit_count()
    bad_rejected = (rejected & bad).bit_count()
    return Agreement(
        good_accepted=good.bit_count() - good_rejected,
        good_rejected=good_rejected,
        bad_accepted=bad.bit_count() - bad_rejected,
        bad_rejected=bad_rejected,
    )


def _distance(a: Gates, b: Gates) -> tuple[int, float]:
    pairs = [
        (a.max_missing_share, b.max_missing_share),
        (a.near_copy_ratio, b.near_copy_ratio),
        (a.min_quality, b.min_quality),
        *zip(a.judge or (), b.judge or (), strict=True),
    ]
    return sum(x != y for x, y in pairs), sum(abs(x - y) for x, y in pairs)


@dataclass(frozen=True)
class Suggestion:
    today: Gates
    best: Gates
    items: int

    def verdicts(
        self, gates: Gates, measured: Sequence[Measured], require_topic: bool
    ) -> list[Verdict]:
        grids = {"drift": [gates.max_missing_share], "copy": [gates.near_copy_ratio],
                 "quality": [gates.min_quality]}  # fmt: skip
        rejected = _Masks.of(measured, grids).rejected(gates, require_topic)
        return [Verdict(not (rejected >> i) & 1) for i in range(len(measured))]


def _candidates(base: Gates, grids: Mapping[str, Sequence[float]], judge: bool) -> list[Gates]:
    """The check gates on their grids (the judge's as in `base`), or the judge's minimum
    grades on theirs (the check gates as in `base`)."""
    if judge:
        grades = product(GRADE_GRID, repeat=len(CRITERIA))
        return [replace(base, judge=g) for g in grades]  # type: ignore[arg-type]
    found = product(grids["drift"], grids["copy"], grids["quality"])
    return [Gates(d, r, q, base.judge) for d, r, q in found]


def suggest(
    items: Sequence[LabelledItem],
    measured: Sequence[Measured],
    now: Gates,
    *,
    require_topic: bool = True,
) -> Suggestion:
    """The setting on the grid that agrees best with the labels: the check gates first,
    then (labels with grades) the judge's minimum grades given them, then the check
    gates again given those. Among settings within TOLERANCE of the best, the one that
    changes least from today's."""
    graded = now.judge is not None and any(m.grades is not None for m in measured)
    start = now if graded else replace(now, judge=None)
    grids = {
        "drift": sorted({*DRIFT_GRID, now.max_missing_share}),
        "copy": sorted({*RATIO_GRID, now.near_copy_ratio}),
        "quality": sorted({*QUALITY_GRID, now.min_quality}),
    }
    masks = _Masks.of(measured, grids)
    good, n = _mask(i.good for i in items), len(items)

    def score(gates: Gates) -> float:
        kappa = _agreement(masks.rejected(gates, require_topic), good, n).kappa
        return -2.0 if kappa is None else kappa

    best = start
    for judge in (False, True, False) if graded else (False,):
        scored = [(score(g), g) for g in _candidates(best, grids, judge)]
        top = max(value for value, _ in scored)
        tied = [g for value, g in scored if value >= top - TOLERANCE]
        best = min(tied, key=lambda g: _distance(g, start))
    return Suggestion(today=start, best=best, items=n)
