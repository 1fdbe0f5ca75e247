"""The allocator setting that lets a run give freed blocks back to the system."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.helpers import REPO

# Frees one large block (which raises glibc's moving threshold), then holds 100 MB in
# 512 KiB blocks with small blocks between them, frees the large ones and says how much
# of it the process still holds.
SCRIPT = textwrap.dedent(
    """
    import sys
    from client.run.heap import fix_mmap_threshold

    def rss_mb():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024

    if sys.argv[1] == "fixed":
        assert fix_mmap_threshold()
    first = bytearray(4 << 20)
    first[::4096] = b"x" * len(first[::4096])
    del first
    large, small = [], []
    for _ in range(200):
        block = bytearray(512 * 1024)
        block[::4096] = b"x" * len(block[::4096])
        large.append(block)
        small.append(bytearray(64 * 1024))
    held = rss_mb()
    del large
    print(held - rss_mb())
    """
)


def given_back_mb(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], cwd=REPO, capture_output=True, text=True, check=True
    )
    return int(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_large_blocks_go_back_to_the_system() -> None:
    # Without the setting, the blocks came from the heap and stay with the process.
    assert given_back_mb("moving") < 20
    assert given_back_mb("fixed") > 90
