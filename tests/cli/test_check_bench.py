"""check and bench against our loopback server."""

from __future__ import annotations

import pytest

from client.run.bench import LevelResult, recommend
from client.server.version import TESTED_VLLM_VERSION
from tests.cli_helpers import run_client
from tests.fakeserver import FakeServer


def level(c: int, tokens_per_s: float) -> LevelResult:
    return LevelResult(concurrency=c, wall_s=1.0, batches=4, completion_tokens=int(tokens_per_s))


def test_recommend_stops_where_throughput_stops_growing() -> None:
    assert recommend([level(1, 100), level(2, 190), level(4, 350), level(8, 360)]) == 4
    assert recommend([level(1, 100), level(2, 105)]) == 1
    assert recommend([level(1, 100), level(2, 200), level(4, 400)]) == 4
    assert recommend([]) is None


@pytest.mark.loopback
def test_check_ready_server() -> None:
    with FakeServer() as server:
        result = run_client(["check", "--base-url", server.base_url, "--log-format", "json"])
    assert result.code == 0, result.stderr
    assert "fake-model" in result.stdout and "8192" in result.stdout
    assert result.event("server ready")["model"] == "fake-model"


@pytest.mark.loopback
def test_check_names_the_vllm_version_and_warns_when_it_is_not_the_tested_one() -> None:
    with FakeServer(api_key="k") as server:
        same = run_client(
            ["check", "--base-url", server.base_url, "--log-format", "json"],
            VLLM_API_KEY="k",
        )
    assert same.code == 0, same.stderr
    assert TESTED_VLLM_VERSION in same.stdout and "vLLM" in same.stdout
    assert [e for e in same.events if e.get("level") == "warning"] == []

    with FakeServer(vllm_version="0.31.1") as server:
        other = run_client(["check", "--base-url", server.base_url, "--log-format", "json"])
    assert other.code == 0, other.stderr  # a warning, not a failure
    (warning,) = [e for e in other.events if e.get("level") == "warning"]
    assert warning["vllm_version"] == "0.31.1"
    assert warning["tested_vllm_version"] == TESTED_VLLM_VERSION
    assert "0.31.1 (tested: " in other.stdout

    with FakeServer(vllm_version=None) as server:
        unknown = run_client(["check", "--base-url", server.base_url, "--log-format", "json"])
    assert unknown.code == 0, unknown.stderr
    assert "no /version" in unknown.stdout
    assert [e for e in unknown.events if e.get("level") == "warning"] == []


@pytest.mark.loopback
def test_check_fails_at_once_when_nothing_listens() -> None:
    result = run_client(["check", "--base-url", "http://127.0.0.1:9/v1", "--log-format", "json"])
    assert result.code == 1
    assert "connection failed" in result.error
    # One look, no waiting: the error is the only thing logged.
    assert len(result.events) == 1


@pytest.mark.loopback
def test_check_reports_a_server_without_structured_output() -> None:
    def chooser(request: object) -> str | None:
        body = getattr(request, "body", {}) or {}
        return "400" if "response_format" in body else None

    with FakeServer(chooser=chooser) as server:
        result = run_client(["check", "--base-url", server.base_url, "--log-format", "json"])
    assert result.code == 1
    assert "structured output rejected" in result.stderr


@pytest.mark.loopback
def test_bench_prints_every_level_and_a_recommendation() -> None:
    with FakeServer(latency_s=0.3) as server:
        result = run_client(
            [
                "bench",
                "--base-url",
                server.base_url,
                "--concurrency",
                "1,4",
                "--batches",
                "4",
                "--pairs-per-batch",
                "3",
                "--log-format",
                "json",
            ]
        )
    assert result.code == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.strip().startswith(("│", "┃", "|"))]
    assert any(" 1 " in r for r in rows) and any(" 4 " in r for r in rows)
    assert "recommended: --concurrency 4" in result.stdout


@pytest.mark.loopback
def test_check_names_a_model_the_server_does_not_serve() -> None:
    with FakeServer() as server:
        result = run_client(
            ["check", "--base-url", server.base_url, "--model", "qwen-typo", "--log-format", "json"]
        )
    assert result.code == 1
    assert "model 'qwen-typo' is not served by" in result.error and "fake-model" in result.error
