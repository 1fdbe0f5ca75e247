"""`--concurrency auto` for one endpoint: a state machine fed (time, signals) -> level.

vLLM never answers "too busy"; it queues. So the level is found by watching what
each level achieves. Each level is held for one measurement window (`window.py`)
and judged by the output rate it reached:

    climb    x2 per window while the rate grows by >= 10 % (a re-probe: x1.25, >= 5 %);
             a step that does not pay gets a second window before it counts
    descend  once it stopped growing, without /metrics only (with them a queue shows
             as requests waiting, so the last level that paid is kept): from the
             last level that paid, x0.75 per window while the rate stays within 5 %
             of the best seen; the last that held stays
    steady   hold, keep measuring; every `reprobe_s` try x1.25 once (the server may
             have been freed by someone else)

Guards act at once, whatever the state, on scrapes taken after the level took effect:

    queue    vLLM reports requests waiting on `queue_scrapes` scrapes in a row: the
             engine's batch is full, so drop by that many (our level - waiting is
             what it could take)
    preempt  the preemption counter moved: x0.75
    kv       the KV cache is >= kv_high: no higher than now
    latency  (no /metrics) in steady state, seconds per token x1.5 the settled
             value: x0.75 (the server got busier; multiplicative decrease), then
             descend from there

Without /metrics the same search runs on the client's own rate (Little's law over
its finished requests), which needs about two request latencies per window
instead of a few seconds. A lower level takes effect only once the requests above
it have finished; until then nothing is judged. Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from client.run.window import RequestSample, Window
from client.server.metrics import EngineLoad

State = Literal["climb", "descend", "steady"]


@dataclass(frozen=True)
class Tuning:
    start: int = 4
    max_level: int = 256
    climb_factor: float = 2.0
    probe_factor: float = 1.25
    descend_factor: float = 0.75
    climb_gain: float = 0.10
    probe_gain: float = 0.05
    hold_tolerance: float = 0.05
    settle_s: float = 1.0
    # vLLM's token counter moves in bursts on a loaded machine: a few seconds smooth it.
    window_s: float = 6.0
    min_samples: int = 4
    # A request that arrives mid-step waits for the step to end: one scrape in a few
    # shows it even below capacity. A real queue shows on every scrape.
    queue_scrapes: int = 5
    kv_high: float = 0.95
    latency_inflation: float = 1.5
    reprobe_s: float = 60.0
    # A level is judged only if this share of it was in flight on average.
    busy_share: float = 0.8


@dataclass(frozen=True, slots=True)
class Signals:
    """What the client saw since the last observation."""

    in_flight: int
    finished: Sequence[RequestSample] = ()
    load: EngineLoad | None = None


@dataclass(frozen=True, slots=True)
class Change:
    at: float
    level: int
    reason: str
    # The output rate (tokens/s) measured at the level before, when that decided it.
    rate: float | None = None


class AutoConcurrency:
    def __init__(self, tuning: Tuning, *, now: float, metrics: bool = True) -> None:
        self.t = tuning
        self.level = max(1, min(tuning.start, tuning.max_level))
        self.metrics = metrics
        self.state: State = "climb"
        self.history = [Change(now, self.level, "start")]
        self._probing = False
        self._best: tuple[int, float] | None = None
        self._accepted = self.level
        self._plateau = 0.0
        self._steady_since = now
        self._steady_spt: float | None = None
        self._preemptions: float | None = None
        self._latency_hint = 0.0
        # A climb step that did not pay is measured twice before it counts.
        self._doubted = False
        self._doubted_rate = 0.0
        self._window: Window | None = Window(now, tuning.settle_s)

    # -- the one entry point ----------------------------------------------

    def observe(self, now: float, signals: Signals) -> int:
        """Feed one observation; the level to use from now on."""
        load = signals.load if self.metrics else None
        window = self._effective(now, signals.in_flight)
        if window is None:
            self._preemptions = load.preemptions_total if load else None
            return self.level
        window.add_requests(signals.finished)
        if load is not None:
            window.add_scrape(now, load.waiting, load.generation_tokens_total)
        window.add_in_flight(now, signals.in_flight)
        if not self._guard(now, window, load, signals.in_flight):
            self._judge(now, window)
        return self.level

    def lose_metrics(self, now: float) -> None:
        """/metrics stopped answering: go on with the client's own signals."""
        if not self.metrics:
            return
        self.metrics = False
        self._best = None
        self._steady_spt = None
        self._open(now)

    # -- windows ------------------------------------------------------------

    def _open(self, now: float, *, lag_s: float = 0.0) -> None:
        self._window = Window(now, self.t.settle_s, lag_s=lag_s)

    def _effective(self, now: float, in_flight: int) -> Window | None:
        """The open window, opening one once a lowered level has drained."""
        if self._window is None and in_flight <= self.level:
            self._open(now)
        return self._window

    def _set(self, now: float, level: int, reason: str, rate: float | None = None) -> None:
        level = max(1, min(level, self.t.max_level))
        lag = 0.0 if self.metrics else self._latency_hint
        self._doubted = False
        if level != self.level:
            self.history.append(Change(now, level, reason, rate))
        lowered = level < self.level
        self.level = level
        if lowered:
            self._window = None
        else:
            self._open(now, lag_s=lag)

    def _up(self, factor: float) -> int:
        return min(self.t.max_level, max(self.level + 1, round(self.level * factor)))

    def _down(self, level: int) -> int:
        return max(1, min(level - 1, int(level * self.t.descend_factor)))

    def _steady(self, now: float) -> None:
        self.state = "steady"
        self._probing = False
        self._steady_since = now
        self._steady_spt = None

    # -- guards ---------------------------------------------------------------

    def _guard(self, now: float, window: Window, load: EngineLoad | None, in_flight: int) -> bool:
        """Apply the first guard that fires; True when one did."""
        if load is None or not window.settled(now):
            self._preemptions = load.preemptions_total if load else None
            return False
        before, after = self._preemptions, load.preemptions_total
        self._preemptions = after
        if before is not None and after is not None and after > before:
            self._set(now, self._down(self.level), "preemptions")
            self._steady(now)
            return True
        queued = window.queued(self.t.queue_scrapes)
        if queued >= 1:
            base = min(self.level, max(in_flight, 1))
            self._set(now, min(self.level - 1, base - int(queued)), "requests waiting")
            self._steady(now)
            return True
        kv = load.kv_cache_usage
        if kv is not None and kv >= self.t.kv_high and self.state == "climb":
            self.history.append(Change(now, self.level, "kv cache near full"))
            self._steady(now)
            self._open(now)
            return True
        return False

    # -- judging a finished window -------------------------------------------

    def _rate(self, window: Window) -> float | None:
        if self.metrics:
            rate = window.server_rate(self.t.window_s)
            if rate is not None or window.counter_first is not None:
                return rate
        return window.client_rate(self.level, self.t.min_samples)

    def _judge(self, now: float, window: Window) -> None:
        if self.state == "steady" and self._reprobe_due(now):
            self._reprobe(now)
            return
        rate = self._rate(window)
        if rate is None or not window.settled(now):
            return
        if window.mean_latency is not None:
            self._latency_hint = window.mean_latency
        if window.starved(self.level, self.t.busy_share):
            self._open(now)
        elif self.state == "climb":
            self._climb(now, rate)
        elif self.state == "descend":
            self._descend(now, rate)
        else:
            self._hold(now, rate, window)

    def _climb(self, now: float, rate: float) -> None:
        gain = self.t.probe_gain if self._probing else self.t.climb_gain
        best = self._best
        if best is None or rate >= best[1] * (1 + gain):
            self._pays(now, rate)
            return
        if not self._doubted and not self._probing:
            # One window is noisy on a busy machine: measure this level once more
            # before giving up on it, and keep the better of the two.
            self._doubted = True
            self._doubted_rate = rate
            self._open(now)
            return
        rate = max(rate, self._doubted_rate)
        if rate >= best[1] * (1 + gain):
            self._pays(now, rate)
            return
        level, best_rate = best
        # With /metrics a queue would have shown as requests waiting, so a plateau
        # is the engine's compute limit: the last level that paid is the one.
        # Without, it may be a queue the client cannot see: search down for its edge.
        if self._probing or self.metrics or level <= 1:
            self._set(now, level, "rate stopped growing", rate)
            self._steady(now)
            return
        self._plateau = max(best_rate, rate)
        self._accepted = level
        self.state = "descend"
        self._set(now, self._down(level), "rate stopped growing", rate)

    def _pays(self, now: float, rate: float) -> None:
        self._best = (self.level, rate)
        if self.level >= self.t.max_level:
            self._steady(now)
            self._open(now)
            return
        factor = self.t.probe_factor if self._probing else self.t.climb_factor
        reason = "re-probe paid" if self._probing else "rate grew"
        self._set(now, self._up(factor), reason, rate)

    def _descend(self, now: float, rate: float) -> None:
        if rate >= self._plateau * (1 - self.t.hold_tolerance):
            self._accepted = self.level
            if self.level > 1:
                self._set(now, self._down(self.level), "rate held", rate)
                return
        self._set(now, self._accepted, "settled", rate)
        self._steady(now)

    def _hold(self, now: float, rate: float, window: Window) -> None:
        spt = window.seconds_per_token
        if not self.metrics and spt is not None:
            if self._steady_spt is None:
                self._steady_spt = spt
            elif spt > self._steady_spt * self.t.latency_inflation:
                # The server got busier: cut, then search down from there as after a plateau.
                self._plateau = rate
                self._accepted = self._down(self.level)
                self.state = "descend"
                self._set(now, self._accepted, "latency rose", rate)
                return
        self._best = (self.level, rate)
        self._open(now)

    def _reprobe_due(self, now: float) -> bool:
        return (
            now - self._steady_since >= self.t.reprobe_s
            and self.level < self.t.max_level
            and self._best is not None
            and self._best[0] == self.level
        )

    def _reprobe(self, now: float) -> None:
        self.state = "climb"
        self._probing = True
        self._set(now, self._up(self.t.probe_factor), "re-probe")
