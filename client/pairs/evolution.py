"""How a run's diversity evolves from its first batches to its last. Pure.

The pairs the dataset rebuild meets, in batch order, are cut into ten deciles by
batch number (batches 1-100 of 1,000 are the first decile). For each decile:

- near-duplicate rate: near duplicates of an earlier pair of the run (not only of the
  same decile) over the pairs that were otherwise new: what a growing run repeats;
- distinct-2: distinct bigrams over all bigrams of its kept persona lines.

A run whose rate climbs and whose distinct-2 falls decile after decile is repeating
itself; the phrase-avoidance hints (client.pairs.phrases) are meant to flatten both.
The measures come from the dataset's own near-duplicate index (the rebuild says which
pairs it dropped) and distinct-n (passed in), so this module only keeps the books;
it holds one decile's lines at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

DECILES = 10

# Persona lines and n -> distinct n-grams / all n-grams (None: no n-gram at all).
DistinctN = Callable[[Sequence[str], int], float | None]


def decile_of(batch: int, batches: int) -> int:
    """1..10 for batch 1..batches; past the plan (target mode) counts as the last."""
    return min(DECILES, (max(batch, 1) - 1) * DECILES // max(batches, 1) + 1)


@dataclass(frozen=True)
class DecileRow:
    decile: int  # 1..10
    first_batch: int
    last_batch: int
    kept: int
    near_duplicates: int
    distinct_2: float | None

    @property
    def near_dup_rate(self) -> float:
        seen = self.kept + self.near_duplicates
        return self.near_duplicates / seen if seen else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "decile": self.decile,
            "batches": [self.first_batch, self.last_batch],
            "pairs": self.kept,
            "near_duplicates": self.near_duplicates,
            "near_dup_rate": round(self.near_dup_rate, 4),
            "distinct_2": None if self.distinct_2 is None else round(self.distinct_2, 4),
        }


@dataclass
class DecileTally:
    batches: int  # the plan's batch count (its last batch number)
    distinct: DistinctN
    rows: list[DecileRow] = field(default_factory=list)
    _decile: int | None = None
    _first: int = 0
    _last: int = 0
    _lines: list[str] = field(default_factory=list)
    _near: int = 0

    def _at(self, batch: int) -> None:
        decile = decile_of(batch, self.batches)
        if decile != self._decile:
            self.close()
            self._decile, self._first = decile, batch
        self._last = batch

    def kept(self, batch: int, line: str) -> None:
        """A pair that went into the dataset, in batch order."""
        self._at(batch)
        self._lines.append(line)

    def near_duplicate(self, batch: int) -> None:
        """A pair dropped as a near duplicate of an earlier one, in batch order."""
        self._at(batch)
        self._near += 1

    def close(self) -> list[DecileRow]:
        """Close the decile in progress; every row so far."""
        if self._decile is not None and (self._lines or self._near):
            distinct = self.distinct(self._lines, 2) if self._lines else None
            row = DecileRow(
                self._decile, self._first, self._last, len(self._lines), self._near, distinct
            )
            self.rows.append(row)
        self._decile, self._lines, self._near = None, [], 0
        return self.rows
