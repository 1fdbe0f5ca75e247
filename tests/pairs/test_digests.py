"""The compact digest indexes: exact membership through growth, collisions of slots,
the digest 0, and the memory they are for."""

from __future__ import annotations

import hashlib
import random
import tracemalloc

import pytest

from client.pairs.digests import DigestMap, DigestSet, digest64, hash64, hex64


def _digests(n: int, seed: int = 7) -> list[int]:
    rng = random.Random(seed)
    return [rng.getrandbits(64) for _ in range(n)]


def test_set_agrees_with_a_python_set_through_many_growths() -> None:
    members = _digests(20_000)
    ours, theirs = DigestSet(), set()
    for digest in members + members[:500]:
        assert ours.add(digest) is (digest not in theirs)
        theirs.add(digest)
    assert len(ours) == len(theirs) == 20_000
    assert sorted(ours) == sorted(theirs)
    strangers = _digests(2_000, seed=8)
    assert [d in ours for d in strangers] == [d in theirs for d in strangers]


def test_digests_that_land_in_the_same_slot_are_kept_apart() -> None:
    # Small consecutive ints are the worst case for a table indexed by their low bits.
    ours = DigestSet(range(1, 5_000))
    assert all(d in ours for d in range(1, 5_000))
    assert 5_000 not in ours and 0 not in ours


def test_zero_is_a_member_like_any_other() -> None:
    ours = DigestSet()
    assert 0 not in ours
    assert ours.add(0) is True
    assert ours.add(0) is False
    assert 0 in ours and len(ours) == 1 and list(ours) == [0]


def test_out_of_range_digests_are_refused_not_folded() -> None:
    ours = DigestSet()
    with pytest.raises(ValueError, match="unsigned 64-bit"):
        ours.add(-1)
    with pytest.raises(ValueError, match="unsigned 64-bit"):
        ours.add(1 << 64)
    assert -1 not in ours and "1" not in ours and len(ours) == 0


def test_map_keeps_the_first_value() -> None:
    mapping = DigestMap()
    members = _digests(10_000)
    for line, digest in enumerate(members, start=1):
        assert mapping.setdefault(digest, line) is None
    assert mapping.setdefault(members[41], 99_999) == 42
    assert mapping.get(members[-1]) == 10_000
    assert mapping.get(12345) is None and mapping.get(-5) is None
    assert len(mapping) == 10_000
    assert mapping.setdefault(0, 3) is None and mapping.get(0) == 3
    with pytest.raises(ValueError, match="outside"):
        mapping.setdefault(1, 1 << 32)


def test_conversions_take_the_first_eight_bytes() -> None:
    digest = hashlib.blake2b(b"x", digest_size=12).digest()
    assert digest64(digest) == int.from_bytes(digest[:8], "big")
    assert hex64(digest.hex()) == digest64(digest)
    assert 0 <= hash64(hash("anything")) < 1 << 64
    with pytest.raises(ValueError, match="non-hexadecimal"):
        hex64("not hex")


def test_a_member_costs_a_fraction_of_a_python_set() -> None:
    members = _digests(100_000)
    tracemalloc.start()
    try:
        ours = DigestSet(members)
        ours_bytes, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        baseline, _ = tracemalloc.get_traced_memory()
        theirs = {d.to_bytes(8, "big") + b"\0\0\0\0" for d in members}
        theirs_bytes = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    assert len(ours) == len(theirs)
    # 8 bytes a slot, at most 70% full and at least 35% after a growth: under 24 a member.
    assert ours_bytes / len(members) < 24
    assert ours_bytes * 3 < theirs_bytes
