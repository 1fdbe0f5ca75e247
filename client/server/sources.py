"""Where `--concurrency auto` reads one endpoint's load: its own /metrics, or, behind a
router, the metrics of the servers the router spreads requests over.

An endpoint can be a vLLM server or vLLM's router (vllm-router). The router answers
GET /metrics too, but with its first server's exposition only (it passes GETs it does
not know to that one), which would show a fraction of the load as all of it. So the
first reading asks the endpoint for `/workers`, which only the router serves; when
it answers, the servers it lists are read instead, each at its own /metrics, and
their loads summed. Metrics URLs the user names (`server.metrics_urls`,
`--metrics-url`) replace all of that: servers the client cannot reach by the names
the router uses, or the router's own Prometheus port.

The first reading must succeed for every source, or none is used (a load summed over
some servers would pass for all of it); after that a source that fails is skipped
until it answers again. Counters are summed as increments per source, so a server
that drops out or restarts never makes the total go back.
"""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import httpx

from client.server.metrics import (
    SCRAPE_TIMEOUT_S,
    EngineLoad,
    MetricsUnavailable,
    RouterView,
    metrics_url,
    scrape_url,
)

Reading = EngineLoad | RouterView | MetricsUnavailable


async def router_workers(
    http: httpx.AsyncClient, root_url: str, *, timeout_s: float = SCRAPE_TIMEOUT_S
) -> list[str] | None:
    """The server URLs a vllm-router lists at /workers; None when `root_url` is no router."""
    try:
        response = await http.get(f"{root_url.rstrip('/')}/workers", timeout=timeout_s)
        body = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
    workers = body.get("workers") if isinstance(body, dict) else None
    if not isinstance(workers, list):
        return None
    urls = [w.get("url") for w in workers if isinstance(w, dict)]
    return [u for u in urls if isinstance(u, str) and u.startswith(("http://", "https://"))]


class CounterSum:
    """Counters of several sources as one: the sum of each source's increments."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}
        self.total = 0.0

    def add(self, values: dict[str, float | None]) -> float | None:
        """Take this reading's values (None: not exported); the running total, or None
        when no source exports the counter."""
        seen = False
        for source, value in values.items():
            if value is None:
                continue
            seen = True
            before = self._last.get(source)
            # A new source, or one whose counter went back (it restarted), starts here.
            if before is not None and value >= before:
                self.total += value - before
            self._last[source] = value
        return self.total if seen else None


class MetricsSources:
    def __init__(
        self,
        http: httpx.AsyncClient,
        root_url: str,
        *,
        urls: Sequence[str] = (),
        api_key: str | None = None,
        model: str | None = None,
    ) -> None:
        self._http = http
        self.root_url = root_url
        self.urls: tuple[str, ...] = tuple(urls)
        self.named = bool(urls)
        self._api_key = api_key
        self._model = model
        self.behind_router = False
        self._resolved = False
        self._read_once = False
        self.router: RouterView | None = None
        self._tokens = CounterSum()
        self._preemptions = CounterSum()

    async def resolve(self) -> None:
        """Decide, once, which expositions to read."""
        if self._resolved:
            return
        self._resolved = True
        if self.named:
            return
        workers = await router_workers(self._http, self.root_url)
        if workers is not None:
            self.behind_router = True
            self.urls = tuple(metrics_url(w) for w in workers)
        else:
            self.urls = (metrics_url(self.root_url),)

    def describe(self) -> str:
        """Where the readings come from, for the summary and the manifest."""
        if self.named:
            where = f"--metrics-url ({len(self.urls)})"
        elif self.behind_router:
            servers = "server" if len(self.urls) == 1 else f"{len(self.urls)} servers"
            where = f"/metrics of the {servers} behind the router"
        else:
            where = "/metrics"
        return f"{where}; router: {self.router.describe()}" if self.router else where

    async def read(self) -> EngineLoad:
        """Every source once, summed; MetricsUnavailable when they give no engine load."""
        await self.resolve()
        if not self.urls:
            raise MetricsUnavailable(
                f"the router at {self.root_url} lists no servers at /workers", reason="no_servers"
            )
        readings = await self._scrape_all()
        failures = [r for r in readings.values() if isinstance(r, MetricsUnavailable)]
        routers = [r for r in readings.values() if isinstance(r, RouterView)]
        if routers:
            self.router = routers[-1]
        if failures and not self._read_once:
            raise failures[0]
        loads = {url: r for url, r in readings.items() if isinstance(r, EngineLoad)}
        if not loads:
            if failures:
                raise failures[0]
            raise MetricsUnavailable(
                "the router's own metrics show no server's queue: name the servers' "
                "/metrics with --metrics-url",
                reason="router_only",
            )
        self._read_once = True
        return self._merge(loads)

    async def _scrape_all(self) -> dict[str, Reading]:
        readings: dict[str, Reading] = {}

        async def one(url: str) -> None:
            try:
                readings[url] = await scrape_url(
                    self._http, url, api_key=self._api_key, model=self._model
                )
            except MetricsUnavailable as exc:
                readings[url] = exc

        async with anyio.create_task_group() as tg:
            for url in self.urls:
                tg.start_soon(one, url)
        return {url: readings[url] for url in self.urls}

    def _merge(self, loads: dict[str, EngineLoad]) -> EngineLoad:
        if len(self.urls) == 1:
            (load,) = loads.values()
            return load
        kv = [x.kv_cache_usage for x in loads.values() if x.kv_cache_usage is not None]
        return EngineLoad(
            running=sum(x.running for x in loads.values()),
            waiting=sum(x.waiting for x in loads.values()),
            # Each server's share of its own cache: the fullest one is the one to heed.
            kv_cache_usage=max(kv) if kv else None,
            preemptions_total=self._preemptions.add(
                {url: x.preemptions_total for url, x in loads.items()}
            ),
            generation_tokens_total=self._tokens.add(
                {url: x.generation_tokens_total for url, x in loads.items()}
            ),
        )
