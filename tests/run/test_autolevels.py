"""Auto levels over several endpoints: each endpoint's limit and the run's admission bound
follow the tuners; what the manifest and the summary say about them."""

from __future__ import annotations

import anyio
import httpx
import pytest

from client.run.autoconc import Tuning
from client.run.autolevels import AutoLevels
from client.run.summary import describe_concurrency

A, B = "http://a:8000/v1", "http://b:8000/v1"


class Pool:
    def __init__(self) -> None:
        self.limits: dict[str, int] = {}
        self.flying: dict[str, int] = {A: 0, B: 0}

    def in_flight(self, url: str) -> int:
        return self.flying[url]

    def set_limit(self, url: str, level: int) -> None:
        self.limits[url] = level


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


async def make(pool: Pool, clock: Clock, http: httpx.AsyncClient) -> AutoLevels:
    return AutoLevels(
        [(A, "http://a:8000"), (B, "http://b:8000")],
        pool=pool,
        tuning=Tuning(start=4, max_level=64),
        http=http,
        api_key=None,
        model="m",
        clock=clock,
    )


async def test_each_endpoint_starts_low_and_admission_is_the_sum() -> None:
    pool, clock = Pool(), Clock()
    async with httpx.AsyncClient() as http:
        levels = await make(pool, clock, http)
    assert pool.limits == {A: 4, B: 4}
    assert levels.admission.total_tokens == 8
    assert levels.label() == "auto 4+4"


async def test_a_lowered_level_keeps_running_requests_and_admits_no_new_one() -> None:
    pool, clock = Pool(), Clock()
    async with httpx.AsyncClient() as http:
        levels = await make(pool, clock, http)
    limiter = levels.admission
    held = [object() for _ in range(8)]
    for borrower in held:
        limiter.acquire_on_behalf_of_nowait(borrower)
    levels._apply(A, 1)
    assert limiter.total_tokens == 5
    assert limiter.available_tokens == -3
    with pytest.raises(anyio.WouldBlock):
        limiter.acquire_on_behalf_of_nowait(object())
    for borrower in held[:4]:
        limiter.release_on_behalf_of(borrower)
    limiter.acquire_on_behalf_of_nowait(object())


async def test_replies_reach_their_endpoints_tuner_and_the_manifest_says_what_happened() -> None:
    pool, clock = Pool(), Clock()
    async with httpx.AsyncClient() as http:
        levels = await make(pool, clock, http)
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
    assert levels.admission.total_tokens == 12
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
