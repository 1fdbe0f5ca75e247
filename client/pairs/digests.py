"""Exact sets and maps of 64-bit digests in 12 to 23 bytes a member. Pure.

A run keeps several "have I seen this?" indexes over every input line and pair: the
input screen, the de-duplication of pairs, how each input ended, the distinct n-grams
of the diversity report. As Python sets of 12-byte digests or of hash ints they cost
70 to 100 bytes a member, and at 100,000 input lines they were most of the run's
memory.

Here a member is 8 bytes in an open-addressing table (`array('Q')`, linear probing,
at most 70% full), with a parallel `array('I')` for a map's values. Digests are the
first 8 bytes of the callers' BLAKE2b digests, or a hash() made unsigned: two distinct
members share one with probability about n^2 / 2^65, 3e-8 for a million.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator

_MASK = (1 << 64) - 1
_VALUE_MAX = (1 << 32) - 1
# Fibonacci hashing: spreads digests that are not uniform (small ints) over the table.
_SPREAD = 0x9E3779B97F4A7C15
_EMPTY = 0  # the digest 0 itself is kept aside, in `_zero`
_FIRST_BITS = 10


def digest64(digest: bytes) -> int:
    """The first 8 bytes of a digest as the unsigned int these indexes hold."""
    return int.from_bytes(digest[:8], "big")


def hex64(key: str) -> int:
    """The same for a digest written as hex (the input keys raw records carry)."""
    return int.from_bytes(bytes.fromhex(key[:16]), "big")


def hash64(value: int) -> int:
    """hash() of something, as an unsigned 64-bit member."""
    return value & _MASK


def _check(digest: int) -> None:
    if not 0 <= digest <= _MASK:
        raise ValueError(f"digest {digest} is not an unsigned 64-bit int")


def _value(value: int) -> int:
    if not 0 <= value <= _VALUE_MAX:
        raise ValueError(f"value {value} outside 0..{_VALUE_MAX}")
    return value


class _Table:
    """The slots: where a digest is, or where it would go."""

    def __init__(self, bits: int = _FIRST_BITS, *, values: bool) -> None:
        self._bits = bits
        self._keys = array("Q", [0]) * (1 << bits)
        self._values = array("I", [0]) * (1 << bits) if values else None
        self._count = 0  # members in the table (the digest 0 aside)
        self._zero: int | None = None  # the value of the digest 0, when it is a member

    def __len__(self) -> int:
        return self._count + (self._zero is not None)

    def _slot(self, digest: int) -> int:
        """The slot holding `digest`, or the empty one where it would go."""
        keys, mask = self._keys, (1 << self._bits) - 1
        i = ((digest * _SPREAD) & _MASK) >> (64 - self._bits)
        while True:
            found = keys[i]
            if found in (digest, _EMPTY):
                return i
            i = (i + 1) & mask

    def _find(self, digest: int) -> int | None:
        """The member's value (0 in a set) or None; `digest` is in range."""
        if digest == 0:
            return self._zero
        i = self._slot(digest)
        if self._keys[i] != digest:
            return None
        return self._values[i] if self._values is not None else 0

    def _put(self, digest: int, value: int) -> int | None:
        """A member's value (0 in a set), or None after storing `value` with the new
        digest: one probe whether it is there or not."""
        _check(digest)
        if digest == 0:
            if self._zero is None:
                self._zero = _value(value)
                return None
            return self._zero
        i = self._slot(digest)
        if self._keys[i] == digest:
            return self._values[i] if self._values is not None else 0
        self._keys[i] = digest
        if self._values is not None:
            self._values[i] = _value(value)
        self._count += 1
        if self._count * 10 > 7 << self._bits:
            self._grow()
        return None

    def _grow(self) -> None:
        old_keys, old_values = self._keys, self._values
        self._bits += 1
        self._keys = array("Q", [0]) * (1 << self._bits)
        self._values = array("I", [0]) * (1 << self._bits) if old_values is not None else None
        for i, digest in enumerate(old_keys):
            if digest != _EMPTY:
                j = self._slot(digest)
                self._keys[j] = digest
                if self._values is not None and old_values is not None:
                    self._values[j] = old_values[i]

    def _members(self) -> Iterator[int]:
        if self._zero is not None:
            yield 0
        yield from (digest for digest in self._keys if digest != _EMPTY)


class DigestSet(_Table):
    """An exact set of unsigned 64-bit digests."""

    def __init__(self, members: Iterable[int] = ()) -> None:
        super().__init__(values=False)
        for member in members:
            self.add(member)

    def __contains__(self, digest: object) -> bool:
        return isinstance(digest, int) and 0 <= digest <= _MASK and self._find(digest) is not None

    def __iter__(self) -> Iterator[int]:
        return self._members()

    def add(self, digest: int) -> bool:
        """Add the digest; answer whether it was new."""
        return self._put(digest, 0) is None


class DigestMap(_Table):
    """digest -> the first value stored with it (an unsigned 32-bit int: a line number)."""

    def __init__(self) -> None:
        super().__init__(values=True)

    def get(self, digest: int) -> int | None:
        return self._find(digest) if 0 <= digest <= _MASK else None

    def setdefault(self, digest: int, value: int) -> int | None:
        """Store `value` for a new digest and answer None; for a known one, answer its
        value and change nothing."""
        return self._put(digest, value)
