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
The persona's first person (あーし) is never listed: every line must hold it.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

OPENING_CHARS = 4
ENDING_CHARS = 4
PHRASE_CHARS = 5
DEFAULT_CAPACITY = 5000


class BoundedCounter:
    """Approximate counts of the frequent keys in a stream, in bounded memory.

    Counts are underestimates by at most (items seen) / capacity."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self.counts: dict[str, int] = {}

    def add(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1
        if len(self.counts) > 2 * self.capacity:
            self._shrink()

    def _shrink(self) -> None:
        # Subtract the (capacity+1)-th largest count from every count: at most
        # `capacity` keys stay positive, and the error bound above holds.
        cut = sorted(self.counts.values(), reverse=True)[self.capacity]
        self.counts = {k: c - cut for k, c in self.counts.items() if c > cut}

    def top(self, n: int, *, at_least: int) -> list[tuple[str, int]]:
        ranked = heapq.nsmallest(n, self.counts.items(), key=lambda kv: (-kv[1], kv[0]))
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

    def add(self, lines: Iterable[str]) -> None:
        for line in lines:
            body = _body(line)
            if len(body) < OPENING_CHARS:
                continue
            self.lines += 1
            self.openings.add(body[:OPENING_CHARS])
            self.endings.add(body[-ENDING_CHARS:])
            for piece in _pieces(body, PHRASE_CHARS):
                self.phrases.add(piece)

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
        floor = max(self.min_count, math.ceil(self.min_share * self.lines))
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
    one character and are about as frequent) joined back into that phrase."""
    overlap = PHRASE_CHARS - 1
    runs = list(ranked)
    joined = True
    while joined:
        joined = False
        for i, j in itertools.permutations(range(len(runs)), 2):
            (a, ca), (b, cb) = runs[i], runs[j]
            if a[-overlap:] == b[:overlap] and min(ca, cb) >= 0.8 * max(ca, cb):
                runs[i] = (a + b[overlap:], min(ca, cb))
                del runs[j]
                joined = True
                break
    return sorted(runs, key=lambda kv: (-kv[1], -len(kv[0]), kv[0]))


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
