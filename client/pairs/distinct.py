"""How many distinct 64-bit digests a stream holds, in a fixed budget of memory. Pure.

The diversity report counts the distinct word n-grams of every persona line of a
dataset. `DistinctCount` keeps them exactly (a `DigestSet`, 12 to 23 bytes each) up to
`budget` distinct ones, and past it a HyperLogLog sketch of 2^14 one-byte registers
(16 KB, a standard error of 1.04 / sqrt(2^14) = 0.8 %); `exact` says which.

Most n-grams come again and again, so digests gather first in a Python set (added to
in C) and only the distinct ones of each few thousand reach the table, whose probe
runs in Python. No numpy: an input run, which never loads it otherwise, would carry
its 11 MB for this alone.
"""

from __future__ import annotations

import math

from client.pairs.digests import DigestSet

DISTINCT_BUDGET = 250_000
_WINDOW = 1 << 14  # distinct digests gathered in a set before they reach the table
_MASK = (1 << 64) - 1
_BITS = 14  # HyperLogLog: 2^14 registers, the first 14 bits of a digest pick one
_REST = 64 - _BITS


def _mix64(value: int) -> int:
    """SplitMix64's finalizer: digests need not be uniform (hash() of small ints is not),
    a register's index and rank must be."""
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK
    return value ^ (value >> 31)


class DistinctCount:
    def __init__(self, budget: int = DISTINCT_BUDGET) -> None:
        self.budget = budget
        self._window: set[int] = set()
        self._members: DigestSet | None = DigestSet()  # None once past the budget
        self._registers = bytearray()

    @property
    def exact(self) -> bool:
        self._merge()
        return self._members is not None

    def add(self, digest: int) -> None:
        window = self._window
        window.add(digest)
        if len(window) >= _WINDOW:
            self._merge()

    def _merge(self) -> None:
        window, self._window = self._window, set()
        members = self._members
        if members is None:
            for digest in window:
                self._register(digest)
            return
        for digest in window:
            members.add(digest)
        if len(members) > self.budget:
            # Past the budget: what was exact goes into the sketch, and is let go.
            self._members, self._registers = None, bytearray(1 << _BITS)
            for digest in members:
                self._register(digest)

    def _register(self, digest: int) -> None:
        mixed = _mix64(digest)
        index, rest = mixed >> _REST, mixed & ((1 << _REST) - 1)
        rank = _REST + 1 - rest.bit_length()  # where the first 1 bit is
        if rank > self._registers[index]:
            self._registers[index] = rank

    def __len__(self) -> int:
        self._merge()
        if self._members is not None:
            return len(self._members)
        registers = self._registers
        m = len(registers)
        estimate = 0.7213 / (1 + 1.079 / m) * m * m / sum(2.0**-r for r in registers)
        zeros = registers.count(0)
        if estimate <= 2.5 * m and zeros:
            estimate = m * math.log(m / zeros)  # linear counting: better for small counts
        return round(estimate)
