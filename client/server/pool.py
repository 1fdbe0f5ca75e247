"""Routing over one or more endpoints: least in-flight first, a concurrency bound each,
and endpoints that fail taken out of rotation for a while.

The pool is the one owner of the work in flight, counted twice:

- requests: each holds a `slot` on one endpoint, at most that endpoint's `limit`
  at once (the fixed concurrency, or the level --concurrency auto set);
- work admitted (a batch, from when it is taken from the plan until its result is
  stored, judge and retries included): at most the endpoints' limits together
  (`total_limit`), so when auto lowers or raises a level, admission follows it.
  A rule may hold admission back further (target mode's gate).

The tuners, the progress display and the target gate read these counts; none keeps
its own.

With one endpoint nothing is ever taken out: the retry policy alone decides how
long to keep trying. With several, an endpoint that refuses connections (or
answers 5xx twice in a row) sits out a cooldown that doubles with each failure
(capped); when it ends the endpoint gets traffic again, and the first success
restores it fully.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

import anyio
import httpx
from pydantic import SecretStr

from client.errors import TransientError
from client.pairs.records import Completion
from client.server.api import Endpoint, lanes_for, make_http_client
from client.server.transport import HttpTransport

MAX_COOLDOWN_S = 30.0
FAULTS_BEFORE_OUT_5XX = 2
# How long a waiter sleeps when nothing it waits for has a known time (it is woken
# by any change first).
IDLE_WAIT_S = 3600.0

# What an admission rule answers, given the work in flight: start one more now, wait
# for a change, or start no more at all.
Admission = Literal["start", "wait", "stop"]
AdmissionRule = Callable[[int], Admission]


class _Changes:
    """Wakes every waiter when something it may wait for changes: a slot or a unit of
    work freed, a limit changed. Plain callbacks can tell it (no lock to hold), and a
    waiter checks and takes what it waited for with no await in between."""

    def __init__(self) -> None:
        self._event: anyio.Event | None = None

    def notify(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None

    async def wait(self, timeout_s: float | None) -> None:
        if self._event is None:
            self._event = anyio.Event()
        with anyio.move_on_after(IDLE_WAIT_S if timeout_s is None else timeout_s):
            await self._event.wait()


@dataclass(slots=True)
class EndpointState:
    endpoint: Endpoint
    in_flight: int = 0
    served: int = 0
    failures: int = 0
    consecutive_faults: int = 0
    # When it rejoins the rotation; None: never taken out (no reading of an injected
    # clock, whose origin is arbitrary, means "never").
    out_until: float | None = None
    last_error: str | None = None
    # Requests it may have at once: the pool's capacity, or the level auto set.
    limit: int = 1

    @property
    def url(self) -> str:
        return self.endpoint.base_url

    def available(self, now: float) -> bool:
        return self.out_until is None or now >= self.out_until


class EndpointPool:
    def __init__(
        self,
        endpoints: Sequence[Endpoint],
        *,
        capacity: int,
        cooldown_s: float,
        http_clients: Sequence[httpx.AsyncClient],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not endpoints:
            raise ValueError("at least one endpoint is needed")
        self._states = [EndpointState(e, limit=capacity) for e in endpoints]
        self.capacity = capacity
        self._on_reply: Callable[[str, Completion], None] | None = None
        self._cooldown_s = cooldown_s
        self._http = list(http_clients)
        self._changes = _Changes()
        self._admitted = 0
        self._clock = clock

    @classmethod
    def connect(
        cls,
        urls: Sequence[str],
        *,
        api_key: SecretStr | None,
        capacity: int,
        request_timeout_s: float,
        connect_timeout_s: float,
        cooldown_s: float,
        transport: HttpTransport = "aiohttp",
    ) -> EndpointPool:
        # Together the lanes' pools are never smaller than what may be in flight, or
        # requests would queue inside httpx where no timeout of ours sees them.
        lanes = lanes_for(capacity)
        per_lane = -(-capacity // lanes)
        clients: list[httpx.AsyncClient] = []
        endpoints = []
        for url in urls:
            own = [
                make_http_client(
                    pool_size=per_lane + 1,
                    request_timeout_s=request_timeout_s,
                    connect_timeout_s=connect_timeout_s,
                    transport=transport,
                )
                for _ in range(lanes)
            ]
            clients.extend(own)
            endpoints.append(
                Endpoint(
                    url,
                    http_clients=own,
                    api_key=api_key,
                    request_timeout_s=request_timeout_s,
                    connect_timeout_s=connect_timeout_s,
                )
            )
        return cls(endpoints, capacity=capacity, cooldown_s=cooldown_s, http_clients=clients)

    @property
    def endpoints(self) -> list[Endpoint]:
        return [s.endpoint for s in self._states]

    @property
    def states(self) -> list[EndpointState]:
        return list(self._states)

    @property
    def total_capacity(self) -> int:
        """The most requests (and units of work) the pool may ever have at once."""
        return self.capacity * len(self._states)

    @property
    def total_limit(self) -> int:
        """The units of work admitted at once: the endpoints' limits together."""
        return sum(s.limit for s in self._states)

    @property
    def admitted(self) -> int:
        """Units of work admitted and not yet released (batches in flight)."""
        return self._admitted

    def _pick(self, now: float, avoid: str | None) -> EndpointState | None:
        ready = [s for s in self._states if s.available(now) and s.in_flight < s.limit]
        if not ready:
            return None
        preferred = [s for s in ready if s.url != avoid] or ready
        return min(preferred, key=lambda s: (s.in_flight, s.served))

    def _next_return(self, now: float) -> float | None:
        pending = [
            s.out_until - now
            for s in self._states
            if s.out_until is not None and not s.available(now)
        ]
        return min(pending) if pending else None

    @asynccontextmanager
    async def slot(self, *, avoid: str | None = None) -> AsyncIterator[Endpoint]:
        """Hold one request slot on the best endpoint for the duration of the block."""
        while True:
            now = self._clock()
            state = self._pick(now, avoid)
            if state is not None:
                break
            # Woken when a slot frees up, or when an endpoint's cooldown ends.
            await self._changes.wait(self._next_return(now))
        state.in_flight += 1
        try:
            yield state.endpoint
        finally:
            state.in_flight -= 1
            self._changes.notify()

    async def admit(self, rule: AdmissionRule | None = None) -> bool:
        """Wait until one more unit of work may start and take it (True), or learn that
        `rule` starts no more (False). Work is bounded by `total_limit`; `rule(n)` is
        asked, with the `n` units in flight, each time that bound leaves room."""
        while True:
            if self._admitted < self.total_limit:
                decision = rule(self._admitted) if rule is not None else "start"
                if decision == "stop":
                    return False
                if decision == "start":
                    self._admitted += 1
                    return True
            await self._changes.wait(None)

    def release(self) -> None:
        """A unit of work taken by `admit` is done (its result stored, or nothing to do)."""
        self._admitted -= 1
        self._changes.notify()

    def _state(self, endpoint: Endpoint) -> EndpointState:
        for state in self._states:
            if state.endpoint is endpoint:
                return state
        raise KeyError(endpoint.base_url)

    def _by_url(self, url: str) -> EndpointState:
        for state in self._states:
            if state.url == url:
                return state
        raise KeyError(url)

    def in_flight(self, url: str) -> int:
        """Requests `url` has now (every kind: generation, judge, rewrite)."""
        return self._by_url(url).in_flight

    def limit(self, url: str) -> int:
        return self._by_url(url).limit

    def set_limit(self, url: str, level: int) -> None:
        """Change how many requests `url` may have at once (for --concurrency auto),
        and with it `total_limit`, the bound on work admitted.

        Lowering takes nothing away from requests or work already running: new ones
        wait until the count has dropped below it. Raising wakes whatever waits."""
        self._by_url(url).limit = max(1, min(level, self.capacity))
        self._changes.notify()

    def watch_replies(self, callback: Callable[[str, Completion], None]) -> None:
        """Have `callback(url, completion)` called for every answered request."""
        self._on_reply = callback

    def report_success(self, endpoint: Endpoint, completion: Completion) -> None:
        """A request to `endpoint` was answered with `completion` (whatever its kind:
        the reply watcher, auto's tuner, counts every one)."""
        state = self._state(endpoint)
        state.served += 1
        state.consecutive_faults = 0
        if self._on_reply is not None:
            self._on_reply(state.url, completion)

    def report_failure(self, endpoint: Endpoint, exc: TransientError) -> bool:
        """Record a failed attempt; True when the endpoint was taken out of rotation."""
        state = self._state(endpoint)
        state.failures += 1
        state.last_error = exc.message
        if not exc.endpoint_fault or len(self._states) == 1:
            return False
        state.consecutive_faults += 1
        # A refused or dropped connection takes it out at once; 5xx only when repeated.
        refused = exc.reason == "connection"
        if not refused and state.consecutive_faults < FAULTS_BEFORE_OUT_5XX:
            return False
        exponent = max(state.consecutive_faults - 1, 0)
        cooldown = min(self._cooldown_s * 2**exponent, MAX_COOLDOWN_S)
        state.out_until = self._clock() + cooldown
        return True

    def take_out(self, endpoint: Endpoint, reason: str) -> None:
        """Out of rotation for a cooldown (an endpoint found down before the run)."""
        state = self._state(endpoint)
        state.last_error = reason
        if len(self._states) > 1:
            state.consecutive_faults += 1
            state.out_until = self._clock() + self._cooldown_s

    def can_failover(self, exc: BaseException, failed_url: str | None) -> bool:
        """Whether another endpoint could take a retry right now."""
        if not isinstance(exc, TransientError) or not exc.endpoint_fault:
            return False
        now = self._clock()
        return any(s.url != failed_url and s.available(now) for s in self._states)

    async def aclose(self) -> None:
        for http in self._http:
            await http.aclose()
