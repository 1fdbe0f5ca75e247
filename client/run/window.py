"""What one level of concurrency achieved: the measurement window of `--concurrency auto`.

A window opens when a level takes effect and collects, from then on, the
server's token counter (from /metrics) and the client's own finished requests.
Two ways to read an output rate from it:

- the server's: the growth of `generation_tokens_total` between two scrapes at
  least `window_s` apart, both taken after `settle_s` (time for the new requests
  to be prefilled and join the batch);
- the client's, by Little's law: with L requests in flight, tokens per second is
  L x (tokens / latency) of the requests that ran at that level. Only requests
  sent at least `lag_s` after the change count: the first ones after a change
  meet a queue that is still filling and would make a level look better than it is.

Pure: times are numbers handed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class RequestSample:
    """One finished request: when it was sent and answered (monotonic s), tokens out."""

    started: float
    finished: float
    tokens: int

    @property
    def latency(self) -> float:
        return max(self.finished - self.started, 1e-6)


@dataclass
class Window:
    opened: float
    settle_s: float
    lag_s: float = 0.0
    counter_first: tuple[float, float] | None = None
    counter_last: tuple[float, float] | None = None
    waiting: list[float] = field(default_factory=list)
    tokens: int = 0
    latency_s: float = 0.0
    samples: int = 0
    in_flight_sum: float = 0.0
    in_flight_seen: int = 0

    def settled(self, now: float) -> bool:
        return now >= self.opened + self.settle_s

    def add_requests(self, samples: Iterable[RequestSample]) -> None:
        for sample in samples:
            if sample.started >= self.opened + self.lag_s:
                self.tokens += sample.tokens
                self.latency_s += sample.latency
                self.samples += 1

    def add_scrape(self, now: float, waiting: float, generation_tokens: float | None) -> None:
        if not self.settled(now):
            return
        self.waiting.append(waiting)
        if generation_tokens is not None:
            if self.counter_first is None:
                self.counter_first = (now, generation_tokens)
            self.counter_last = (now, generation_tokens)

    def add_in_flight(self, now: float, in_flight: int) -> None:
        if self.settled(now):
            self.in_flight_sum += in_flight
            self.in_flight_seen += 1

    def starved(self, level: int, share: float) -> bool:
        """Too little work to judge `level`: on average fewer than `share` of it in flight.

        The mean, not any one look: requests sent together end together, and a look
        taken just as some have ended and the next are not sent yet sees a dip."""
        if not self.in_flight_seen:
            return False
        return self.in_flight_sum / self.in_flight_seen < share * level

    def queued(self, scrapes: int) -> float:
        """Requests waiting in the engine on each of the last `scrapes` scrapes (the least), or 0."""
        recent = self.waiting[-scrapes:]
        if len(recent) < scrapes:
            return 0.0
        return min(recent)

    def server_rate(self, window_s: float) -> float | None:
        if self.counter_first is None or self.counter_last is None:
            return None
        (t0, c0), (t1, c1) = self.counter_first, self.counter_last
        if t1 - t0 < window_s or c1 < c0:
            return None
        return (c1 - c0) / (t1 - t0)

    def client_rate(self, level: int, min_samples: int) -> float | None:
        if self.samples < max(min_samples, level // 2) or self.latency_s <= 0:
            return None
        return level * self.tokens / self.latency_s

    @property
    def seconds_per_token(self) -> float | None:
        return self.latency_s / self.tokens if self.tokens else None

    @property
    def mean_latency(self) -> float | None:
        return self.latency_s / self.samples if self.samples else None
