"""The event-loop lag probe: percentiles from bounded buckets, and a stall is seen."""

from __future__ import annotations

import asyncio
import time

import pytest

from client.run.looplag import LagHistogram, LoopLagProbe, probing


def test_percentiles_are_within_a_bucket_of_the_samples() -> None:
    histogram = LagHistogram()
    for ms in range(1, 101):  # 1 .. 100 ms
        histogram.add(float(ms))
    summary = histogram.summary()
    assert summary.samples == 100
    assert summary.p50_ms is not None and 50 <= summary.p50_ms <= 50 * 1.05
    assert summary.p99_ms is not None and 99 <= summary.p99_ms <= 100
    assert summary.max_ms == 100
    assert summary.to_json() == {
        "samples": 100,
        "p50": summary.p50_ms,
        "p99": summary.p99_ms,
        "max": 100.0,
    }


def test_memory_does_not_grow_with_samples() -> None:
    histogram = LagHistogram()
    size = len(histogram._counts)
    for n in range(100_000):
        histogram.add(n % 7 * 0.3)
    assert len(histogram._counts) == size
    assert histogram.summary().p50_ms is not None


def test_no_samples_no_figures() -> None:
    summary = LagHistogram().summary()
    assert (summary.samples, summary.p50_ms, summary.p99_ms) == (0, None, None)


def test_a_probe_sees_the_loop_held_up() -> None:
    async def main() -> LoopLagProbe:
        with probing(interval_s=0.01) as probe:
            await asyncio.sleep(0.05)
            time.sleep(0.3)  # noqa: ASYNC251 - the loop held up, as by a batch checked on it
            await asyncio.sleep(0.05)
        return probe

    probe = asyncio.run(main())
    summary = probe.summary()
    # The timer due during the stall ran at least the rest of it late.
    assert summary.samples >= 2
    assert summary.max_ms is not None and summary.max_ms >= 250
    # Stopped with the block: no timer left on a closed loop.
    assert probe._handle is None


def test_the_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        LoopLagProbe(0)
