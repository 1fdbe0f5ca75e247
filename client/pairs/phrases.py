"""What the persona lines of a run keep repeating, so later batches can be told to avoid it.
Pure.

Three running counts over the accepted persona lines: how a line opens (its first
`OPENING_CHARS` characters), how it ends (its last `ENDING_CHARS`, final punctuation
and 〜 kept: 「〜じゃん！」 is the habit), and which `PHRASE_CHARS`-character runs
turn up in many lines (each counted once per line). A piece is overused when it is
in at least `min_share` of the lines so far (and `min_count` of them); the worst few
go into the next batches' request as phrases to avoid (`avoid_hint`).

The counts are bounded (Misra-Gries): at most 2 x `capacity` pieces are kept per
kind, and a count is short by at most (pieces counted) / `capacity`; a line gives
about 30 phrase pieces, so with the default 5,000 that is under 1 % of the lines,
far below the 5 % that makes a piece overused. Memory stays flat over a thousand
batches and every piece that could be overused keeps its count.

The hint is asked for before every batch, so it is kept cheap: each counter keeps
aside the pieces that have reached the bar (the bar only rises with the lines, and a
count only rises between shrinks), and the worst are sorted from those few hundred,
not from the thousands of pieces counted.
The persona's first person (あーし) is never listed: every line must hold it.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

OPENING_CHARS = 4
ENDING_CHARS = 4
PHRASE_CHARS = 5
DEFAULT_CAPACITY = 5000


class BoundedCounter:
    """Approximate counts of the frequent keys in a stream, in bounded memory.

    Counts are underestimates by at most (items seen) / capacity. Keys whose count
    reached `bar` when it was last raised are kept aside, so `top(n, at_least=bar)`
    (or any higher bar) looks at those alone; raise the bar, never lower it."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self.counts: dict[str, int] = {}
        self.bar = 1
        self.exact = True  # no count has been cut yet
        # Every key whose count is at least `bar` (and some whose count fell below it
        # since: dropped when `top` meets them).
        self._over: set[str] = set()

    def add(self, key: str) -> None:
        self.update((key,))

    def update(self, keys: Iterable[str]) -> None:
        """`add` each key in turn (in one call: a line gives about 30 phrase pieces)."""
        counts, bar, over, limit = self.counts, self.bar, self._over, 2 * self.capacity
        for key in keys:
            count = counts.get(key, 0) + 1
            counts[key] = count
            if count >= bar:
                over.add(key)
            if len(counts) > limit:
                self._shrink()
                counts = self.counts

    def raise_bar(self, bar: int) -> None:
        self.bar = max(self.bar, bar)

    def _shrink(self) -> None:
        # Subtract the (capacity+1)-th largest count from every count: at most
        # `capacity` keys stay positive, and the error bound above holds.
        cut = sorted(self.counts.values(), reverse=True)[self.capacity]
        self.counts = {k: c - cut for k, c in self.counts.items() if c > cut}
        self.exact = False

    def most_common(self, n: int) -> list[tuple[str, int]]:
        """The n highest counts, ties in the order the keys were first counted."""
        return heapq.nlargest(n, self.counts.items(), key=lambda kv: kv[1])

    def top(self, n: int, *, at_least: int) -> list[tuple[str, int]]:
        if at_least < self.bar:
            candidates: Iterable[tuple[str, int]] = self.counts.items()
        else:
            counts, bar = self.counts, self.bar
            self._over = {k for k in self._over if counts.get(k, 0) >= bar}
            candidates = ((k, counts[k]) for k in self._over)
        ranked = heapq.nsmallest(n, candidates, key=lambda kv: (-kv[1], kv[0]))
        return [(k, c) for k, c in ranked if c >= at_least]


def _body(line: str) -> str:
    return "".join(line.split())


def _pieces(line: str, size: int) -> set[str]:
    return {line[i : i + size] for i in range(len(line) - size + 1)}


@dataclass
class PhraseCounter:
    first_person: str | None
    min_share: float = 0.05
    min_count: int = 5
    capacity: int = DEFAULT_CAPACITY
    lines: int = 0
    openings: BoundedCounter = field(init=False)
    endings: BoundedCounter = field(init=False)
    phrases: BoundedCounter = field(init=False)
    _hint: tuple[int, str] = field(init=False, default=(0, ""))

    def __post_init__(self) -> None:
        self.openings = BoundedCounter(self.capacity)
        self.endings = BoundedCounter(self.capacity)
        self.phrases = BoundedCounter(self.capacity)

    def _floor(self) -> int:
        """The count that makes a piece overused, with the lines so far."""
        return max(self.min_count, math.ceil(self.min_share * self.lines))

    def add(self, lines: Iterable[str]) -> None:
        for line in lines:
            body = _body(line)
            if len(body) < OPENING_CHARS:
                continue
            self.lines += 1
            # The floor with this line counted: no later hint asks for less.
            floor = self._floor()
            for counter in (self.openings, self.endings, self.phrases):
                counter.raise_bar(floor)
            self.openings.add(body[:OPENING_CHARS])
            self.endings.add(body[-ENDING_CHARS:])
            self.phrases.update(_pieces(body, PHRASE_CHARS))

    def _without_first_person(self, piece: str) -> list[str]:
        """The piece, or the parts of it around the first person (never to be avoided)
        that are still a phrase."""
        fp = self.first_person
        if not fp:
            return [piece]
        if fp not in piece:
            return [] if piece in fp else [piece]
        return [part for part in piece.split(fp) if len(part) >= PHRASE_CHARS]

    def _worst(self, counter: BoundedCounter, n: int, *, join: bool = False) -> list[str]:
        floor = self._floor()
        # Joined runs need all their pieces: a phrase of 20 characters is 16 of them.
        ranked = counter.top((12 if join else 4) * n, at_least=floor)
        if join:
            ranked = _join_runs(ranked)
        pieces = [part for piece, _ in ranked for part in self._without_first_person(piece)]
        return list(dict.fromkeys(pieces))[:n]

    def overused(self, n: int = 5) -> dict[str, list[str]]:
        return {
            "openings": self._worst(self.openings, n),
            "endings": self._worst(self.endings, n),
            "phrases": self._worst(self.phrases, n, join=True),
        }

    def hint(self) -> str:
        """`avoid_hint` of what is overused now, worked out again only when lines came in."""
        if self._hint[0] != self.lines:
            self._hint = (self.lines, avoid_hint(self.overused()))
        return self._hint[1]


def _join_runs(ranked: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Pieces that are consecutive runs of one longer phrase (they overlap by all but
    one character and are about as frequent) joined back into that phrase.

    The first joinable (i, j), i then j in order, is joined each time, until none is:
    each round finds it through the pieces' openings instead of trying every two."""
    overlap = PHRASE_CHARS - 1
    runs = list(ranked)
    while (found := _first_join(runs, overlap)) is not None:
        i, j = found
        (a, ca), (b, cb) = runs[i], runs[j]
        runs[i] = (a + b[overlap:], min(ca, cb))
        del runs[j]
    return sorted(runs, key=lambda kv: (-kv[1], -len(kv[0]), kv[0]))


def _first_join(runs: list[tuple[str, int]], overlap: int) -> tuple[int, int] | None:
    opening: dict[str, list[int]] = {}
    for j, (b, _) in enumerate(runs):
        opening.setdefault(b[:overlap], []).append(j)
    for i, (a, ca) in enumerate(runs):
        for j in opening.get(a[-overlap:], ()):
            cb = runs[j][1]
            if j != i and min(ca, cb) >= 0.8 * max(ca, cb):
                return i, j
    return None


def avoid_hint(overused: dict[str, list[str]]) -> str:
    """One Japanese sentence for the request, or "" when nothing is overused."""
    labels = {"openings": "書き出し", "endings": "文末", "phrases": "言い回し"}
    parts = [
        f"{labels[kind]}「" + "」「".join(pieces) + "」"
        for kind, pieces in overused.items()
        if pieces
    ]
    if not parts:
        return ""
    return (
        "これまでの出力で次の表現が多すぎます。"
        + "、".join(parts)
        + "。これらはなるべく使わず、別の言い方にしてください。"
    )
