"""Reading vLLM's /metrics: a real exposition, vLLM-shaped ones from the GPU simulator,
and every way a scrape can be unusable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from client.server.metrics import MetricsUnavailable, parse_load, scrape
from tests.gpusim import Engine, GpuSim, exposition

# Scraped from the real vLLM 0.32 CPU server of the e2e tier with 8 requests running.
REAL = (Path(__file__).parent / "data" / "vllm-0.32-cpu-metrics.txt").read_text(encoding="utf-8")


def test_a_real_vllm_exposition() -> None:
    load = parse_load(REAL, model="tiny-qwen2")
    assert load.running == 8
    assert load.waiting == 0
    assert load.kv_cache_usage is not None and 0 < load.kv_cache_usage < 0.01
    assert load.preemptions_total == 0
    assert load.generation_tokens_total == 88273


def test_samples_of_another_model_are_left_out() -> None:
    two = REAL + REAL.replace("tiny-qwen2", "other-model").replace(
        "num_requests_running{", "num_requests_running_x{"
    )
    # Our model's samples only: the other model's waiting and tokens are not added.
    assert parse_load(two, model="tiny-qwen2").generation_tokens_total == 88273


def test_engines_are_summed_and_the_cache_share_averaged() -> None:
    engine = Engine(capacity=8)
    text = exposition(engine, "m").decode()
    doubled = text + text.replace('engine="0"', 'engine="1"')
    one, both = parse_load(text, model="m"), parse_load(doubled, model="m")
    assert both.running == 2 * one.running
    assert both.kv_cache_usage == one.kv_cache_usage


def test_a_server_that_names_another_model_is_read_whole() -> None:
    load = parse_load(REAL, model="served-under-another-name")
    assert load.running == 8


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("<html><body>hello</body></html>", "garbage"),
        ("", "not_vllm"),
        ("# TYPE up gauge\nup 1\n", "not_vllm"),
        ('vllm:num_requests_running{model_name="m"} 1\n', "not_vllm"),
    ],
)
def test_text_without_vllm_load_is_unavailable(text: str, reason: str) -> None:
    with pytest.raises(MetricsUnavailable) as info:
        parse_load(text, model="m")
    assert info.value.reason == reason


@pytest.fixture
def sim_factory() -> Iterator[list[GpuSim]]:
    started: list[GpuSim] = []
    yield started
    for server in started:
        server.stop()


def _sim(started: list[GpuSim], **kwargs: object) -> GpuSim:
    server = GpuSim(**kwargs).start()  # type: ignore[arg-type]
    started.append(server)
    return server


def _root(server: GpuSim) -> str:
    return server.base_url.removesuffix("/v1")


@pytest.mark.loopback
async def test_scrape_reads_the_simulators_metrics(sim_factory: list[GpuSim]) -> None:
    server = _sim(sim_factory, capacity=4, api_key="k3y")
    async with httpx.AsyncClient() as http:
        load = await scrape(http, _root(server), api_key="k3y", model="fake-model")
    assert (load.running, load.waiting, load.generation_tokens_total) == (0, 0, 0)
    assert server.metrics_scrapes == 1


@pytest.mark.loopback
@pytest.mark.parametrize(
    ("mode", "reason"),
    [("absent", "absent"), ("garbage", "garbage"), ("unauthorized", "unauthorized")],
)
async def test_scrape_failures_have_a_reason(
    sim_factory: list[GpuSim], mode: str, reason: str
) -> None:
    server = _sim(sim_factory, metrics=mode)
    async with httpx.AsyncClient() as http:
        with pytest.raises(MetricsUnavailable) as info:
            await scrape(http, _root(server), api_key=None, model="fake-model")
    assert info.value.reason == reason
    assert server.base_url.removesuffix("/v1") in info.value.message


@pytest.mark.loopback
async def test_a_slow_scrape_is_given_up(sim_factory: list[GpuSim]) -> None:
    server = _sim(sim_factory, metrics="slow")
    async with httpx.AsyncClient() as http:
        with pytest.raises(MetricsUnavailable) as info:
            await scrape(http, _root(server), api_key=None, model=None, timeout_s=0.2)
    assert info.value.reason == "slow"


@pytest.mark.loopback
async def test_a_wrong_key_is_unauthorized(sim_factory: list[GpuSim]) -> None:
    server = _sim(sim_factory, api_key="right")
    async with httpx.AsyncClient() as http:
        with pytest.raises(MetricsUnavailable) as info:
            await scrape(http, _root(server), api_key="wrong", model=None)
    assert info.value.reason == "unauthorized"


@pytest.mark.loopback
async def test_nothing_listening_is_a_connection_failure() -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(MetricsUnavailable) as info:
            await scrape(http, "http://127.0.0.1:9", api_key=None, model=None)
    assert info.value.reason == "connection"
