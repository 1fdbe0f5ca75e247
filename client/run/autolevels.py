"""`--concurrency auto` over a run's endpoints: one tuner each, their levels applied.

A level is applied as the endpoint's limit in the pool, and that is all: the pool
owns the count of requests in flight (what each tuner reads) and bounds the batches
admitted by the endpoints' limits together, so admission follows every level change.
A lowered level takes nothing away from requests already running; new ones wait
until the count has dropped below it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import anyio
import httpx
from pydantic import SecretStr

from client.errors import unwrap_group
from client.run.autoconc import AutoConcurrency, Tuning
from client.run.tuner import EndpointTuner
from client.server.api import make_http_client
from client.server.metrics import SCRAPE_TIMEOUT_S
from client.server.pool import EndpointPool

# A run of many hours re-probes every minute; the manifest keeps the latest changes.
MAX_RECORDED_CHANGES = 200
# Connections kept for reading the /metrics of the servers behind a router at once.
ROUTER_SERVERS_AT_ONCE = 32


class LimitedPool(Protocol):
    def in_flight(self, url: str) -> int: ...
    def limit(self, url: str) -> int: ...
    def set_limit(self, url: str, level: int) -> None: ...


class AutoLevels:
    """The tuners of a run's endpoints. They exist while the batches run (`running`):
    before that every endpoint keeps the pool's own limit, and replies are not counted."""

    def __init__(
        self,
        endpoints: Sequence[tuple[str, str]],
        *,
        pool: LimitedPool,
        tuning: Tuning,
        api_key: str | None,
        model: str | None,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        metrics_urls: Sequence[str] = (),
    ) -> None:
        """`endpoints`: (API base URL, server root URL) of each endpoint. `http`: what
        the tuners scrape /metrics with (default: a small client of their own, open
        while they run). `metrics_urls`: where to read the load of the one endpoint
        instead of its own /metrics (server.metrics_urls)."""
        self.tuning = tuning
        self._endpoints = list(endpoints)
        self._pool = pool
        self._api_key = api_key
        self._model = model
        self._http = http
        self._metrics_urls = tuple(metrics_urls)
        self._clock = clock
        self.started = clock()
        # Told the progress label whenever a level changes.
        self.on_change: Callable[[str], None] | None = None
        self.tuners: dict[str, EndpointTuner] = {}

    def start(self, http: httpx.AsyncClient) -> None:
        """A tuner per endpoint from now on, each endpoint's limit set where auto starts."""
        self.started = self._clock()
        self.tuners = {
            url: EndpointTuner(
                endpoint=url,
                root_url=root,
                controller=AutoConcurrency(self.tuning, now=self.started),
                http=http,
                in_flight=functools.partial(self._pool.in_flight, url),
                apply=functools.partial(self._apply, url),
                api_key=self._api_key,
                model=self._model,
                clock=self._clock,
                metrics_urls=self._metrics_urls,
            )
            for url, root in self._endpoints
        }
        for url, tuner in self.tuners.items():
            self._apply(url, tuner.level)

    def _apply(self, url: str, level: int) -> None:
        self._pool.set_limit(url, level)
        if self.on_change is not None:
            self.on_change(self.label())

    @property
    def levels(self) -> dict[str, int]:
        """The level applied to each endpoint (its limit in the pool)."""
        return {url: self._pool.limit(url) for url in self.tuners}

    def reply(self, url: str, *, latency_s: float, tokens: int) -> None:
        """A request to `url` was answered just now after `latency_s`, with `tokens` out."""
        tuner = self.tuners.get(url)
        if tuner is not None:
            now = self._clock()
            tuner.finished(started=now - latency_s, finished=now, tokens=tokens)

    @classmethod
    def over(
        cls,
        pool: EndpointPool,
        *,
        tuning: Tuning,
        api_key: SecretStr | None,
        model: str | None,
        metrics_urls: Sequence[str] = (),
    ) -> AutoLevels:
        """Tuners for every endpoint of `pool`, fed by its replies (every request kind's)."""
        levels = cls(
            [(e.base_url, e.root_url) for e in pool.endpoints],
            pool=pool,
            tuning=tuning,
            api_key=api_key.get_secret_value() if api_key else None,
            model=model,
            metrics_urls=metrics_urls,
        )
        pool.watch_replies(
            lambda url, c: levels.reply(url, latency_s=c.latency_s, tokens=c.completion_tokens)
        )
        return levels

    async def run(self) -> None:
        """Keep every endpoint's level current until cancelled (the batches are done)."""
        async with anyio.create_task_group() as tg:
            for tuner in self.tuners.values():
                tg.start_soon(tuner.run)

    async def running(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work` (the batches) with the tuners alongside, and stop them after it."""
        http = self._http or make_http_client(
            # Every source is read at once: the named ones, or the servers a router lists.
            pool_size=len(self._endpoints) + len(self._metrics_urls) + ROUTER_SERVERS_AT_ONCE,
            request_timeout_s=SCRAPE_TIMEOUT_S,
            connect_timeout_s=SCRAPE_TIMEOUT_S,
            # A GET every few seconds: httpx's cost does not matter here.
            transport="httpx",
        )
        try:
            self.start(http)
            async with anyio.create_task_group() as tg:
                tg.start_soon(self.run)
                await work()
                tg.cancel_scope.cancel()
            for tuner in self.tuners.values():
                await tuner.read_if_never()
        except BaseExceptionGroup as group:
            raise unwrap_group(group) from None
        finally:
            if self._http is None:
                with anyio.CancelScope(shield=True):
                    await http.aclose()

    def label(self) -> str:
        """The levels for a progress line: `auto 16`, or `auto 16+8` over two endpoints."""
        return "auto " + "+".join(str(level) for level in self.levels.values())

    def to_json(self) -> dict[str, Any]:
        endpoints: dict[str, Any] = {}
        for url, tuner in self.tuners.items():
            history = tuner.history
            endpoints[url] = {
                "level": tuner.level,
                "highest": max(c.level for c in history),
                "signals": "metrics" if tuner.controller.metrics else "client",
                "metrics_unavailable": tuner.fallback_reason,
                "source": tuner.source,
                "metrics_sources": list(tuner.sources.urls),
                "changes_total": len(history),
                "changes": [
                    {
                        "after_s": round(c.at - self.started, 1),
                        "level": c.level,
                        "reason": c.reason,
                        "rate_tok_s": round(c.rate, 1) if c.rate is not None else None,
                    }
                    for c in history[-MAX_RECORDED_CHANGES:]
                ],
            }
        return {"mode": "auto", "max_concurrency": self.tuning.max_level, "endpoints": endpoints}
