"""Verdict sources for calibration: what validation (with or without the pair checks)
and the quality score say about labelled items. Pure.

A source is a name and one `Verdict` per item; `client calibrate` compares each with
the people's labels (client.pairs.calibration). The LLM judge is one more source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from client.pairs.calibration import LabelledItem, Verdict, agreement
from client.pairs.judge import Verdict as JudgeVerdict
from client.pairs.quality import quality_score
from client.pairs.records import Pair
from client.pairs.validate import ValidationContext, validate_item


@dataclass(frozen=True)
class Source:
    name: str
    verdicts: list[Verdict]
    note: str = ""


def _raw(item: LabelledItem) -> dict[str, str]:
    return {"topic": item.topic, "standard": item.standard, "gyaru": item.gyaru}


def validation_verdicts(items: Sequence[LabelledItem], ctx: ValidationContext) -> list[Verdict]:
    verdicts = []
    for item in items:
        outcome = validate_item(
            0, _raw(item), ctx=ctx, pair_id=f"line-{item.line}", batch=0, generated_at=""
        )
        if isinstance(outcome, Pair):
            verdicts.append(Verdict(True))
        else:
            verdicts.append(Verdict(False, outcome.reason, outcome.detail))
    return verdicts


def validation_sources(items: Sequence[LabelledItem], ctx: ValidationContext) -> list[Source]:
    """Validation as it was before the pair checks, and as it is with them."""
    sources = [
        Source(
            "validation without the pair checks",
            validation_verdicts(items, replace(ctx, checker=None, min_quality=0.0)),
        )
    ]
    if ctx.checker is not None:
        sources.append(
            Source(
                "validation with the pair checks",
                validation_verdicts(items, replace(ctx, min_quality=0.0)),
            )
        )
    return sources


def scores(items: Sequence[LabelledItem], ctx: ValidationContext) -> list[float]:
    first_person = ctx.rules.first_person
    return [quality_score(i.standard, i.gyaru, ctx.style_markers, first_person) for i in items]


def best_threshold(items: Sequence[LabelledItem], values: Sequence[float]) -> float:
    """The score threshold with the best Cohen's kappa on these items (the lowest such)."""
    best, best_kappa = 0.0, -2.0
    for threshold in sorted(set(values)):
        kappa = agreement(items, [Verdict(v >= threshold) for v in values]).kappa
        if kappa is not None and kappa > best_kappa:
            best, best_kappa = threshold, kappa
    return best


def score_source(
    items: Sequence[LabelledItem], values: Sequence[float], threshold: float | None
) -> Source:
    """Accept items scoring at least `threshold`; None: the best threshold for this set."""
    chosen = best_threshold(items, values) if threshold is None else threshold
    note = "the best threshold for this set" if threshold is None else "the given threshold"
    verdicts = [
        Verdict(True) if v >= chosen else Verdict(False, "low_quality", f"quality {v:.2f}")
        for v in values
    ]
    return Source(f"quality score >= {chosen:.2f}", verdicts, note)


def judge_sources(judged: Sequence[JudgeVerdict], checks: Source, *, model: str) -> list[Source]:
    """The LLM judge on its own, and after `checks` (what a run keeps: the judge only
    grades what validation let through)."""
    alone = [Verdict(v.kept, v.reason, v.detail) for v in judged]
    then = [c if not c.accepted else j for c, j in zip(checks.verdicts, alone, strict=True)]
    return [
        Source("LLM judge", alone, f"{model}, the judge.* thresholds"),
        Source(f"{checks.name}, then the LLM judge", then, "what a run keeps"),
    ]
