"""Reading vllm-router's own Prometheus metrics, from a real scrape of the router.

The exposition was scraped from vllm-router 0.1.17 in front of two servers, right
after one of them was killed mid-run: its circuit breaker open, ten requests retried,
and both still reported healthy (the router's health check had not run again yet).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from client.server.metrics import (
    EngineLoad,
    MetricsUnavailable,
    RouterView,
    parse_reading,
    parse_router,
)

DATA = Path(__file__).parent / "data"
ROUTER = (DATA / "vllm-router-0.1.17-metrics.txt").read_text(encoding="utf-8")
VLLM = (DATA / "vllm-0.32-cpu-metrics.txt").read_text(encoding="utf-8")


def test_a_real_router_exposition() -> None:
    view = parse_router(ROUTER)
    assert view == RouterView(workers=2, healthy=2, open_breakers=1, running=0, retries_total=10)
    assert view.describe() == ("2/2 servers healthy, 1 with an open circuit breaker, 10 retries")


def test_either_kind_is_read_for_what_it_is() -> None:
    assert isinstance(parse_reading(VLLM, model="tiny-qwen2"), EngineLoad)
    assert isinstance(parse_reading(ROUTER, model="tiny-qwen2"), RouterView)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (VLLM, "not_router"),
        ("# TYPE up gauge\nup 1\n", "not_router"),
        ("<html>no</html>", "garbage"),
    ],
)
def test_what_is_not_the_routers_is_refused(text: str, reason: str) -> None:
    with pytest.raises(MetricsUnavailable) as info:
        parse_router(text)
    assert info.value.reason == reason


def test_an_exposition_of_neither_kind_is_not_vllm() -> None:
    with pytest.raises(MetricsUnavailable) as info:
        parse_reading("# TYPE up gauge\nup 1\n")
    assert info.value.reason == "not_vllm"
    assert "vllm-router" in info.value.message
