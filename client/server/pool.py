"""Routing over one or more endpoints: least in-flight first, a concurrency bound each,
and endpoints that fail taken out of rotation for a while.

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

import anyio
import httpx
from pydantic import SecretStr

from client.errors import TransientError
from client.pairs.records import Completion
from client.server.api import Endpoint, lanes_for, make_http_client

MAX_COOLDOWN_S = 30.0
FAULTS_BEFORE_OUT_5XX = 2


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
        self._changed = anyio.Condition()
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
        return self.capacity * len(self._states)

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
        async with self._changed:
            while True:
                now = self._clock()
                state = self._pick(now, avoid)
                if state is not None:
                    break
                # Woken when a slot frees up, or when an endpoint's cooldown ends.
                wake_in = self._next_return(now)
                with anyio.move_on_after(wake_in if wake_in is not None else 3600):
                    await self._changed.wait()
            state.in_flight += 1
        try:
            yield state.endpoint
        finally:
            state.in_flight -= 1
            async with self._changed:
                self._changed.notify_all()

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
        return self._by_url(url).in_flight

    def set_limit(self, url: str, level: int) -> None:
        """Change how many requests `url` may have at once (for --concurrency auto).

        Lowering takes nothing away from requests already running. A request waiting
        for a slot sees a raised limit when the next request anywhere ends; with
        auto the run's admission bound rises with it, so new batches do not wait."""
        self._by_url(url).limit = max(1, min(level, self.capacity))

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
