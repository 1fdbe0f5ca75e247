"""How well a verdict source (the checks, the quality score, a judge) agrees with people.

Pure. A labels file is JSON Lines, one item a line:
`{"standard": ..., "gyaru": ..., "topic": ..., "label": "good"|"bad"}` with optional
`persona` (the persona's name, checked against the config), `kind` (what is wrong
with a bad item, or "good"), `id`, `split` (`tuning` or `held-out`: the shipped sets
are tuned on one part and measured on the other), `seen_by` (`rules` or `judge`: who
can tell a bad item is bad) and `judge` (the judge's grades of the pair, as a run
stores them; `client review --export-labels` keeps them); other fields (a note) are
ignored. A verdict source turns each item into accepted / rejected; `agreement`
compares those with the labels. "Positive" is "accepted" for a verdict and "good"
for a label. Rates come with Wilson intervals and kappa with a bootstrap interval.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from client.errors import UsageError

REQUIRED = ("standard", "gyaru", "topic", "label")
OPTIONAL = ("persona", "kind", "id", "split", "seen_by")
CHOICES = {"split": ("tuning", "held-out"), "seen_by": ("rules", "judge")}
GRADE_KEYS = ("meaning", "voice", "naturalness", "safety")
LABELS = ("good", "bad")
Z_95 = 1.959964


class LabelsError(UsageError):
    """A labels file that cannot be read: names the file and line."""


@dataclass(frozen=True, slots=True)
class LabelledItem:
    line: int  # 1-based line in the labels file
    standard: str
    gyaru: str
    topic: str
    good: bool
    persona: str | None = None
    kind: str | None = None
    id: str | None = None
    split: str | None = None
    seen_by: str | None = None
    # The judge's grades (meaning, voice, naturalness, safety 1-5; topic_ok) when known.
    grades: Mapping[str, int | bool] | None = None

    @property
    def rule_visible(self) -> bool:
        """A bad item rules should catch (every bad item unless marked `judge`)."""
        return not self.good and self.seen_by != "judge"


@dataclass(frozen=True, slots=True)
class Verdict:
    accepted: bool
    reason: str | None = None  # why it was rejected (a reason code), or None
    detail: str = ""


def _item(data: object, where: str, line: int) -> LabelledItem:
    if not isinstance(data, dict):
        raise LabelsError(f"{where}: an item must be a JSON object, got {type(data).__name__}")
    for key in REQUIRED:
        if not isinstance(data.get(key), str):
            problem = "missing" if key not in data else "not a string"
            raise LabelsError(f"{where}: field '{key}' is {problem}")
    for key in OPTIONAL:
        if key in data and not isinstance(data[key], str):
            raise LabelsError(f"{where}: field '{key}' is not a string")
    for key, allowed in CHOICES.items():
        if key in data and data[key] not in allowed:
            raise LabelsError(f"{where}: {key} must be one of {list(allowed)}, got {data[key]!r}")
    if data["label"] not in LABELS:
        raise LabelsError(f"{where}: label must be 'good' or 'bad', got {data['label']!r}")
    return LabelledItem(
        line=line,
        standard=data["standard"],
        gyaru=data["gyaru"],
        topic=data["topic"],
        good=data["label"] == "good",
        persona=data.get("persona"),
        kind=data.get("kind"),
        id=data.get("id"),
        split=data.get("split"),
        seen_by=data.get("seen_by"),
        grades=_grades(data.get("judge"), where),
    )


def _grades(data: object, where: str) -> dict[str, int | bool] | None:
    """The judge's grades of a labelled pair; None when it has none."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise LabelsError(f"{where}: field 'judge' is not an object")
    grades: dict[str, int | bool] = {}
    for key in GRADE_KEYS:
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            raise LabelsError(f"{where}: judge.{key} must be a grade 1-5, got {value!r}")
        grades[key] = value
    grades["topic_ok"] = data.get("topic_ok") is not False
    return grades


def parse_labels(text: str, source: str) -> list[LabelledItem]:
    """The items of a labels file's text; LabelsError names `source` and the line."""
    items = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"{source}:{number}"
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise LabelsError(f"{where}: not valid JSON ({exc.msg})") from None
        items.append(_item(data, where, number))
    if not items:
        raise LabelsError(f"{source}: no labelled items")
    return items


@dataclass(frozen=True)
class Agreement:
    """Confusion matrix of labels (good/bad) against verdicts (accepted/rejected)."""

    good_accepted: int
    good_rejected: int
    bad_accepted: int
    bad_rejected: int
    disagreements: list[tuple[LabelledItem, Verdict]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.good_accepted + self.good_rejected + self.bad_accepted + self.bad_rejected

    @property
    def precision(self) -> float | None:
        """Of the accepted items, the share people call good."""
        accepted = self.good_accepted + self.bad_accepted
        return self.good_accepted / accepted if accepted else None

    @property
    def recall(self) -> float | None:
        """Of the good items, the share accepted."""
        good = self.good_accepted + self.good_rejected
        return self.good_accepted / good if good else None

    @property
    def kappa(self) -> float | None:
        """Cohen's kappa: agreement beyond what chance would give (1 perfect, 0 chance)."""
        n = self.total
        if not n:
            return None
        observed = (self.good_accepted + self.bad_rejected) / n
        accepted = self.good_accepted + self.bad_accepted
        good = self.good_accepted + self.good_rejected
        expected = (accepted * good + (n - accepted) * (n - good)) / (n * n)
        if expected == 1.0:
            return None  # one class only: kappa is undefined
        return (observed - expected) / (1.0 - expected)


def agreement(items: Sequence[LabelledItem], verdicts: Sequence[Verdict]) -> Agreement:
    if len(items) != len(verdicts):
        raise ValueError(f"{len(items)} items but {len(verdicts)} verdicts")
    counts = {(g, a): 0 for g in (True, False) for a in (True, False)}
    disagreements = []
    for item, verdict in zip(items, verdicts, strict=True):
        counts[item.good, verdict.accepted] += 1
        if item.good != verdict.accepted:
            disagreements.append((item, verdict))
    return Agreement(
        good_accepted=counts[True, True],
        good_rejected=counts[True, False],
        bad_accepted=counts[False, True],
        bad_rejected=counts[False, False],
        disagreements=disagreements,
    )


def auc(items: Sequence[LabelledItem], scores: Sequence[float]) -> float | None:
    """The chance that a good item scores above a bad one (ties count half)."""
    good = [s for i, s in zip(items, scores, strict=True) if i.good]
    bad = [s for i, s in zip(items, scores, strict=True) if not i.good]
    if not good or not bad:
        return None
    wins = sum((g > b) + 0.5 * (g == b) for g in good for b in bad)
    return wins / (len(good) * len(bad))


def by_kind(
    items: Sequence[LabelledItem], verdicts: Sequence[Verdict]
) -> dict[str, tuple[int, int]]:
    """kind -> (items of that kind the verdicts got right, items of that kind)."""
    table: dict[str, tuple[int, int]] = {}
    for item, verdict in zip(items, verdicts, strict=True):
        kind = item.kind or ("good" if item.good else "bad")
        right, total = table.get(kind, (0, 0))
        table[kind] = (right + (item.good == verdict.accepted), total + 1)
    return table


def select(items: Sequence[LabelledItem], split: str | None) -> list[LabelledItem]:
    """The items of one split (None: all); an error when the file has no such split."""
    if split is None:
        return list(items)
    chosen = [i for i in items if i.split == split]
    if not chosen:
        raise LabelsError(f"no labelled items with split {split!r} (the file has none marked)")
    return chosen


def wilson(hits: int, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval of the rate hits/n (95 % by default): unlike the
    normal approximation it stays inside [0, 1] and is honest at 0/n and n/n."""
    if n <= 0:
        return None
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # At 0/n and n/n the bound is exactly 0 or 1; floating point would miss it by an ulp.
    low = 0.0 if hits == 0 else max(0.0, centre - half)
    high = 1.0 if hits == n else min(1.0, centre + half)
    return low, high


def kappa_interval(
    items: Sequence[LabelledItem],
    verdicts: Sequence[Verdict],
    *,
    rounds: int = 1000,
    seed: int = 0,
) -> tuple[float, float] | None:
    """A 95 % percentile bootstrap interval of Cohen's kappa: the items are resampled
    with replacement `rounds` times (seeded, so the same labels give the same
    interval); resamples of one class only, where kappa is undefined, are skipped."""
    cells = [(i.good, v.accepted) for i, v in zip(items, verdicts, strict=True)]
    if not cells:
        return None
    rng = random.Random(seed)
    values = []
    for _ in range(rounds):
        counts = {(g, a): 0 for g in (True, False) for a in (True, False)}
        for cell in rng.choices(cells, k=len(cells)):
            counts[cell] += 1
        kappa = Agreement(
            counts[True, True], counts[True, False], counts[False, True], counts[False, False]
        ).kappa
        if kappa is not None:
            values.append(kappa)
    if len(values) < rounds // 2:
        return None
    values.sort()
    return values[int(0.025 * len(values))], values[min(int(0.975 * len(values)), len(values) - 1)]


def rate(hits: int, n: int) -> dict[str, Any]:
    return {"hits": hits, "of": n, "rate": hits / n if n else None, "interval_95": wilson(hits, n)}


def rates(items: Sequence[LabelledItem], verdicts: Sequence[Verdict]) -> dict[str, Any]:
    """Good kept, bad the rules can see rejected, and bad only a judge can see
    rejected, each with its Wilson 95 % interval."""
    pairs = list(zip(items, verdicts, strict=True))
    good = [v.accepted for i, v in pairs if i.good]
    visible = [not v.accepted for i, v in pairs if i.rule_visible]
    judge_only = [not v.accepted for i, v in pairs if not i.good and not i.rule_visible]
    return {
        "good_kept": rate(sum(good), len(good)),
        "rule_visible_bad_rejected": rate(sum(visible), len(visible)),
        "judge_only_bad_rejected": rate(sum(judge_only), len(judge_only)),
    }
