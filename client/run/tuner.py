"""The loop around `AutoConcurrency` for one endpoint: signals in, a level out.

Every `interval_s` it reads the endpoint's load (while that works: the server's
/metrics, or behind vLLM's router the metrics of the servers it routes to, or the
URLs the user named; client/server/sources.py), hands the controller that reading
and the requests that finished since, and applies the level it answers. Metrics
that are missing, slow, unauthorised or garbage on the first reading, or that fail
`FAILURES_BEFORE_FALLBACK` times in a row later, are given up for the rest of the
run with one warning: from then on the client's own finished requests are the only
signal. Nothing here stops a run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import anyio
import httpx
import structlog

from client.run.autoconc import AutoConcurrency, Change, Signals
from client.run.window import RequestSample
from client.server.metrics import EngineLoad, MetricsUnavailable
from client.server.sources import MetricsSources

log = structlog.get_logger("client.run.tuner")

INTERVAL_S = 1.0
FAILURES_BEFORE_FALLBACK = 3


class EndpointTuner:
    def __init__(
        self,
        *,
        endpoint: str,
        root_url: str,
        controller: AutoConcurrency,
        http: httpx.AsyncClient,
        in_flight: Callable[[], int],
        apply: Callable[[int], None],
        api_key: str | None = None,
        model: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        interval_s: float = INTERVAL_S,
        metrics_urls: Sequence[str] = (),
    ) -> None:
        self.endpoint = endpoint
        self.root_url = root_url
        self.controller = controller
        self._in_flight = in_flight
        self._apply = apply
        self.sources = MetricsSources(
            http, root_url, urls=metrics_urls, api_key=api_key, model=model
        )
        self._clock = clock
        self.interval_s = interval_s
        self._finished: list[RequestSample] = []
        self._scraped = False
        self._failures = 0
        self._logged = len(controller.history)
        self.fallback_reason: str | None = None

    @property
    def level(self) -> int:
        return self.controller.level

    @property
    def history(self) -> list[Change]:
        return self.controller.history

    @property
    def source(self) -> str:
        """What the level was found from, for the summary."""
        if not self.controller.metrics:
            why = f" ({self.fallback_reason})" if self.fallback_reason else ""
            return f"the client's own signals{why}"
        if not self._scraped:
            return "its start level (the run ended before the first reading)"
        return self.sources.describe()

    def finished(self, *, started: float, finished: float, tokens: int) -> None:
        """A request on this endpoint ended with a reply (monotonic times of the clock)."""
        self._finished.append(RequestSample(started, finished, tokens))

    async def _load(self, now: float) -> EngineLoad | None:
        if not self.controller.metrics:
            return None
        try:
            load = await self.sources.read()
        except MetricsUnavailable as exc:
            self._failures += 1
            if not self._scraped or self._failures >= FAILURES_BEFORE_FALLBACK:
                self._fall_back(now, exc)
            return None
        self._scraped = True
        self._failures = 0
        return load

    async def read_if_never(self) -> None:
        """One reading, used for nothing but the summary, when the run ended before
        the first tick: a run shorter than an interval still says where auto reads
        from, and whether it can."""
        if self.controller.metrics and not self._scraped:
            await self._load(self._clock())

    def _fall_back(self, now: float, exc: MetricsUnavailable) -> None:
        self.fallback_reason = exc.reason
        self.controller.lose_metrics(now)
        log.warning(
            "server metrics unavailable: tuning --concurrency auto from the client's own "
            "rate and latency",
            endpoint=self.endpoint,
            reason=exc.reason,
            error=exc.message,
            **self._hint(),
        )

    def _hint(self) -> dict[str, str]:
        if self.sources.named or not self.sources.behind_router:
            return {}
        return {
            "hint": "the endpoint is vLLM's router: name its servers' /metrics "
            "with --metrics-url where the client cannot reach them by the router's names"
        }

    async def tick(self) -> int:
        load = await self._load(self._clock())
        finished, self._finished = self._finished, []
        now = self._clock()
        level = self.controller.observe(now, Signals(self._in_flight(), finished, load))
        self._apply(level)
        for change in self.controller.history[self._logged :]:
            log.info(
                "concurrency level",
                endpoint=self.endpoint,
                concurrency=change.level,
                reason=change.reason,
            )
        self._logged = len(self.controller.history)
        return level

    async def run(self) -> None:
        """Tick forever (until cancelled with the run)."""
        self._apply(self.controller.level)
        while True:
            await anyio.sleep(self.interval_s)
            await self.tick()
