"""How varied a dataset's persona lines are. Pure functions over the lines.

distinct-n: distinct word n-grams / all word n-grams over the persona lines (words
from the analyzer, symbols left out): near 1 when lines share little, low when the
model says the same things again. Openings and endings: the first and last two
words of each line (the first person set aside), the most repeated ones. Style
markers: the share of lines holding each of `persona.style_markers`.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from client.pairs.analyzer import analyse, outside, spans_of
from client.pairs.distinct import DISTINCT_BUDGET, DistinctCount
from client.pairs.phrases import BoundedCounter

Words = Callable[[str], list[str]]
EDGE_WORDS = 2
_MASK = (1 << 64) - 1  # as client.pairs.digests.hash64
# Distinct openings (or endings) counted exactly up to twice this many; past it the
# counts of the most repeated are lower bounds, short by at most lines / EDGE_BUDGET.
EDGE_BUDGET = 20_000
_WAVES = "〜～"


@functools.lru_cache(maxsize=8)
def words_without(first_person: str | None) -> Words:
    """The line's words, without symbols, blanks or the first person.

    One function per first person, which remembers the last line it was asked: the
    dataset rebuild's hooks (the diversity report, the deciles) ask for each line's
    words one after the other, and the analysis is most of what they cost."""
    last: tuple[str, list[str]] = ("", [])

    def words(text: str) -> list[str]:
        nonlocal last
        seen = last  # one read: another thread may replace it meanwhile
        if seen[0] == text and text:
            return list(seen[1])
        spans = spans_of(text, first_person)
        # The analyzer glues a trailing 〜 to the word (けど〜): it is style, not a word.
        surfaces = (
            t.surface.rstrip(_WAVES)
            for t in analyse(text)
            if not t.pos.startswith(("補助記号", "空白")) and outside(t, spans)
        )
        found = [s for s in surfaces if s]
        last = (text, found)
        return list(found)

    return words


def distinct_n(tokenised: Sequence[Sequence[str]], n: int) -> float | None:
    # Counted, not listed: a list of every n-gram of a 100,000-line dataset alone took
    # over 100 MB at the end of a run.
    distinct: set[tuple[str, ...]] = set()
    total = 0
    for words in tokenised:
        for i in range(len(words) - n + 1):
            distinct.add(tuple(words[i : i + n]))
            total += 1
    return round(len(distinct) / total, 4) if total else None


def top_edges(tokenised: Sequence[Sequence[str]], top: int) -> tuple[list[Any], list[Any]]:
    """The most repeated openings and endings, as [text, count], repeated ones only."""
    openings = Counter("".join(w[:EDGE_WORDS]) for w in tokenised if w)
    endings = Counter("".join(w[-EDGE_WORDS:]) for w in tokenised if w)
    return (
        [[text, count] for text, count in openings.most_common(top) if count > 1],
        [[text, count] for text, count in endings.most_common(top) if count > 1],
    )


def marker_shares(lines: Sequence[str], markers: Sequence[str]) -> dict[str, float]:
    if not lines:
        return {}
    shares = {m: round(sum(m in line for line in lines) / len(lines), 4) for m in markers}
    return dict(sorted(shares.items(), key=lambda kv: -kv[1]))


def near_duplicate_rate(near_duplicates: int, kept: int) -> float | None:
    """Near duplicates among the pairs that were otherwise good (kept + dropped as near)."""
    seen = near_duplicates + kept
    return round(near_duplicates / seen, 4) if seen else None


@dataclass(frozen=True)
class DiversityReport:
    lines: int
    distinct_1: float | None
    distinct_2: float | None
    top_openings: list[Any]
    top_endings: list[Any]
    style_markers: dict[str, float]
    near_duplicate_rate: float | None
    # False when a count passed its budget: distinct-n then comes from a HyperLogLog
    # sketch (about 0.8 % error), or the top openings and endings counts are lower
    # bounds (short by at most lines / EDGE_BUDGET).
    exact: bool = True

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "lines": self.lines,
            "distinct_1": self.distinct_1,
            "distinct_2": self.distinct_2,
            "top_openings": self.top_openings,
            "top_endings": self.top_endings,
            "style_markers": self.style_markers,
            "near_duplicate_rate": self.near_duplicate_rate,
        }
        if not self.exact:
            data["estimated"] = (
                f"over {DISTINCT_BUDGET:,} distinct n-grams or {2 * EDGE_BUDGET:,} distinct "
                "openings or endings: distinct-n from a HyperLogLog sketch (about 0.8 % error), "
                f"top counts short by at most lines / {EDGE_BUDGET:,}"
            )
        return data


class DiversityTally:
    """The numbers of `diversity()`, fed one line at a time.

    Memory has a fixed budget, whatever the lines: a run's 100,000 persona lines and
    their word lists kept to the end took most of a large input run's peak. N-grams
    are kept as hashes, exactly up to `DISTINCT_BUDGET` distinct ones (two sharing a
    64-bit hash would undercount by one, which a ratio rounded to 4 places cannot
    show), in a HyperLogLog sketch past it; openings and endings are counted exactly
    up to 2 x `EDGE_BUDGET` distinct ones, then as heavy hitters (Misra-Gries). The
    report says when it is not exact.
    """

    def __init__(
        self,
        *,
        markers: Sequence[str],
        first_person: str | None,
        words: Words | None = None,
        distinct_budget: int = DISTINCT_BUDGET,
        edge_budget: int = EDGE_BUDGET,
    ) -> None:
        self._words = words or words_without(first_person)
        self._markers = tuple(markers)
        self._lines = 0
        self._grams = {1: DistinctCount(distinct_budget), 2: DistinctCount(distinct_budget)}
        self._totals = dict.fromkeys(self._grams, 0)
        self._openings = BoundedCounter(edge_budget)
        self._endings = BoundedCounter(edge_budget)
        self._with_marker: Counter[str] = Counter()

    def add(self, line: str) -> None:
        self._lines += 1
        words = self._words(line)
        for n, grams in self._grams.items():
            count = len(words) - n + 1
            if count > 0:
                # hash64(hash(...)), inline: this runs for every n-gram of a dataset.
                grams.update(hash("\x1f".join(words[i : i + n])) & _MASK for i in range(count))
                self._totals[n] += count
        if words:
            self._openings.add("".join(words[:EDGE_WORDS]))
            self._endings.add("".join(words[-EDGE_WORDS:]))
        self._with_marker.update(m for m in self._markers if m in line)

    def _distinct(self, n: int) -> float | None:
        total = self._totals[n]
        return round(len(self._grams[n]) / total, 4) if total else None

    def report(self, near_duplicates: int | None = None, top: int = 5) -> DiversityReport:
        lines = self._lines
        shares = {m: round(self._with_marker[m] / lines, 4) for m in self._markers} if lines else {}
        return DiversityReport(
            lines=lines,
            distinct_1=self._distinct(1),
            distinct_2=self._distinct(2),
            top_openings=_repeated(self._openings, top),
            top_endings=_repeated(self._endings, top),
            style_markers=dict(sorted(shares.items(), key=lambda kv: -kv[1])),
            near_duplicate_rate=(
                None if near_duplicates is None else near_duplicate_rate(near_duplicates, lines)
            ),
            exact=all(g.exact for g in self._grams.values())
            and self._openings.exact
            and self._endings.exact,
        )


def _repeated(counts: BoundedCounter, top: int) -> list[Any]:
    # Most common first, ties in the order first seen (as Counter.most_common).
    return [[text, count] for text, count in counts.most_common(top) if count > 1]


def diversity(
    lines: Iterable[str],
    *,
    markers: Sequence[str],
    first_person: str | None,
    near_duplicates: int | None = None,
    top: int = 5,
    words: Words | None = None,
) -> DiversityReport:
    tally = DiversityTally(markers=markers, first_person=first_person, words=words)
    for line in lines:
        tally.add(line)
    return tally.report(near_duplicates, top)
