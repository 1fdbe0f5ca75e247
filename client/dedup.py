"""Duplicate detection: exact and normalised (NFKC, case, whitespace and punctuation folded).

Keys are short digests rather than the texts, so the set that spans a whole run
(or every earlier run) stays small.
"""

from __future__ import annotations

import hashlib
import unicodedata
from functools import lru_cache
from typing import Literal

DedupKey = Literal["pair", "standard"]


@lru_cache(maxsize=4096)
def _dropped(char: str) -> bool:
    # Punctuation, symbols, separators and control characters carry no meaning for
    # "is this the same sentence": 「あーし、マジ無理！」 and あーしマジ無理 are one line.
    return unicodedata.category(char)[0] in "PSZC"


def normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(c for c in folded if not _dropped(c))


def dedup_key(standard: str, gyaru: str, key: DedupKey) -> bytes:
    basis = (
        normalise(standard) if key == "standard" else f"{normalise(standard)}\x1f{normalise(gyaru)}"
    )
    return hashlib.blake2b(basis.encode("utf-8"), digest_size=12).digest()


class Deduper:
    """Remembers what was seen; `add` answers whether the pair is new."""

    def __init__(self, key: DedupKey) -> None:
        self._key: DedupKey = key
        self._seen: set[bytes] = set()

    def __len__(self) -> int:
        return len(self._seen)

    def add(self, standard: str, gyaru: str) -> bool:
        digest = dedup_key(standard, gyaru, self._key)
        if digest in self._seen:
            return False
        self._seen.add(digest)
        return True

    def seen(self, standard: str, gyaru: str) -> bool:
        return dedup_key(standard, gyaru, self._key) in self._seen
