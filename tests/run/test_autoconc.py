"""The auto-concurrency controller on synthetic signals: no sleeps, no server.

`FluidEngine` is an idealised GPU engine (the same shape as tests/gpusim.py):
capacity K, a step that slows as the batch grows, a queue beyond K. Each tick
(1 s) it turns the client's requests in flight into what the controller would
see: a /metrics scrape and the requests that finished.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from client.run.autoconc import AutoConcurrency, Signals, Tuning
from client.run.window import RequestSample
from client.server.metrics import EngineLoad


@dataclass
class FluidEngine:
    capacity: int
    step_s: float = 0.01
    growth: float = 0.02
    tokens: int = 100
    kv_per_running: float = 0.8
    # A compute ceiling (tokens/s) that no batch size passes, queue or not.
    max_rate: float | None = None
    preemptions: float = 0.0
    generated: float = 0.0
    in_flight: int = 0
    _due: float = 0.0
    _drain_until: float = 0.0
    _target: int = 0
    finished: list[RequestSample] = field(default_factory=list)

    def running(self, in_flight: int) -> int:
        return min(in_flight, self.capacity)

    def rate(self, in_flight: int) -> float:
        running = self.running(in_flight)
        if running == 0:
            return 0.0
        rate = running / (self.step_s * (1 + self.growth * (running - 1)))
        return min(rate, self.max_rate) if self.max_rate else rate

    def latency(self, in_flight: int) -> float:
        return in_flight * self.tokens / self.rate(in_flight)

    def follow(self, now: float, level: int) -> None:
        """In flight follows a raised level at once; a lowered one once requests finish."""
        if level >= self.in_flight:
            self.in_flight = level
            self._target = level
        elif level != self._target:
            self._target = level
            self._drain_until = now + self.latency(self.in_flight)
        if self.in_flight > self._target and now >= self._drain_until:
            self.in_flight = self._target

    def tick(self, now: float, dt: float) -> tuple[EngineLoad, list[RequestSample]]:
        rate = self.rate(self.in_flight)
        self.generated += rate * dt
        self._due += rate * dt / self.tokens
        latency = self.latency(self.in_flight) if self.in_flight else 0.0
        done = []
        while self._due >= 1:
            self._due -= 1
            done.append(RequestSample(now - latency, now, self.tokens))
        running = self.running(self.in_flight)
        load = EngineLoad(
            running=running,
            waiting=max(self.in_flight - self.capacity, 0),
            kv_cache_usage=self.kv_per_running * running / self.capacity,
            preemptions_total=self.preemptions,
            generation_tokens_total=self.generated,
        )
        return load, done


def drive(
    controller: AutoConcurrency,
    engine: FluidEngine,
    *,
    seconds: float,
    start: float = 0.0,
    metrics: bool = True,
) -> list[int]:
    """Run the loop for `seconds`; the level after each tick."""
    levels = []
    now = start
    while now < start + seconds:
        now += 1.0
        engine.follow(now, controller.level)
        load, done = engine.tick(now, 1.0)
        signals = Signals(engine.in_flight, done, load if metrics else None)
        levels.append(controller.observe(now, signals))
    return levels


def settled(levels: list[int], tail: int = 60) -> int:
    """The level held over most of the last `tail` seconds (re-probes last a few)."""
    recent = levels[-tail:]
    level = max(set(recent), key=recent.count)
    assert recent.count(level) >= 0.8 * len(recent), recent
    return level


@pytest.mark.parametrize("capacity", [4, 16, 48, 64])
def test_with_metrics_it_settles_at_the_engine_capacity(capacity: int) -> None:
    controller = AutoConcurrency(Tuning(), now=0.0)
    levels = drive(controller, FluidEngine(capacity), seconds=120)
    assert settled(levels) == capacity
    assert controller.state == "steady"
    reasons = [c.reason for c in controller.history]
    assert "requests waiting" in reasons


@pytest.mark.parametrize("capacity", [4, 16, 48, 64])
def test_without_metrics_it_settles_within_a_quarter_of_capacity(capacity: int) -> None:
    controller = AutoConcurrency(Tuning(), now=0.0, metrics=False)
    levels = drive(controller, FluidEngine(capacity), seconds=400, metrics=False)
    level = settled(levels)
    assert abs(level - capacity) <= 0.25 * capacity, controller.history
    assert "settled" in [c.reason for c in controller.history]


@pytest.mark.parametrize("metrics", [True, False])
def test_it_climbs_while_the_rate_grows_and_stops_where_it_does_not(metrics: bool) -> None:
    # No queue ever (K is huge), but past 24 in flight the engine is compute-bound:
    # the rate stops growing, and only that can tell the controller where to stop.
    engine = FluidEngine(capacity=1000)
    engine.max_rate = engine.rate(24)
    controller = AutoConcurrency(Tuning(), now=0.0, metrics=metrics)
    levels = drive(controller, engine, seconds=300, metrics=metrics)
    level = settled(levels)
    # With /metrics it keeps the last level that paid (64 did not); without, it
    # searches down from there for the edge of a queue it cannot see.
    assert level == (32 if metrics else 24)
    reasons = [c.reason for c in controller.history]
    assert "rate stopped growing" in reasons
    assert "requests waiting" not in reasons


def test_preemptions_cut_the_level() -> None:
    engine = FluidEngine(capacity=64)
    controller = AutoConcurrency(Tuning(start=32), now=0.0)
    drive(controller, engine, seconds=3)
    engine.preemptions += 2
    drive(controller, engine, seconds=1, start=3)
    assert controller.level == 24
    assert controller.history[-1].reason == "preemptions"


def test_a_full_kv_cache_stops_the_climb() -> None:
    engine = FluidEngine(capacity=64, kv_per_running=1.0)
    controller = AutoConcurrency(Tuning(start=8, kv_high=0.4), now=0.0)
    levels = drive(controller, engine, seconds=60)
    # 32 of 64 running fills half the cache: past kv_high, so no higher than that.
    assert max(levels) == 32
    assert controller.state == "steady"
    assert "kv cache near full" in [c.reason for c in controller.history]


def test_a_level_is_not_judged_while_the_client_has_too_little_work() -> None:
    engine = FluidEngine(capacity=64)
    controller = AutoConcurrency(Tuning(), now=0.0)
    for second in range(1, 60):
        load, done = engine.tick(float(second), 1.0)
        engine.in_flight = 2  # the run's last batches: fewer than the level
        controller.observe(float(second), Signals(2, done, load))
    assert controller.level == 4


def test_a_momentary_dip_in_flight_does_not_stop_the_climb() -> None:
    # Requests sent together end together: a look taken just then sees two fewer in
    # flight (here every third second) though the client never runs out of work.
    engine = FluidEngine(capacity=64)
    controller = AutoConcurrency(Tuning(), now=0.0)
    for second in range(1, 31):
        engine.follow(float(second), controller.level)
        load, done = engine.tick(float(second), 1.0)
        seen = engine.in_flight - 2 if second % 3 == 0 else engine.in_flight
        controller.observe(float(second), Signals(seen, done, load))
    assert controller.level >= 32


def test_never_above_the_maximum() -> None:
    controller = AutoConcurrency(Tuning(max_level=10), now=0.0)
    levels = drive(controller, FluidEngine(capacity=64), seconds=60)
    assert max(levels) == 10
    assert levels[-1] == 10


def test_the_start_level_respects_the_maximum() -> None:
    assert AutoConcurrency(Tuning(max_level=2), now=0.0).level == 2


def test_losing_metrics_goes_on_from_the_clients_own_signals() -> None:
    engine = FluidEngine(capacity=16)
    controller = AutoConcurrency(Tuning(), now=0.0)
    drive(controller, engine, seconds=4)
    controller.lose_metrics(4.0)
    # Scrapes handed in after the loss are ignored.
    levels = drive(controller, engine, seconds=300, start=4.0)
    assert not controller.metrics
    level = settled(levels)
    assert abs(level - 16) <= 4


def test_a_freed_server_is_found_again_by_re_probing() -> None:
    engine = FluidEngine(capacity=16)
    controller = AutoConcurrency(Tuning(reprobe_s=30), now=0.0)
    drive(controller, engine, seconds=50)
    assert controller.level == 16
    engine.capacity = 32  # another user of the server left
    levels = drive(controller, engine, seconds=200, start=50)
    assert settled(levels) == 32


def test_a_busier_server_makes_it_back_off_with_metrics() -> None:
    engine = FluidEngine(capacity=32)
    controller = AutoConcurrency(Tuning(reprobe_s=1000), now=0.0)
    drive(controller, engine, seconds=60)
    assert controller.level == 32
    engine.capacity = 12
    levels = drive(controller, engine, seconds=30, start=60)
    assert levels[-1] == 12
    assert controller.history[-1].reason == "requests waiting"


def test_a_busier_server_makes_it_back_off_without_metrics() -> None:
    engine = FluidEngine(capacity=32)
    controller = AutoConcurrency(Tuning(reprobe_s=1000), now=0.0, metrics=False)
    drive(controller, engine, seconds=300, metrics=False)
    before = controller.level
    engine.capacity = 12
    levels = drive(controller, engine, seconds=300, start=300, metrics=False)
    level = settled(levels)
    assert level < before
    assert abs(level - 12) <= 3
    assert "latency rose" in [c.reason for c in controller.history]
