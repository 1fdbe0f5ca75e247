"""Near-duplicate pairs: MinHash signatures over character n-grams of both lines, LSH
bands to find candidates, each candidate verified against the threshold. Exact
duplicates are client.dedup's; this catches the pair that differs by a particle, a 〜
or one word.

Compact, because the index spans the whole run: a kept pair is one row of `num_perm`
uint32 values (512 bytes at the default 128), one entry per band in sorted arrays
(13 bytes each: `_BandIndex`) and its id (about 40 bytes). A datasketch `MinHash`
object per pair, whose permutations were rebuilt for every pair, cost about 8 KB a
pair and most of the time spent here. The values are, bit for bit, those of
datasketch's `MinHash` (scheme affine32, the SHA-1 32-bit hash, seed 1) and the bands
those its `MinHashLSH` picks for the same threshold and weights
(tests/pairs/test_neardup.py compares them), so the same pairs are found.

Pure. `MinHasher.signatures` (picklable, no state but the permutations) can run in a
worker process; `NearDuplicates` (one per run, fed every kept pair in order) decides
in the process that owns the run, so its decisions do not depend on where the
signatures were computed.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from client.config.checks import NearDuplicateRules
from client.pairs.dedup import normalise
from client.pairs.digests import DigestSet, hash64

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Signatures = npt.NDArray[np.uint32]
    Signatures64 = npt.NDArray[np.uint64]

# Fixed so that the same pairs give the same signatures in every run and process.
_SEED = 1
_LSH_WEIGHTS = (0.2, 0.8)  # false positives, false negatives
_CHUNK_ROWS = 1024  # signature rows are kept in blocks of this many: no copy as they grow
_RECENT = 2048  # kept pairs whose band keys wait in dicts before they join the sorted arrays


def shingles(standard: str, gyaru: str, n: int, *, normalised: bool = False) -> set[bytes]:
    """Character n-grams of each normalised line, marked by line (a line shorter than
    n is one shingle). `normalised`: the lines are already (client.dedup.normalise)."""
    if not normalised:
        standard, gyaru = normalise(standard), normalise(gyaru)
    out: set[bytes] = set()
    for mark, text in (("s\x1f", standard), ("g\x1f", gyaru)):
        out.update((mark + text[i : i + n]).encode() for i in range(max(len(text) - n + 1, 1)))
    return out


def _fmix32(values: Signatures) -> Signatures:
    """MurmurHash3's 32-bit finalizer (datasketch's pre-mix of each input hash)."""
    import numpy as np

    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))


class MinHasher:
    """The permutations, drawn once; `signatures` of many pairs at once."""

    def __init__(self, num_perm: int, ngram: int, seed: int = _SEED) -> None:
        import numpy as np

        self.num_perm, self.ngram = num_perm, ngram
        # As datasketch draws them: a odd, b any, both uint32, from RandomState(seed).
        gen = np.random.RandomState(seed)
        self._a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
        self._b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)

    def signatures(
        self, pairs: Sequence[tuple[str, str]], *, normalised: bool = False
    ) -> Signatures:
        """One row of `num_perm` values per (standard, gyaru) pair; `normalised`: the
        lines are already (as `Pair.normalised`)."""
        import numpy as np

        hashes = bytearray()
        starts = []
        for standard, gyaru in pairs:
            starts.append(len(hashes) // 4)
            for shingle in shingles(standard, gyaru, self.ngram, normalised=normalised):
                hashes += hashlib.sha1(shingle).digest()[:4]
        if not starts:
            return np.empty((0, self.num_perm), dtype=np.uint32)
        mixed = _fmix32(np.frombuffer(bytes(hashes), dtype="<u4").astype(np.uint32))
        # Each shingle under every permutation, then the least per pair and permutation.
        permuted = mixed[:, None] * self._a[None, :] + self._b[None, :]
        return np.minimum.reduceat(permuted, np.array(starts), axis=0)


@cache
def lsh_bands(threshold: float, num_perm: int, weights: tuple[float, float]) -> tuple[int, int]:
    """(bands, rows per band) minimising the weighted chance of a false positive and a
    false negative at `threshold`, as datasketch's MinHashLSH chooses them. Its
    integrals are of polynomials of degree bands x rows <= num_perm, which Gauss-Legendre
    quadrature with num_perm / 2 + 1 nodes gives exactly (no scipy needed)."""
    import numpy as np

    nodes, node_weights = np.polynomial.legendre.leggauss(num_perm // 2 + 1)
    low, high = (nodes + 1) * threshold / 2, threshold + (nodes + 1) * (1 - threshold) / 2
    best, best_error = (0, 0), float("inf")
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            below = 1 - (1 - low**rows) ** bands  # a candidate though under the threshold
            above = (1 - high**rows) ** bands  # no candidate though over it
            false_positive = float(node_weights @ below) * threshold / 2
            false_negative = float(node_weights @ above) * (1 - threshold) / 2
            error = false_positive * weights[0] + false_negative * weights[1]
            if error < best_error:
                best, best_error = (bands, rows), error
    return best


class BandKeys:
    """Each LSH band of a signature as one 64-bit key: the band's values times fixed
    random odd multipliers, summed (mod 2^64). Two bands whose values differ share a
    key with a chance of about 2^-63; a candidate is verified anyway."""

    def __init__(self, bands: int, rows: int) -> None:
        import numpy as np

        self.bands, self.rows = bands, rows
        gen = np.random.RandomState(_SEED)
        high = gen.randint(0, 1 << 32, (bands, rows), dtype=np.uint64) << np.uint64(32)
        low = gen.randint(0, 1 << 32, (bands, rows), dtype=np.uint64)
        self._multipliers = high | low | np.uint64(1)

    def of(self, signatures: Signatures) -> Signatures64:
        """Each row's band keys, band by band."""
        import numpy as np

        used = signatures[:, : self.bands * self.rows].astype(np.uint64)
        bands = used.reshape(len(signatures), self.bands, self.rows)
        keys: Signatures64 = (bands * self._multipliers).sum(axis=2, dtype=np.uint64)
        return keys


class _BandIndex:
    """Which kept pairs share a band key, band by band: the candidates LSH gives.

    The latest `_RECENT` pairs' keys sit in a dict per band (key -> the first of them
    with it; the rare later ones in a list), cheap to add to and look up one at a time;
    then they are merged into three arrays sorted by key: the key, its band and the
    pair (13 bytes an entry, where a dict entry costs about 100 and a pure-Python hash
    table over a microsecond a probe)."""

    def __init__(self, bands: int) -> None:
        import numpy as np

        self.bands = bands
        self._keys = np.empty(0, dtype=np.uint64)
        self._bands = np.empty(0, dtype=np.uint8)
        self._pairs = np.empty(0, dtype=np.uint32)
        self._recent: list[dict[int, int]] = [{} for _ in range(bands)]
        self._shared: list[tuple[int, int, int]] = []  # (band, key, pair) after the first
        self._waiting = 0  # pairs in `_recent`

    def settled(self, keys: Signatures64) -> list[set[int]]:
        """For each row of band keys (one a band), the pairs of the sorted arrays that
        share one in its band: a batch's lookups in one numpy search."""
        import numpy as np

        found: list[set[int]] = [set() for _ in range(len(keys))]
        size = len(self._keys)
        if not size:
            return found
        flat = keys.ravel()
        low = self._keys.searchsorted(flat)
        hits = (low < size) & (self._keys[np.minimum(low, size - 1)] == flat)
        for at in hits.nonzero()[0].tolist():
            row, band = divmod(at, self.bands)
            key, i = flat[at], int(low[at])
            while i < size and self._keys[i] == key:
                if self._bands[i] == band:
                    found[row].add(int(self._pairs[i]))
                i += 1
        return found

    def recent(self, keys: list[int]) -> set[int]:
        """The latest pairs that share one of `keys` (one a band) in its band."""
        found: set[int] = set()
        for band, key in enumerate(keys):
            first = self._recent[band].get(key)
            if first is not None:
                found.add(first)
        if found and self._shared:
            found.update(p for b, k, p in self._shared if k == keys[b])
        return found

    def add(self, keys: list[int], pair: int) -> None:
        for band, key in enumerate(keys):
            if self._recent[band].setdefault(key, pair) != pair:
                self._shared.append((band, key, pair))
        self._waiting += 1

    def merge_if_due(self) -> None:
        """Between batches (a batch's `settled` lookups must see one state)."""
        if self._waiting >= _RECENT:
            self._merge()

    def _merge(self) -> None:
        import numpy as np

        keys = [np.fromiter(r.keys(), np.uint64, len(r)) for r in self._recent]
        pairs = [np.fromiter(r.values(), np.uint32, len(r)) for r in self._recent]
        bands = [np.full(len(r), band, np.uint8) for band, r in enumerate(self._recent)]
        shared = np.array(self._shared, dtype=np.uint64).reshape(-1, 3)
        new_keys = np.concatenate([*keys, shared[:, 1]])
        order = new_keys.argsort(kind="stable")
        new_keys = new_keys[order]
        new_bands = np.concatenate([*bands, shared[:, 0].astype(np.uint8)])[order]
        new_pairs = np.concatenate([*pairs, shared[:, 2].astype(np.uint32)])[order]
        at = self._keys.searchsorted(new_keys)
        self._keys = np.insert(self._keys, at, new_keys)
        self._bands = np.insert(self._bands, at, new_bands)
        self._pairs = np.insert(self._pairs, at, new_pairs)
        self._recent = [{} for _ in range(self.bands)]
        self._shared = []
        self._waiting = 0


class _Ids:
    """Pair ids in one byte string: about their length in bytes each, not an object each."""

    def __init__(self) -> None:
        self._text = bytearray()
        self._ends = array("Q")

    def append(self, pair_id: str) -> int:
        self._text += pair_id.encode()
        self._ends.append(len(self._text))
        return len(self._ends) - 1

    def __getitem__(self, index: int) -> str:
        start = self._ends[index - 1] if index else 0
        return self._text[start : self._ends[index]].decode()


class NearDuplicates:
    """The run's index. Its permutations and bands (numpy) are made on first use: a
    run builds its index before the first request, and numpy is not needed until the
    first reply."""

    def __init__(self, rules: NearDuplicateRules) -> None:
        self._rules = rules
        self._hasher: MinHasher | None = None
        self._band_keys: BandKeys | None = None
        self._index: _BandIndex | None = None
        self._rows: list[Any] = []  # blocks of _CHUNK_ROWS signatures
        self._ids = _Ids()
        self._known = DigestSet()  # hash of every kept pair's id
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def hasher(self) -> MinHasher:
        if self._hasher is None:
            self._hasher = MinHasher(self._rules.num_perm, self._rules.ngram)
        return self._hasher

    @property
    def _bands(self) -> BandKeys:
        if self._band_keys is None:
            # Every candidate is checked against the threshold, so LSH is tuned to miss
            # few true twins (false negatives weigh 4x false positives); with equal
            # weights and 64 permutations it missed most pairs one word apart.
            rules = self._rules
            bands, rows = lsh_bands(rules.threshold, rules.num_perm, _LSH_WEIGHTS)
            self._band_keys = BandKeys(bands, rows)
        return self._band_keys

    @property
    def _candidates(self) -> _BandIndex:
        if self._index is None:
            self._index = _BandIndex(self._bands.bands)
        return self._index

    def signatures(self, pairs: Sequence[tuple[str, str]]) -> Signatures:
        return self.hasher.signatures(pairs)

    def add_many(self, ids: Sequence[str], signatures: Signatures) -> list[str | None]:
        """`add_signature` for each pair in turn (each sees the ones before it)."""
        keys = self._bands.of(signatures)
        index = self._candidates
        settled = index.settled(keys)
        found = [
            self._add(pair_id, signature, band_keys, earlier)
            for pair_id, signature, band_keys, earlier in zip(
                ids, signatures, keys.tolist(), settled, strict=True
            )
        ]
        index.merge_if_due()
        return found

    def _row(self, index: int) -> Signatures:
        row: Signatures = self._rows[index // _CHUNK_ROWS][index % _CHUNK_ROWS]
        return row

    def _twin(self, signature: Signatures, candidates: set[int]) -> int | None:
        import numpy as np

        best: tuple[int, int] | None = None  # (equal values, -index): the earliest wins ties
        bar = self._rules.threshold * self._rules.num_perm
        for index in candidates:
            # LSH candidates are probable, not certain: keep only estimates over the bar.
            equal = int(np.count_nonzero(self._row(index) == signature))
            if equal >= bar and (best is None or (equal, -index) > best):
                best = (equal, -index)
        return None if best is None else -best[1]

    def twin(self, standard: str, gyaru: str) -> str | None:
        """The id of a kept pair this one nearly duplicates (None: none)."""
        signatures = self.signatures([(standard, gyaru)])
        keys = self._bands.of(signatures)
        index = self._candidates
        candidates = index.settled(keys)[0] | index.recent(keys.tolist()[0])
        found = self._twin(signatures[0], candidates)
        return None if found is None else self._ids[found]

    def add(self, pair_id: str, standard: str, gyaru: str) -> str | None:
        """Keep the pair and answer None, or answer the id of its kept near twin."""
        return self.add_many([pair_id], self.signatures([(standard, gyaru)]))[0]

    def add_signature(self, pair_id: str, signature: Signatures) -> str | None:
        """`add`, with the pair's signature (a row of `signatures`) made beforehand."""
        return self.add_many([pair_id], signature[None, :])[0]

    def _add(
        self, pair_id: str, signature: Signatures, keys: list[int], settled: set[int]
    ) -> str | None:
        found = self._twin(signature, settled | self._candidates.recent(keys))
        if found is not None:
            return self._ids[found]
        if self._known.add(hash64(hash(pair_id))):
            self._keep(pair_id, signature, keys)
        return None

    def _keep(self, pair_id: str, signature: Signatures, keys: list[int]) -> None:
        import numpy as np

        index = self._ids.append(pair_id)
        if index % _CHUNK_ROWS == 0:
            # Zeroed pages cost no memory until a row is written to them.
            self._rows.append(np.zeros((_CHUNK_ROWS, self._rules.num_perm), dtype=np.uint32))
        self._row(index)[:] = signature
        self._candidates.add(keys, index)
        self._count += 1
