"""Near-duplicate pairs: MinHash over character n-grams of both lines, with LSH to find
candidates (datasketch). Exact duplicates are client.dedup's; this catches the pair
that differs by a particle, a 〜 or one word.

Pure: one `NearDuplicates` per run, fed every kept pair in order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from client.config.checks import NearDuplicateRules
from client.pairs.dedup import normalise

if TYPE_CHECKING:
    from datasketch import MinHash

# Fixed so that the same pairs give the same signatures in every run and process.
_SEED = 1
_LSH_WEIGHTS = (0.2, 0.8)  # false positives, false negatives


def shingles(standard: str, gyaru: str, n: int) -> set[bytes]:
    """Character n-grams of each normalised line, marked by line (a line shorter than
    n is one shingle)."""
    out: set[bytes] = set()
    for mark, text in (("s", normalise(standard)), ("g", normalise(gyaru))):
        grams = {text[i : i + n] for i in range(max(len(text) - n + 1, 1))}
        out.update(f"{mark}\x1f{g}".encode() for g in grams)
    return out


class NearDuplicates:
    def __init__(self, rules: NearDuplicateRules) -> None:
        # Imported here, not at the top: datasketch pulls in scipy (about 70 MB resident)
        # and input runs, which never look for near duplicates, should not carry it.
        from datasketch import MinHash, MinHashLSH

        self._new_signature: type[MinHash] = MinHash
        self._rules = rules
        # Every candidate is checked against the threshold below, so LSH is tuned to
        # miss few true twins (false negatives weigh 4x false positives); with equal
        # weights and 64 permutations it missed most pairs one word apart.
        self._lsh = MinHashLSH(
            threshold=rules.threshold, num_perm=rules.num_perm, weights=_LSH_WEIGHTS
        )
        self._signatures: dict[str, MinHash] = {}

    def __len__(self) -> int:
        return len(self._signatures)

    def _signature(self, standard: str, gyaru: str) -> MinHash:
        signature = self._new_signature(num_perm=self._rules.num_perm, seed=_SEED)
        signature.update_batch(shingles(standard, gyaru, self._rules.ngram))
        return signature

    def twin(self, standard: str, gyaru: str) -> tuple[str | None, MinHash]:
        """The id of a kept pair this one nearly duplicates (None: none), and its signature."""
        signature = self._signature(standard, gyaru)
        best: tuple[float, str] | None = None
        for key in self._lsh.query(signature):
            # LSH candidates are probable, not certain: keep only estimates over the bar.
            similarity = signature.jaccard(self._signatures[key])
            if similarity >= self._rules.threshold and (best is None or similarity > best[0]):
                best = (similarity, key)
        return (None if best is None else best[1]), signature

    def add(self, pair_id: str, standard: str, gyaru: str) -> str | None:
        """Keep the pair and answer None, or answer the id of its kept near twin."""
        twin, signature = self.twin(standard, gyaru)
        if twin is None and pair_id not in self._signatures:
            self._lsh.insert(pair_id, signature)
            self._signatures[pair_id] = signature
        return twin
