"""Duplicate detection: exact and normalised (NFKC, case, whitespace and punctuation folded).

Keys are short digests rather than the texts, so the set that spans a whole run
(or every earlier run) stays small; the run's own is a `DigestSet`, 8 bytes of each
digest in about 20 bytes a pair.
"""

from __future__ import annotations

import hashlib
import unicodedata
from typing import Literal

from client.pairs.digests import DigestSet, digest64

DedupKey = Literal["pair", "standard"]


class _DropTable(dict[int, int | None]):
    """A str.translate table that deletes punctuation, symbols, separators and control
    characters, filled in lazily as characters are met (translate runs in C; this
    runs once per distinct character)."""

    def __missing__(self, codepoint: int) -> int | None:
        # 「あーし、マジ無理！」 and あーしマジ無理 are the same sentence.
        value = None if unicodedata.category(chr(codepoint))[0] in "PSZC" else codepoint
        self[codepoint] = value
        return value


_DROP = _DropTable()


def normalise(text: str) -> str:
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return text.casefold().translate(_DROP)


def dedup_key(standard: str, gyaru: str, key: DedupKey) -> bytes:
    return key_of_normalised(normalise(standard), normalise(gyaru), key)


def key_of_normalised(standard: str, gyaru: str, key: DedupKey) -> bytes:
    basis = standard if key == "standard" else f"{standard}\x1f{gyaru}"
    return hashlib.blake2b(basis.encode("utf-8"), digest_size=12).digest()


class Deduper:
    """Remembers what was seen; `add` answers whether the pair is new."""

    def __init__(self, key: DedupKey, *, earlier: set[bytes] | None = None) -> None:
        self._key: DedupKey = key
        self._seen = DigestSet()
        # Keys of pairs in earlier runs: never new, but not counted in len().
        self._earlier = earlier or set()

    def __len__(self) -> int:
        return len(self._seen)

    def add(self, standard: str, gyaru: str) -> bool:
        return self.add_key(dedup_key(standard, gyaru, self._key))

    def add_key(self, digest: bytes) -> bool:
        if digest in self._earlier:
            return False
        return self._seen.add(digest64(digest))
