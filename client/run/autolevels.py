"""`--concurrency auto` over a run's endpoints: one tuner each, their levels applied.

Two bounds are kept in step with the tuners: each endpoint's own limit in the
pool (how many requests it gets at once), and the run's admission limiter (how
many batches are taken from the plan at once: the sum of the endpoints' levels).
A lowered level takes nothing away from requests already running; new ones wait
until the count has dropped below it (anyio's CapacityLimiter allows a total
below what is borrowed for exactly this).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import anyio
import httpx

from client.run.autoconc import AutoConcurrency, Tuning
from client.run.tuner import EndpointTuner

# A run of many hours re-probes every minute; the manifest keeps the latest changes.
MAX_RECORDED_CHANGES = 200


class LimitedPool(Protocol):
    def in_flight(self, url: str) -> int: ...
    def set_limit(self, url: str, level: int) -> None: ...


class AutoLevels:
    def __init__(
        self,
        endpoints: Sequence[tuple[str, str]],
        *,
        pool: LimitedPool,
        tuning: Tuning,
        http: httpx.AsyncClient,
        api_key: str | None,
        model: str | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`endpoints`: (API base URL, server root URL) of each endpoint."""
        self.tuning = tuning
        self._pool = pool
        self._clock = clock
        self.started = clock()
        self.admission = anyio.CapacityLimiter(1)
        self._levels: dict[str, int] = {}
        self.tuners = {
            url: EndpointTuner(
                endpoint=url,
                root_url=root,
                controller=AutoConcurrency(tuning, now=self.started),
                http=http,
                in_flight=functools.partial(pool.in_flight, url),
                apply=functools.partial(self._apply, url),
                api_key=api_key,
                model=model,
                clock=clock,
            )
            for url, root in endpoints
        }
        for url, tuner in self.tuners.items():
            self._apply(url, tuner.level)

    def _apply(self, url: str, level: int) -> None:
        self._levels[url] = level
        self._pool.set_limit(url, level)
        self.admission.total_tokens = max(1, sum(self._levels.values()))

    @property
    def levels(self) -> dict[str, int]:
        """The level applied to each endpoint."""
        return dict(self._levels)

    def reply(self, url: str, *, latency_s: float, tokens: int) -> None:
        """A request to `url` was answered just now after `latency_s`, with `tokens` out."""
        tuner = self.tuners.get(url)
        if tuner is not None:
            now = self._clock()
            tuner.finished(started=now - latency_s, finished=now, tokens=tokens)

    async def run(self) -> None:
        """Keep every endpoint's level current until cancelled (the batches are done)."""
        async with anyio.create_task_group() as tg:
            for tuner in self.tuners.values():
                tg.start_soon(tuner.run)

    def label(self) -> str:
        """The levels for a progress line: `auto 16`, or `auto 16+8` over two endpoints."""
        return "auto " + "+".join(str(level) for level in self.levels.values())

    def describe(self) -> str:
        """One line for the run summary."""
        parts = []
        for url, tuner in self.tuners.items():
            highest = max(c.level for c in tuner.history)
            source = "/metrics" if tuner.controller.metrics else "the client's own signals"
            where = f" on {url}" if len(self.tuners) > 1 else ""
            parts.append(f"{tuner.level}{where} (highest {highest}, from {source})")
        return "auto: ended at " + "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        endpoints: dict[str, Any] = {}
        for url, tuner in self.tuners.items():
            history = tuner.history
            endpoints[url] = {
                "level": tuner.level,
                "highest": max(c.level for c in history),
                "signals": "metrics" if tuner.controller.metrics else "client",
                "metrics_unavailable": tuner.fallback_reason,
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
