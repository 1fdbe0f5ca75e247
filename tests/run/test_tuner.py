"""The tuning loop against the GPU simulator over loopback: scrapes, the fallback to the
client's own signals with one warning, and the level handed on. The clock is a counter
the test moves, so nothing waits for real seconds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from client.run.autoconc import AutoConcurrency, Tuning
from client.run.tuner import FAILURES_BEFORE_FALLBACK, EndpointTuner
from tests.gpusim import GpuSim

pytestmark = pytest.mark.loopback


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sim() -> Iterator[GpuSim]:
    with GpuSim(capacity=4, api_key="s3cret") as server:
        yield server


def make_tuner(
    sim: GpuSim, http: httpx.AsyncClient, clock: Clock, applied: list[int], **kwargs: Any
) -> EndpointTuner:
    return EndpointTuner(
        endpoint=sim.base_url,
        root_url=sim.base_url.removesuffix("/v1"),
        controller=AutoConcurrency(Tuning(), now=clock.now),
        http=http,
        in_flight=lambda: 4,
        apply=applied.append,
        api_key="s3cret",
        model=sim.model,
        clock=clock,
        **kwargs,
    )


async def test_a_working_metrics_endpoint_is_scraped_every_tick(sim: GpuSim) -> None:
    clock, applied = Clock(), []
    async with httpx.AsyncClient() as http:
        tuner = make_tuner(sim, http, clock, applied)
        for _ in range(3):
            clock.now += 1
            await tuner.tick()
    assert sim.metrics_scrapes == 3
    assert applied == [4, 4, 4]
    assert tuner.controller.metrics
    assert tuner.fallback_reason is None


@pytest.mark.parametrize("mode", ["absent", "garbage", "unauthorized"])
async def test_unusable_metrics_fall_back_with_one_warning(sim: GpuSim, mode: str) -> None:
    sim.metrics = mode
    clock, applied = Clock(), []
    async with httpx.AsyncClient() as http:
        tuner = make_tuner(sim, http, clock, applied)
        with capture_logs() as logs:
            for _ in range(5):
                clock.now += 1
                await tuner.tick()
    warnings = [e for e in logs if e["log_level"] == "warning"]
    assert len(warnings) == 1
    assert warnings[0]["reason"] == mode
    assert "client's own" in warnings[0]["event"]
    # Given up after the first failure: no more scrapes, the run goes on.
    assert sim.metrics_scrapes == 1
    assert not tuner.controller.metrics
    assert applied == [4] * 5


async def test_a_scrape_that_fails_later_is_retried_before_giving_up(sim: GpuSim) -> None:
    clock, applied = Clock(), []
    async with httpx.AsyncClient() as http:
        tuner = make_tuner(sim, http, clock, applied)
        clock.now += 1
        await tuner.tick()
        sim.metrics = "absent"
        for _ in range(FAILURES_BEFORE_FALLBACK - 1):
            clock.now += 1
            await tuner.tick()
        assert tuner.controller.metrics
        clock.now += 1
        await tuner.tick()
    assert not tuner.controller.metrics
    assert tuner.fallback_reason == "absent"


async def test_finished_requests_reach_the_controller(sim: GpuSim) -> None:
    sim.metrics = "absent"
    clock, applied = Clock(), []
    async with httpx.AsyncClient() as http:
        tuner = make_tuner(sim, http, clock, applied)
        clock.now += 1
        await tuner.tick()
        # Four requests of 100 tokens in 1 s each, at level 4: 400 tokens/s, which pays
        # (there is no earlier level to compare with), so the level doubles.
        for i in range(4):
            tuner.finished(started=1.0 + i * 0.01, finished=2.0 + i * 0.01, tokens=100)
        clock.now = 3.0
        level = await tuner.tick()
    assert level == 8
    assert applied[-1] == 8
    assert tuner.history[-1].reason == "rate grew"
    assert tuner.history[-1].rate == pytest.approx(400, rel=0.01)
