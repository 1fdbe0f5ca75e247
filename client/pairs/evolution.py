"""How a run's diversity evolves from its first batches to its last. Pure.

The pairs the dataset rebuild meets, in batch order, are cut into ten deciles by
batch number (batches 1-100 of 1,000 are the first decile). For each decile:

- near-duplicate rate: near duplicates of an earlier pair of the run (not only of the
  same decile) over the pairs that were otherwise new: what a growing run repeats;
- distinct-2: distinct bigrams over all bigrams of its kept persona lines.

A run whose rate climbs and whose distinct-2 falls decile after decile is repeating
itself; the phrase-avoidance hints (client.pairs.phrases) are meant to flatten both.
The measures come from the dataset's own near-duplicate index (the rebuild says which
pairs it dropped) and each line's words (passed in); a decile's bigrams are counted as
its lines come (client.pairs.distinct), so no line is held.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from client.pairs.distinct import DistinctCount

DECILES = 10
_MASK = (1 << 64) - 1

# A persona line's words (client.pairs.diversity.words_without).
Words = Callable[[str], Sequence[str]]


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
class _Decile:
    first_batch: int
    last_batch: int
    kept: int = 0
    near_duplicates: int = 0
    distinct_2: float | None = None

    def saw(self, batch: int) -> None:
        self.first_batch = min(self.first_batch, batch)
        self.last_batch = max(self.last_batch, batch)


@dataclass
class DecileTally:
    """Kept persona lines come in batch order (the open decile's distinct bigrams are
    counted as they come); near duplicates in any order."""

    batches: int  # the plan's batch count (its last batch number)
    words: Words
    _deciles: dict[int, _Decile] = field(default_factory=dict)
    _open: int | None = None
    _bigrams: DistinctCount = field(default_factory=DistinctCount)
    _total: int = 0

    def _at(self, batch: int) -> tuple[int, _Decile]:
        decile = decile_of(batch, self.batches)
        row = self._deciles.setdefault(decile, _Decile(batch, batch))
        row.saw(batch)
        return decile, row

    def _close_open(self) -> None:
        if self._open is not None and self._total:
            self._deciles[self._open].distinct_2 = len(self._bigrams) / self._total
        self._open, self._bigrams, self._total = None, DistinctCount(), 0

    def kept(self, batch: int, line: str) -> None:
        """A pair that went into the dataset, in batch order."""
        decile, row = self._at(batch)
        if decile != self._open:
            self._close_open()
            self._open = decile
        row.kept += 1
        words = self.words(line)
        if len(words) > 1:
            # As client.pairs.diversity counts them (hash64, inline): "\x1f" is in no word.
            self._bigrams.update(hash(f"{a}\x1f{b}") & _MASK for a, b in pairwise(words))
            self._total += len(words) - 1

    def near_duplicate(self, batch: int) -> None:
        """A pair left out as a near duplicate of an earlier pair of the run."""
        self._at(batch)[1].near_duplicates += 1

    def close(self) -> list[DecileRow]:
        """Every decile with pairs, first to last."""
        self._close_open()
        return [
            DecileRow(d, r.first_batch, r.last_batch, r.kept, r.near_duplicates, r.distinct_2)
            for d, r in sorted(self._deciles.items())
        ]
