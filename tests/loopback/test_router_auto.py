"""`--concurrency auto` through vLLM's real router, in front of two GPU simulators.

The router (PyPI vllm-router, tests/routerproc.py) answers GET /metrics with its first
server's exposition only, so through it the client must read the servers it lists at
/workers, each at its own /metrics, or the URLs named with --metrics-url; where it
cannot, it falls back to its own signals with one warning. The simulators' engines run
on their own step clocks, so these runs last a few seconds on any machine; what is
checked is where the readings came from, what the manifest and summary say, and the
warnings, not how far auto climbed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from client.server.metrics import parse_router
from tests.cli_helpers import Result, gen_args, run_client
from tests.gpusim import GpuSim
from tests.routerproc import RouterInfo, metrics_text, running_router

pytestmark = pytest.mark.loopback

# Engines stepping every 2 ms: the 12 batches take a few seconds at 4 to 8 in flight,
# a few readings (the first one a second after the batches start).
STEP_S = 0.002
RUN = ("--concurrency", "auto", "--max-concurrency", "8", "--batches", "12",
       "--pairs-per-batch", "3")  # fmt: skip


def root(sim: GpuSim) -> str:
    return sim.base_url.removesuffix("/v1")


@dataclass
class Cluster:
    sims: tuple[GpuSim, GpuSim]
    router: RouterInfo

    def scrapes(self) -> tuple[int, int]:
        return (self.sims[0].metrics_scrapes, self.sims[1].metrics_scrapes)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two simulators behind one router, shared by the tests that only read them."""
    logs = tmp_path_factory.mktemp("router")
    with (
        GpuSim(capacity=4, step_s=STEP_S) as one,
        GpuSim(capacity=4, step_s=STEP_S) as two,
        running_router([root(one), root(two)], log_dir=logs) as router,
    ):
        yield Cluster((one, two), router)


def generate(router: RouterInfo, out: Path, *extra: str) -> Result:
    return run_client(gen_args(router.base_url, out, *RUN, *extra), timeout=180)


def auto_of(out: Path) -> dict[str, Any]:
    manifest = json.loads((out / "raw" / "r1" / "manifest.json").read_text(encoding="utf-8"))
    (endpoint,) = manifest["summary"]["concurrency"]["endpoints"].values()
    return dict(endpoint)


def warnings(result: Result) -> list[dict[str, Any]]:
    return [e for e in result.events if e.get("level") == "warning"]


def test_auto_reads_every_server_the_router_lists(cluster: Cluster, tmp_path: Path) -> None:
    before = cluster.scrapes()
    result = generate(cluster.router, tmp_path)
    assert result.code == 0, result.stderr
    assert warnings(result) == []
    one, two = (after - b for after, b in zip(cluster.scrapes(), before, strict=True))
    assert one >= 1 and two >= 1
    # Read together every time (the run may end between the two answers of the last).
    assert abs(one - two) <= 1
    endpoint = auto_of(tmp_path)
    assert endpoint["signals"] == "metrics"
    assert endpoint["source"] == "/metrics of the 2 servers behind the router"
    assert sorted(endpoint["metrics_sources"]) == sorted(f"{root(s)}/metrics" for s in cluster.sims)
    assert "from /metrics of the 2 servers behind the router" in result.stdout
    # The router's own metrics, as the client reads them, agree.
    view = parse_router(metrics_text(cluster.router))
    assert (view.workers, view.healthy, view.open_breakers) == (2, 2, 0)


def test_a_server_without_metrics_behind_the_router_costs_one_warning(tmp_path: Path) -> None:
    with (
        GpuSim(capacity=4, step_s=STEP_S) as one,
        GpuSim(capacity=4, step_s=STEP_S, metrics="absent") as two,
        running_router([root(one), root(two)], log_dir=tmp_path) as router,
    ):
        result = generate(router, tmp_path)
    assert result.code == 0, result.stderr
    (warning,) = warnings(result)
    assert warning["reason"] == "absent" and f"{root(two)}/metrics" in warning["error"]
    assert "--metrics-url" in warning["hint"]
    endpoint = auto_of(tmp_path)
    assert (endpoint["signals"], endpoint["metrics_unavailable"]) == ("client", "absent")
    assert "from the client's own signals (absent)" in result.stdout


def test_named_metrics_urls_are_read_instead(cluster: Cluster, tmp_path: Path) -> None:
    before = cluster.scrapes()
    named = [arg for sim in cluster.sims for arg in ("--metrics-url", f"{root(sim)}/metrics")]
    result = generate(cluster.router, tmp_path, *named)
    assert result.code == 0, result.stderr
    assert warnings(result) == []
    endpoint = auto_of(tmp_path)
    assert (endpoint["signals"], endpoint["source"]) == ("metrics", "--metrics-url (2)")
    assert all(after > b for after, b in zip(cluster.scrapes(), before, strict=True))


def test_the_routers_own_metrics_alone_fall_back_with_the_reason(
    cluster: Cluster, tmp_path: Path
) -> None:
    before = cluster.scrapes()
    result = generate(cluster.router, tmp_path, "--metrics-url", cluster.router.metrics_url)
    assert result.code == 0, result.stderr
    (warning,) = warnings(result)
    assert warning["reason"] == "router_only"
    assert cluster.scrapes() == before
    assert "from the client's own signals (router_only)" in result.stdout
