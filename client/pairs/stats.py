"""Numbers about a processed dataset: counts, topic balance, lengths, quality, diversity. Pure."""

from __future__ import annotations

import random
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from client.pairs.diversity import DiversityReport, diversity


@dataclass(frozen=True)
class Distribution:
    minimum: float
    p50: float
    mean: float
    p90: float
    maximum: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Distribution | None:
        if not values:
            return None
        ordered = sorted(values)

        def pct(q: float) -> float:
            return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

        return cls(ordered[0], pct(0.5), round(statistics.fmean(ordered), 2), pct(0.9), ordered[-1])

    def to_json(self) -> dict[str, float]:
        return {
            "min": self.minimum,
            "p50": self.p50,
            "mean": self.mean,
            "p90": self.p90,
            "max": self.maximum,
        }


@dataclass(frozen=True)
class DatasetReport:
    count: int
    topics: dict[str, int]
    standard_chars: Distribution | None
    gyaru_chars: Distribution | None
    quality: Distribution | None
    quality_histogram: dict[str, int]
    with_first_person: int
    first_person: str
    samples: list[dict[str, Any]]
    diversity: DiversityReport | None = None
    # Pairs carrying the judge's grades, and those let in without them ("unjudged").
    judged: int = 0
    unjudged: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "topics": self.topics,
            "standard_chars": self.standard_chars.to_json() if self.standard_chars else None,
            "gyaru_chars": self.gyaru_chars.to_json() if self.gyaru_chars else None,
            "quality": self.quality.to_json() if self.quality else None,
            "quality_histogram": self.quality_histogram,
            "first_person": self.first_person,
            "with_first_person": self.with_first_person,
            "samples": self.samples,
            "diversity": self.diversity.to_json() if self.diversity else None,
            "judged": self.judged,
            "unjudged": self.unjudged,
        }


QUALITY_BINS = ("0.0-0.2", "0.2-0.4", "0.4-0.6", "0.6-0.8", "0.8-1.0")


def describe(
    pairs: Sequence[dict[str, Any]],
    *,
    first_person: str,
    samples: int,
    seed: int,
    markers: Sequence[str] = (),
    near_duplicates: int | None = None,
) -> DatasetReport:
    """`near_duplicates`: how many the run that made the dataset dropped, if known."""
    topics = Counter(str(p.get("topic", "?")) for p in pairs)
    qualities = [float(p["quality"]) for p in pairs if isinstance(p.get("quality"), int | float)]
    histogram = dict.fromkeys(QUALITY_BINS, 0)
    for q in qualities:
        histogram[QUALITY_BINS[min(int(q * 5), 4)]] += 1
    picked = random.Random(seed).sample(list(pairs), min(samples, len(pairs)))
    return DatasetReport(
        count=len(pairs),
        topics=dict(topics.most_common()),
        standard_chars=Distribution.of([len(p["standard"]) for p in pairs]),
        gyaru_chars=Distribution.of([len(p["gyaru"]) for p in pairs]),
        quality=Distribution.of(qualities),
        quality_histogram=histogram if qualities else {},
        with_first_person=sum(1 for p in pairs if first_person in p["gyaru"]),
        first_person=first_person,
        samples=picked,
        diversity=diversity(
            [str(p["gyaru"]) for p in pairs],
            markers=markers,
            first_person=first_person,
            near_duplicates=near_duplicates,
        ),
        judged=sum(isinstance(p.get("judge"), dict) for p in pairs),
        unjudged=sum(p.get("unjudged") is True for p in pairs),
    )
