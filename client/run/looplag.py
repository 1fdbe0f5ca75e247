"""How late the event loop runs what is due: a probe for a run's loop.

Everything a run does between two awaits (extracting a reply, checking its pairs,
near-duplicate signatures, writing) holds up every other request: no reply is read
and no request is sent meanwhile. The probe measures that: a timer asks to run every
`interval_s`, and each time it runs it records how late it is. A loop that keeps up
answers in well under a millisecond; a batch checked on the loop's thread shows up
as its whole check time.

Lateness goes into a histogram of fixed buckets (5 % wide), so a run of a day costs
the same few kilobytes as a run of a minute; percentiles are the upper edge of their
bucket, at most 5 % high. It is a timer callback rather than a task: nothing to cancel
in a task group, and no exception of the run is wrapped on its way out.
"""

from __future__ import annotations

import asyncio
import math
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

DEFAULT_INTERVAL_S = 0.01
_FLOOR_MS = 0.05  # lateness under this is the first bucket: the loop is keeping up
_GROWTH = 1.05
_BUCKETS = 400  # 0.05 ms * 1.05**400: about 15 hours, far past any stall worth telling apart


def _bucket(late_ms: float) -> int:
    if late_ms <= _FLOOR_MS:
        return 0
    return min(int(math.log(late_ms / _FLOOR_MS, _GROWTH)) + 1, _BUCKETS - 1)


def _upper_ms(bucket: int) -> float:
    return float(_FLOOR_MS * _GROWTH**bucket)


@dataclass(frozen=True)
class LagSummary:
    samples: int
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None

    def to_json(self) -> dict[str, float | int | None]:
        return {
            "samples": self.samples,
            "p50": self.p50_ms,
            "p99": self.p99_ms,
            "max": self.max_ms,
        }


class LagHistogram:
    """Lateness samples in bounded memory; pure."""

    def __init__(self) -> None:
        self._counts = array("Q", [0]) * _BUCKETS
        self._samples = 0
        self._max_ms = 0.0

    def add(self, late_ms: float) -> None:
        late_ms = max(late_ms, 0.0)
        self._counts[_bucket(late_ms)] += 1
        self._samples += 1
        self._max_ms = max(self._max_ms, late_ms)

    def percentile(self, share: float) -> float | None:
        """The lateness `share` (0..1) of the samples are at or under (bucket's upper
        edge, never above the largest sample); None before any sample."""
        if not self._samples:
            return None
        rank = max(math.ceil(share * self._samples), 1)
        seen = 0
        for bucket, count in enumerate(self._counts):
            seen += count
            if seen >= rank:
                return round(min(_upper_ms(bucket), self._max_ms), 2)
        return round(self._max_ms, 2)  # pragma: no cover - the counts sum to the samples

    def summary(self) -> LagSummary:
        if not self._samples:
            return LagSummary(0, None, None, None)
        return LagSummary(
            samples=self._samples,
            p50_ms=self.percentile(0.5),
            p99_ms=self.percentile(0.99),
            max_ms=round(self._max_ms, 2),
        )


class LoopLagProbe:
    """A timer on the running asyncio loop, due every `interval_s`, recording how late
    it ran. `start` inside the loop, `stop` before it closes."""

    def __init__(self, interval_s: float = DEFAULT_INTERVAL_S) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.interval_s = interval_s
        self.histogram = LagHistogram()
        self._handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._schedule(loop, loop.time() + self.interval_s)

    def _schedule(self, loop: asyncio.AbstractEventLoop, due: float) -> None:
        self._handle = loop.call_at(due, self._tick, loop, due)

    def _tick(self, loop: asyncio.AbstractEventLoop, due: float) -> None:
        now = loop.time()
        self.histogram.add((now - due) * 1000)
        # The next one is due an interval after now, not after `due`: a stall is
        # counted once, not again for every interval it covered.
        self._schedule(loop, now + self.interval_s)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def summary(self) -> LagSummary:
        return self.histogram.summary()


@contextmanager
def probing(interval_s: float = DEFAULT_INTERVAL_S) -> Iterator[LoopLagProbe]:
    """The probe, running for the duration of the block (inside a running loop)."""
    probe = LoopLagProbe(interval_s)
    probe.start()
    try:
        yield probe
    finally:
        probe.stop()
