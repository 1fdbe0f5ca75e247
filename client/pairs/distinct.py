"""How many distinct 64-bit digests a stream holds, in a fixed budget of memory. Pure.

The diversity report counts the distinct word n-grams of every persona line of a
dataset. `DistinctCount` keeps them exactly, 8 bytes each in one sorted array, up to
`budget` distinct ones, and past it a HyperLogLog sketch of 2^14 one-byte registers
(16 KB, a standard error of 1.04 / sqrt(2^14) = 0.8 %); `exact` says which. Digests
are buffered and merged a few thousand at a time with numpy, so a member costs a list
append, not a probe of a table in Python.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Digests = npt.NDArray[np.uint64]

DISTINCT_BUDGET = 250_000
_BUFFER = 1 << 14  # digests gathered before they are merged
_BITS = 14  # HyperLogLog: 2^14 registers, the first 14 bits of a digest pick one
_REST = 64 - _BITS


def _mix64(values: Digests) -> Digests:
    """SplitMix64's finalizer: digests need not be uniform (hash() of small ints is not),
    a register's index and rank must be."""
    import numpy as np

    values = (values ^ (values >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    values = (values ^ (values >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


class DistinctCount:
    def __init__(self, budget: int = DISTINCT_BUDGET) -> None:
        self.budget = budget
        self._pending: list[int] = []
        self._members: Any = None  # the distinct digests so far, sorted (exact)
        self._registers: Any = None  # the sketch, once past the budget

    @property
    def exact(self) -> bool:
        self._merge()
        return self._registers is None

    def add(self, digest: int) -> None:
        self._pending.append(digest)
        if len(self._pending) >= _BUFFER:
            self._merge()

    def _merge(self) -> None:
        import numpy as np

        if not self._pending:
            return
        batch = np.unique(np.array(self._pending, dtype=np.uint64))
        self._pending = []
        if self._registers is None:
            members = batch if self._members is None else np.union1d(self._members, batch)
            if len(members) <= self.budget:
                self._members = members
                return
            # Past the budget: what was exact goes into the sketch, and is let go.
            self._members, batch = None, members
            self._registers = np.zeros(1 << _BITS, dtype=np.uint8)
        self._register(batch)

    def _register(self, digests: Digests) -> None:
        import numpy as np

        mixed = _mix64(digests)
        index = (mixed >> np.uint64(_REST)).astype(np.intp)
        rest = (mixed & np.uint64((1 << _REST) - 1)).astype(np.float64)  # exact: < 2^53
        # frexp's exponent is the bit length, exactly; the rank is where the first 1 is.
        rank = (_REST + 1 - np.frexp(rest)[1]).astype(np.uint8)
        np.maximum.at(self._registers, index, rank)

    def __len__(self) -> int:
        import numpy as np

        self._merge()
        if self._registers is None:
            return 0 if self._members is None else len(self._members)
        m = float(1 << _BITS)
        estimate = (
            0.7213
            / (1 + 1.079 / m)
            * m
            * m
            / float(np.sum(np.exp2(-self._registers.astype(np.float64))))
        )
        zeros = int(np.count_nonzero(self._registers == 0))
        if estimate <= 2.5 * m and zeros:
            estimate = m * float(np.log(m / zeros))  # linear counting: better for small counts
        return round(estimate)
