"""The loop around `AutoConcurrency` for one endpoint: signals in, a level out.

Every `interval_s` it scrapes the server's /metrics (while they work), hands the
controller that scrape and the requests that finished since, and applies the
level it answers. A /metrics that is missing, slow, unauthorised or garbage on
the first scrape, or that fails `FAILURES_BEFORE_FALLBACK` times in a row later,
is given up for the rest of the run with one warning: from then on the client's
own finished requests are the only signal. Nothing here stops a run.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio
import httpx
import structlog

from client.run.autoconc import AutoConcurrency, Change, Signals
from client.run.window import RequestSample
from client.server.metrics import EngineLoad, MetricsUnavailable, scrape

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
    ) -> None:
        self.endpoint = endpoint
        self.root_url = root_url
        self.controller = controller
        self._http = http
        self._in_flight = in_flight
        self._apply = apply
        self._api_key = api_key
        self._model = model
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

    def finished(self, *, started: float, finished: float, tokens: int) -> None:
        """A request on this endpoint ended with a reply (monotonic times of the clock)."""
        self._finished.append(RequestSample(started, finished, tokens))

    async def _load(self, now: float) -> EngineLoad | None:
        if not self.controller.metrics:
            return None
        try:
            load = await scrape(self._http, self.root_url, api_key=self._api_key, model=self._model)
        except MetricsUnavailable as exc:
            self._failures += 1
            if not self._scraped or self._failures >= FAILURES_BEFORE_FALLBACK:
                self._fall_back(now, exc)
            return None
        self._scraped = True
        self._failures = 0
        return load

    def _fall_back(self, now: float, exc: MetricsUnavailable) -> None:
        self.fallback_reason = exc.reason
        self.controller.lose_metrics(now)
        log.warning(
            "server metrics unavailable: tuning --concurrency auto from the client's own "
            "rate and latency",
            endpoint=self.endpoint,
            reason=exc.reason,
            error=exc.message,
        )

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
