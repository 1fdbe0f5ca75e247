"""Distinct counts in a fixed budget: exact below it, a close estimate above."""

from __future__ import annotations

import random

from client.pairs.distinct import DistinctCount


def test_distinct_count_is_exact_up_to_its_budget() -> None:
    count = DistinctCount(budget=1000)
    for n in range(900):
        count.add(n)
        count.add(n)  # seen twice, counted once
    assert count.exact and len(count) == 900


def test_past_its_budget_a_distinct_count_is_a_close_estimate_in_flat_memory() -> None:
    count = DistinctCount(budget=1000)
    rng = random.Random(5)
    members = [rng.getrandbits(64) for _ in range(60_000)] + list(range(40_000))
    for member in members:
        count.add(member)
    assert not count.exact
    estimate = len(count)
    assert abs(estimate - 100_000) / 100_000 < 0.03, estimate
    for member in members[:20_000]:  # repeats change nothing
        count.add(member)
    assert len(count) == estimate
    # The exact members are gone; what is left is the 16 KB sketch.
    assert count._members is None and len(count._registers) == 16384


def test_the_whole_range_of_digests_is_counted() -> None:
    count = DistinctCount(budget=10)
    members = [0, 1, 2**63, 2**64 - 1, *range(3, 40)]
    for member in members:
        count.add(member)
    assert not count.exact and abs(len(count) - len(members)) <= 2
    small = DistinctCount()
    for member in members:
        small.add(member)
    assert small.exact and len(small) == len(members)
    assert len(DistinctCount()) == 0
