"""Auto levels over several endpoints: each endpoint's limit in the pool follows its
tuner, and with it the pool's bound on batches admitted; what the manifest and the
summary say about them."""

from __future__ import annotations

from pathlib import Path

import httpx
import respx

from client.run.autoconc import Tuning
from client.run.autolevels import AutoLevels
from client.run.summary import describe_concurrency
from client.server.api import Endpoint
from client.server.pool import EndpointPool

A, B = "http://a:8000/v1", "http://b:8000/v1"


class Pool:
    def __init__(self) -> None:
        self.limits: dict[str, int] = {A: 64, B: 64}
        self.flying: dict[str, int] = {A: 0, B: 0}

    def in_flight(self, url: str) -> int:
        return self.flying[url]

    def limit(self, url: str) -> int:
        return self.limits[url]

    def set_limit(self, url: str, level: int) -> None:
        self.limits[url] = level


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def make(pool: Pool | EndpointPool, clock: Clock) -> AutoLevels:
    return AutoLevels(
        [(A, "http://a:8000"), (B, "http://b:8000")],
        pool=pool,
        tuning=Tuning(start=4, max_level=64),
        api_key=None,
        model="m",
        clock=clock,
    )


async def test_each_endpoint_starts_low_and_admission_is_the_sum() -> None:
    async with httpx.AsyncClient() as http:
        endpoints = [
            Endpoint(
                url, http_clients=[http], api_key=None, request_timeout_s=1, connect_timeout_s=1
            )
            for url in (A, B)
        ]
        pool = EndpointPool(endpoints, capacity=64, cooldown_s=1, http_clients=[http])
        levels = make(pool, Clock())
        # Before the batches: no tuner yet, the pool's own limits, nothing to report.
        assert pool.total_limit == 128 and levels.to_json()["endpoints"] == {}
        labels: list[str] = []
        levels.on_change = labels.append
        levels.start(http)
    assert (pool.limit(A), pool.limit(B)) == (4, 4)
    assert pool.total_limit == 8
    assert levels.label() == labels[-1] == "auto 4+4"


async def test_replies_reach_their_endpoints_tuner_and_the_manifest_says_what_happened() -> None:
    pool, clock = Pool(), Clock()
    async with httpx.AsyncClient() as http:
        levels = make(pool, clock)
        levels.start(http)
        tuner = levels.tuners[A]
        tuner.controller.lose_metrics(clock.now)
        pool.flying[A] = 4
        clock.now += 1.0
        for _ in range(4):
            clock.now += 0.25
            levels.reply(A, latency_s=1.0, tokens=100)
        levels.reply("http://elsewhere/v1", latency_s=1.0, tokens=100)  # not ours: ignored
        clock.now += 1.5
        assert await tuner.tick() == 8
    assert pool.limits[A] == 8
    assert levels.levels == {A: 8, B: 4}
    data = levels.to_json()
    assert data["mode"] == "auto" and data["max_concurrency"] == 64
    a = data["endpoints"][A]
    assert (a["level"], a["highest"], a["signals"]) == (8, 8, "client")
    assert a["changes"][-1] == {
        "after_s": 3.5,
        "level": 8,
        "reason": "rate grew",
        "rate_tok_s": 400.0,
    }
    assert data["endpoints"][B]["level"] == 4
    assert describe_concurrency(data) == (
        f"auto, ended at 8 on {A} (highest 8, from the client's own signals); "
        f"4 on {B} (highest 4, from its start level (the run ended before the first reading))"
    )


def test_a_fixed_level_is_described_as_the_number() -> None:
    assert describe_concurrency({"mode": "fixed", "level": 4}) == "4"
    assert describe_concurrency({"mode": "auto", "endpoints": {}}) == "auto (no batch ran)"


async def test_a_run_shorter_than_one_reading_still_reads_where_auto_would() -> None:
    # The batches end before the first tick (a second): one reading at the end says
    # whether each endpoint's /metrics can be read, instead of "its start level".
    exposition = (
        Path(__file__).parent.parent / "server/data/vllm-0.32-cpu-metrics.txt"
    ).read_bytes()
    pool, clock = Pool(), Clock()
    async with respx.mock(assert_all_called=False) as router:
        a = router.get("http://a:8000/metrics").respond(200, content=exposition)
        router.get("http://b:8000/metrics").respond(404)
        router.get(url__regex=r"http://[ab]:8000/workers").respond(404)
        levels = make(pool, clock)

        async def work() -> None:
            return None

        await levels.running(work)
    assert a.call_count == 1
    endpoints = levels.to_json()["endpoints"]
    assert (endpoints[A]["signals"], endpoints[A]["source"]) == ("metrics", "/metrics")
    assert endpoints[B]["source"] == "the client's own signals (absent)"
    assert "before the first reading" not in describe_concurrency(levels.to_json())
