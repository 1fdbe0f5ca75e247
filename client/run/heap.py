"""The C allocator's settings for a long run (glibc on Linux; elsewhere nothing).

glibc serves a block over its mmap threshold (128 KiB to start with) straight from
the system and gives it back when it is freed. But the threshold rises to the size
of the largest such block freed, up to 32 MiB, and from then on blocks that size come
from the heap and stay there once freed. A run frees large blocks often: the
near-duplicate index's arrays each time they grow, and the whole index when the
dataset rebuild starts (the rebuild keeps its own). With the threshold moving, that
memory stayed with the process and the rebuild's own index came on top of it: at
60,000 pairs the run's peak was about 40 MB higher than with it fixed
(tests/bench/growth.py).
"""

from __future__ import annotations

import ctypes
import sys

_M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)
MMAP_THRESHOLD = 128 * 1024


def fix_mmap_threshold(size: int = MMAP_THRESHOLD) -> bool:
    """Keep blocks of `size` bytes or more out of the heap for the rest of the process
    (set before the run allocates them); False where the C library has no mallopt."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False  # not glibc (musl has no mallopt)
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(_M_MMAP_THRESHOLD, size))
