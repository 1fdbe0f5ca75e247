"""endpoints: least-in-flight routing, the per-endpoint bound, taking failing endpoints out."""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio
import httpx
import pytest

from client.errors import TransientError
from client.pairs.records import Completion
from client.server.api import Endpoint
from client.server.pool import Admission, EndpointPool


def pool(
    n: int, capacity: int, cooldown: float = 5.0, clock: Callable[[], float] = time.monotonic
) -> EndpointPool:
    http = httpx.AsyncClient()
    endpoints = [
        Endpoint(
            f"http://e{i}.test/v1",
            http_clients=[http],
            api_key=None,
            request_timeout_s=1,
            connect_timeout_s=1,
        )
        for i in range(n)
    ]
    return EndpointPool(
        endpoints, capacity=capacity, cooldown_s=cooldown, http_clients=[http], clock=clock
    )


async def test_slots_spread_over_endpoints_and_respect_the_bound() -> None:
    p = pool(2, capacity=2)
    seen: list[str] = []
    peak = {"e0": 0, "e1": 0}
    now = {"e0": 0, "e1": 0}

    async def one() -> None:
        async with p.slot() as ep:
            name = ep.base_url.split("//")[1][:2]
            seen.append(name)
            now[name] += 1
            peak[name] = max(peak[name], now[name])
            await anyio.sleep(0.02)
            now[name] -= 1

    async with anyio.create_task_group() as tg:
        for _ in range(12):
            tg.start_soon(one)
    assert peak == {"e0": 2, "e1": 2}
    assert seen.count("e0") == seen.count("e1") == 6
    await p.aclose()


@pytest.mark.parametrize("start", [1000.0, 0.0, -50.0])
async def test_refused_endpoint_is_taken_out_and_comes_back(start: float) -> None:
    # Any origin of the clock: an endpoint never taken out is available at once.
    clock = [start]
    p = pool(2, capacity=4, cooldown=0.2, clock=lambda: clock[0])
    e0, e1 = p.endpoints
    refused = TransientError("refused", reason="connection", endpoint_fault=True)
    assert p.report_failure(e0, refused)
    for _ in range(5):
        async with p.slot() as ep:
            assert ep is e1
    assert p.can_failover(refused, e0.base_url)
    clock[0] += 0.25  # the cooldown is over
    async with p.slot(avoid=e1.base_url) as ep:
        assert ep is e0
    await p.aclose()


async def test_5xx_takes_an_endpoint_out_only_when_repeated() -> None:
    p = pool(2, capacity=1)
    e0, _ = p.endpoints
    err = TransientError("500", reason="http_500", endpoint_fault=True)
    assert not p.report_failure(e0, err)
    assert p.report_failure(e0, err)
    await p.aclose()


async def test_a_single_endpoint_is_never_taken_out() -> None:
    p = pool(1, capacity=1)
    (e0,) = p.endpoints
    assert not p.report_failure(e0, TransientError("x", reason="connection", endpoint_fault=True))
    assert not p.can_failover(
        TransientError("x", reason="connection", endpoint_fault=True), e0.base_url
    )
    await p.aclose()


async def test_429_does_not_take_an_endpoint_out() -> None:
    p = pool(2, capacity=1)
    e0, _ = p.endpoints
    busy = TransientError("busy", reason="http_429", retry_after_s=1)
    assert not p.report_failure(e0, busy) and not p.report_failure(e0, busy)
    await p.aclose()


async def test_high_concurrency_is_spread_over_small_connection_pools() -> None:
    """One pool of 64 connections costs several times the CPU of eight pools of eight
    (httpcore's per-request bookkeeping grows with the pool): see docs/benchmarks.md."""
    from client.server.api import LANE_SIZE, lanes_for

    assert lanes_for(1) == lanes_for(LANE_SIZE) == 1
    assert lanes_for(LANE_SIZE + 1) == 2 and lanes_for(64) == 64 // LANE_SIZE
    p = EndpointPool.connect(
        ["http://a.test/v1", "http://b.test/v1"],
        api_key=None,
        capacity=20,
        request_timeout_s=1,
        connect_timeout_s=1,
        cooldown_s=1,
        transport="httpx",
    )
    assert len(p._http) == 2 * 3
    assert all(c._transport._pool._max_connections == 8 for c in p._http)  # type: ignore[attr-defined]
    await p.aclose()


async def test_a_limit_per_endpoint_below_the_capacity() -> None:
    p = pool(2, capacity=8)
    p.set_limit("http://e0.test/v1", 1)
    p.set_limit("http://e1.test/v1", 100)  # never above the capacity the pool was sized for
    assert [s.limit for s in p.states] == [1, 8]
    async with p.slot() as first, p.slot() as second, p.slot() as third:
        assert first.base_url == "http://e0.test/v1"
        # e0 is at its limit of 1: the next two go to e1.
        assert second.base_url == third.base_url == "http://e1.test/v1"
        assert (p.in_flight("http://e0.test/v1"), p.in_flight("http://e1.test/v1")) == (1, 2)
    await p.aclose()


async def test_a_lowered_limit_keeps_running_requests() -> None:
    p = pool(1, capacity=4)
    url = "http://e0.test/v1"
    async with p.slot(), p.slot():
        p.set_limit(url, 1)
        assert p.in_flight(url) == 2
        granted = False
        with anyio.move_on_after(0.05):
            async with p.slot():
                granted = True
        assert not granted
    async with p.slot():
        assert p.in_flight(url) == 1
    await p.aclose()


def test_replies_are_reported_to_a_watcher() -> None:
    p = pool(1, capacity=1)
    seen: list[tuple[str, int]] = []
    p.watch_replies(lambda url, completion: seen.append((url, completion.completion_tokens)))
    (endpoint,) = p.endpoints
    completion = Completion(
        text="{}",
        finish_reason="stop",
        prompt_tokens=10,
        completion_tokens=42,
        model="m",
        latency_s=1.5,
        endpoint=endpoint.base_url,
    )
    p.report_success(endpoint, completion)
    p.report_success(endpoint, completion)
    assert seen == [("http://e0.test/v1", 42)] * 2
    assert p.states[0].served == 2


async def test_work_admitted_is_bounded_by_the_limits_together() -> None:
    """--concurrency auto moves the limits; admission follows them with no count of its own."""
    p = pool(2, capacity=4)
    e0 = "http://e0.test/v1"
    for _ in range(8):
        assert await p.admit()
    assert (p.admitted, p.total_limit) == (8, 8)
    admitted: list[bool] = []

    async def one_more() -> None:
        admitted.append(await p.admit())

    async with anyio.create_task_group() as tg:
        tg.start_soon(one_more)
        await anyio.wait_all_tasks_blocked()
        assert admitted == []
        # Lowered: nothing running is taken away, and nothing new starts until the
        # count is below the new total.
        p.set_limit(e0, 1)
        assert p.total_limit == 5
        for _ in range(3):
            p.release()
        await anyio.wait_all_tasks_blocked()
        assert admitted == [] and p.admitted == 5
        p.release()
        await anyio.wait_all_tasks_blocked()
        assert admitted == [True] and p.admitted == 5
    admitted.clear()
    async with anyio.create_task_group() as tg:
        tg.start_soon(one_more)
        await anyio.wait_all_tasks_blocked()
        assert admitted == []
        p.set_limit(e0, 4)  # raised: the waiter starts at once
    assert admitted == [True] and p.admitted == 6
    await p.aclose()


async def test_an_admission_rule_holds_work_back_or_stops_it() -> None:
    p = pool(1, capacity=8)
    answers = {0: "start", 1: "start", 2: "wait"}
    stop = False

    def rule(in_flight: int) -> Admission:
        return "stop" if stop else answers[in_flight]  # type: ignore[return-value]

    assert await p.admit(rule) and await p.admit(rule)
    results: list[bool] = []

    async def third() -> None:
        results.append(await p.admit(rule))

    async with anyio.create_task_group() as tg:
        tg.start_soon(third)
        await anyio.wait_all_tasks_blocked()
        assert results == [] and p.admitted == 2
        p.release()  # one done: the rule sees one in flight and starts another
    assert results == [True] and p.admitted == 2
    stop = True
    assert not await p.admit(rule)
    assert p.admitted == 2
    await p.aclose()
