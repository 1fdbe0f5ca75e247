"""How a run's diversity evolves from its first batches to its last. Pure.

The persona lines of the accepted pairs, in batch order, are cut into ten deciles by
batch number (batches 1-100 of 1,000 are the first decile). For each decile:

- near-duplicate rate: the share of its pairs that are near-duplicates of a pair
  before them in the run (not only in the same decile): what a growing run repeats;
- distinct-2: distinct bigrams over all bigrams of its persona lines.

A run whose rate climbs and whose distinct-2 falls decile after decile is repeating
itself; the phrase-avoidance hints (client.pairs.phrases) are meant to flatten both.
The measures themselves are passed in (the dataset's own distinct-n and MinHash
near-duplicate index), so this module only does the bookkeeping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

DECILES = 10


class NearDupIndex(Protocol):
    def add(self, pair_id: str, standard: str, gyaru: str) -> str | None:
        """Keep the pair and answer None, or answer the id of a kept near twin."""
        ...


# Persona lines and n -> distinct n-grams / all n-grams (None: no n-gram at all).
DistinctN = Callable[[Sequence[str], int], float | None]


@dataclass(frozen=True)
class DecileRow:
    decile: int  # 1..10
    first_batch: int
    last_batch: int
    lines: int
    near_duplicates: int
    distinct_2: float | None

    @property
    def near_dup_rate(self) -> float:
        return self.near_duplicates / self.lines if self.lines else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "decile": self.decile,
            "batches": [self.first_batch, self.last_batch],
            "lines": self.lines,
            "near_dup_rate": round(self.near_dup_rate, 4),
            "distinct_2": None if self.distinct_2 is None else round(self.distinct_2, 4),
        }


def decile_of(batch: int, batches: int) -> int:
    """1..10 for batch 1..batches; past the plan (target mode) counts as the last."""
    return min(DECILES, (max(batch, 1) - 1) * DECILES // max(batches, 1) + 1)


def by_decile(
    pairs: Iterable[tuple[int, str, str, str]],
    batches: int,
    *,
    distinct: DistinctN,
    near_dup: NearDupIndex,
) -> list[DecileRow]:
    """`pairs`: (batch number, pair id, standard, persona line) in batch order; one row
    per decile with pairs."""
    rows: list[DecileRow] = []
    current: int | None = None
    bucket: list[str] = []
    seen: list[int] = []  # first and last batch of the decile with lines
    dups = 0

    def close() -> None:
        if current is not None and bucket:
            rows.append(
                DecileRow(current, seen[0], seen[-1], len(bucket), dups, distinct(bucket, 2))
            )

    for batch, pair_id, standard, line in pairs:
        decile = decile_of(batch, batches)
        if decile != current:
            close()
            current, bucket, seen, dups = decile, [], [batch, batch], 0
        seen[-1] = batch
        dups += near_dup.add(pair_id, standard, line) is not None
        bucket.append(line)
    close()
    return rows
