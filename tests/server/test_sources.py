"""Where `--concurrency auto` reads an endpoint's load: its own /metrics, the servers
behind vLLM's router, or the URLs the user named; mocked HTTP (respx), so each source
can answer, fail, restart or vanish exactly when the test says."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx

from client.server.metrics import MetricsUnavailable, parse_load
from client.server.sources import CounterSum, MetricsSources, router_workers

ROUTER = "http://router:30000"
A, B = "http://10.0.0.1:8000", "http://10.0.0.2:8000"
ROUTER_METRICS = (Path(__file__).parent / "data" / "vllm-router-0.1.17-metrics.txt").read_text(
    encoding="utf-8"
)


def exposition(running: int, waiting: int, tokens: float, *, kv: float = 0.1, pre: int = 0) -> str:
    """vLLM 0.32's names, as its /metrics prints them."""
    labels = 'engine="0",model_name="m"'
    return (
        f"# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{{{labels}}} {running}\n"
        f"# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{{{labels}}} {waiting}\n"
        f"# TYPE vllm:kv_cache_usage_perc gauge\nvllm:kv_cache_usage_perc{{{labels}}} {kv}\n"
        f"# TYPE vllm:num_preemptions counter\nvllm:num_preemptions_total{{{labels}}} {pre}\n"
        f"# TYPE vllm:generation_tokens counter\n"
        f"vllm:generation_tokens_total{{{labels}}} {tokens}\n"
    )


def workers_body(*urls: str) -> dict[str, object]:
    """/workers as vllm-router 0.1.17 answers it."""
    return {
        "workers": [
            {"url": u, "model_id": "unknown", "worker_type": "regular", "is_healthy": True,
             "load": 0, "connection_mode": "Http", "priority": 50, "cost": 1.0}
            for u in urls
        ],
        "total": len(urls),
        "stats": {"prefill_count": 0, "decode_count": 0, "regular_count": len(urls)},
    }  # fmt: skip


def metrics(mock: respx.MockRouter, root: str, *texts: str | Exception) -> respx.Route:
    """Successive answers of root/metrics (an exception: the server is gone)."""
    side = [t if isinstance(t, Exception) else httpx.Response(200, text=t) for t in texts]
    return mock.get(f"{root}/metrics").mock(side_effect=side)


async def sources(**kwargs: object) -> MetricsSources:
    return MetricsSources(httpx.AsyncClient(), ROUTER, model="m", **kwargs)  # type: ignore[arg-type]


@respx.mock
async def test_a_plain_server_is_read_at_its_own_metrics() -> None:
    respx.get(f"{ROUTER}/workers").respond(404, json={"detail": "Not Found"})
    metrics(respx.mock, ROUTER, exposition(3, 1, 100))
    src = await sources()
    assert await src.read() == parse_load(exposition(3, 1, 100), model="m")
    assert src.urls == (f"{ROUTER}/metrics",)
    assert (src.behind_router, src.describe()) == (False, "/metrics")


@respx.mock
async def test_behind_a_router_its_servers_are_read_and_summed() -> None:
    respx.get(f"{ROUTER}/workers").respond(200, json=workers_body(A, B))
    # The router would pass /metrics on to its first server: it must never be asked.
    own = respx.get(f"{ROUTER}/metrics").respond(200, text=exposition(9, 9, 9))
    metrics(respx.mock, A, exposition(3, 0, 100, kv=0.2), exposition(4, 0, 160, kv=0.3))
    metrics(
        respx.mock, B, exposition(2, 1, 500, kv=0.5, pre=2), exposition(1, 2, 540, kv=0.4, pre=3)
    )
    src = await sources()
    first, second = await src.read(), await src.read()
    assert not own.called
    assert src.describe() == "/metrics of the 2 servers behind the router"
    assert (first.running, first.waiting, first.kv_cache_usage) == (5, 1, 0.5)
    assert (second.running, second.waiting, second.kv_cache_usage) == (5, 2, 0.4)
    # Counters as increments since the first reading: 60 + 40 tokens, 1 preemption.
    assert (first.generation_tokens_total, second.generation_tokens_total) == (0, 100)
    assert (first.preemptions_total, second.preemptions_total) == (0, 1)


@respx.mock
async def test_a_router_with_no_server_yet_is_no_reading() -> None:
    respx.get(f"{ROUTER}/workers").respond(200, json=workers_body())
    own = respx.get(f"{ROUTER}/metrics").respond(503)
    src = await sources()
    with pytest.raises(MetricsUnavailable) as info:
        await src.read()
    assert info.value.reason == "no_servers"
    assert src.behind_router and not own.called


@respx.mock
async def test_the_first_reading_needs_every_server() -> None:
    """A sum over some of the servers would pass for all of them."""
    respx.get(f"{ROUTER}/workers").respond(200, json=workers_body(A, B))
    metrics(respx.mock, A, exposition(3, 0, 100))
    respx.get(f"{B}/metrics").respond(404)
    src = await sources()
    with pytest.raises(MetricsUnavailable) as info:
        await src.read()
    assert info.value.reason == "absent"
    assert f"{B}/metrics" in info.value.message


@respx.mock
async def test_a_server_that_drops_out_is_skipped_and_the_counters_never_go_back() -> None:
    respx.get(f"{ROUTER}/workers").respond(200, json=workers_body(A, B))
    gone = httpx.ConnectError("refused")
    metrics(respx.mock, A, exposition(2, 0, 100), gone, exposition(1, 0, 10), exposition(1, 0, 30))
    metrics(respx.mock, B, *(exposition(2, 0, t) for t in (200, 250, 300, 300)))
    src = await sources()
    readings = [await src.read() for _ in range(4)]
    # A vanished (B alone: +50), came back restarted (a new start: B +50), then +20.
    assert [r.generation_tokens_total for r in readings] == [0, 50, 100, 120]
    assert [r.running for r in readings] == [4, 2, 3, 3]


@respx.mock
async def test_when_every_server_fails_later_the_reading_fails() -> None:
    respx.get(f"{ROUTER}/workers").respond(200, json=workers_body(A, B))
    gone = httpx.ConnectError("refused")
    metrics(respx.mock, A, exposition(2, 0, 100), gone)
    metrics(respx.mock, B, exposition(2, 0, 100), gone)
    src = await sources()
    await src.read()
    with pytest.raises(MetricsUnavailable) as info:
        await src.read()
    assert info.value.reason == "connection"


@respx.mock
async def test_named_urls_replace_the_endpoints_own_and_the_routers_list() -> None:
    workers = respx.get(f"{ROUTER}/workers").respond(200, json=workers_body(A, B))
    metrics(respx.mock, "http://localhost:8000", exposition(2, 0, 10))
    metrics(respx.mock, "http://localhost:8001", exposition(3, 1, 20))
    named = ("http://localhost:8000/metrics", "http://localhost:8001/metrics")
    src = await sources(urls=named)
    load = await src.read()
    assert not workers.called
    assert (load.running, load.waiting) == (5, 1)
    assert src.describe() == "--metrics-url (2)"


@respx.mock
async def test_the_routers_own_metrics_alone_are_not_an_engine_queue() -> None:
    respx.get("http://router:29000/metrics").respond(200, text=ROUTER_METRICS)
    src = await sources(urls=("http://router:29000/metrics",))
    with pytest.raises(MetricsUnavailable) as info:
        await src.read()
    assert info.value.reason == "router_only"
    assert "--metrics-url" in info.value.message
    assert src.router is not None and src.router.retries_total == 10


@respx.mock
async def test_the_routers_metrics_beside_its_servers_are_reported() -> None:
    respx.get("http://router:29000/metrics").respond(200, text=ROUTER_METRICS)
    metrics(respx.mock, A, exposition(2, 0, 10))
    src = await sources(urls=("http://router:29000/metrics", f"{A}/metrics"))
    assert (await src.read()).running == 2
    assert src.describe() == (
        "--metrics-url (2); router: 2/2 servers healthy, 1 with an open circuit breaker, 10 retries"
    )


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(404, json={"error": "no route"}),
        httpx.Response(401, json={"error": "Unauthorized"}),
        httpx.Response(200, text="<html>workers</html>"),
        httpx.Response(200, json={"workers": "all of them"}),
        httpx.Response(200, json=[1, 2]),
        httpx.ConnectError("refused"),
    ],
)
@respx.mock
async def test_what_does_not_answer_like_vllm_router_is_no_router(
    answer: httpx.Response | Exception,
) -> None:
    respx.get(f"{ROUTER}/workers").mock(side_effect=[answer])
    async with httpx.AsyncClient() as http:
        assert await router_workers(http, ROUTER) is None


@respx.mock
async def test_a_router_with_its_servers_listed_at_workers() -> None:
    respx.get(f"{ROUTER}/workers").respond(200, text=json.dumps(workers_body(A, B)))
    async with httpx.AsyncClient() as http:
        assert await router_workers(http, ROUTER + "/") == [A, B]


def test_counters_of_several_sources_add_up_their_increments() -> None:
    total = CounterSum()
    assert total.add({"a": None, "b": None}) is None
    assert total.add({"a": 5.0, "b": 7.0}) == 0
    assert total.add({"a": 6.0, "b": 9.0}) == 3
    assert total.add({"a": 1.0}) == 3  # a restarted: its count starts again
    assert total.add({"a": 2.0, "b": 10.0}) == 5  # b's increment across its gap counts
