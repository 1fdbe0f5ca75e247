"""check and bench against our loopback server."""

from __future__ import annotations

import pytest

from client.run.bench import Level, LevelResult, recommend, recommend_combination
from client.server.readiness import TESTED_VLLM_VERSION
from tests.cli_helpers import Result, run_client
from tests.fakeserver import FakeServer
from tests.gpusim import GpuSim
from tests.ownshape import OwnShape


def level(c: int, tokens_per_s: float) -> LevelResult:
    return LevelResult(concurrency=c, wall_s=1.0, batches=4, completion_tokens=int(tokens_per_s))


def test_recommend_stops_where_throughput_stops_growing() -> None:
    assert recommend([level(1, 100), level(2, 190), level(4, 350), level(8, 360)]) == 4
    assert recommend([level(1, 100), level(2, 105)]) == 1
    assert recommend([level(1, 100), level(2, 200), level(4, 400)]) == 4
    assert recommend([]) is None


def row(pairs: int, c: Level, tokens_per_s: float, accepted: int) -> LevelResult:
    return LevelResult(
        concurrency=c,
        pairs_per_batch=pairs,
        wall_s=60.0,
        batches=4,
        completion_tokens=int(tokens_per_s * 60),
        accepted=accepted,
    )


def test_the_combination_is_the_paying_level_with_the_most_pairs_per_minute() -> None:
    small = [row(10, 1, 100, 100), row(10, 4, 350, 400), row(10, 16, 360, 410)]
    large = [row(30, 1, 120, 90), row(30, 4, 300, 300), row(30, 16, 320, 310)]
    best = recommend_combination([*small, *large])
    assert best is not None and (best.pairs_per_batch, best.concurrency) == (10, 4)
    # 16 makes a few more pairs at 10 per batch, but not 10 % more tokens: not paying.
    assert recommend([*small]) == 4


def test_auto_is_recommended_only_when_it_makes_more_pairs() -> None:
    fixed = [row(10, 1, 100, 100), row(10, 4, 350, 400)]
    assert recommend_combination([*fixed, row(10, "auto", 340, 390)]) is fixed[1]
    better = row(10, "auto", 400, 450)
    assert recommend_combination([*fixed, better]) is better
    assert recommend([*fixed, better]) == 4


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


def check(*args: str) -> Result:
    return run_client(["check", *args, "--log-format", "json"], COLUMNS="200")


@pytest.mark.loopback
def test_check_tries_the_judge_with_its_prompt_and_schema() -> None:
    with FakeServer() as server:
        result = check("--base-url", server.base_url)
        (probe,) = server.judge_requests
    assert result.code == 0, result.stderr
    # One grading request for one known pair, with the judge's schema, greedily.
    assert probe.body["messages"][1]["content"].startswith("次の1組を採点してください")
    assert probe.body["response_format"]["json_schema"]["name"] == "gyaru_judge"
    assert probe.body["temperature"] == 0.0
    assert "judge" in result.stdout and result.stdout.count("ok (") == 2


@pytest.mark.loopback
@pytest.mark.parametrize("mode", ["gradeprose", "pairs", "outofrange"])
def test_check_says_why_a_judge_in_its_own_shape_cannot_grade(mode: str) -> None:
    with FakeServer(shape=OwnShape([mode])) as server:
        result = check("--base-url", server.base_url)
        off = check("--base-url", server.base_url, "--no-judge")
        assert len(server.judge_requests) == 1  # --no-judge does not try it
    assert result.code == 1
    assert "CANNOT GRADE" in result.stdout
    assert result.error.startswith("server not ready: judge (fake-model) cannot grade: ")
    assert "--judge-model" in result.error and "--no-judge" in result.error
    assert off.code == 0, off.stderr
    assert "off" in off.stdout


@pytest.mark.loopback
def test_check_tries_the_judge_on_its_own_server_and_model() -> None:
    with (
        FakeServer() as generating,
        FakeServer(model="judge-model", shape=OwnShape(["fewer"])) as judging,
    ):
        result = check("--base-url", generating.base_url, "--judge-base-url", judging.base_url)
        typo = check(
            "--base-url", generating.base_url, "--judge-base-url", judging.base_url,
            "--judge-model", "judge-typo",
        )  # fmt: skip
        assert not generating.judge_requests and len(judging.judge_requests) == 1
        assert [r.body["model"] for r in judging.judge_requests] == ["judge-model"]
    assert result.code == 1
    # A row for the judge's server (its cells wrap wherever the table's width says).
    assert "(judge)" in result.stdout and str(judging.port) in result.stdout
    assert result.error == (
        "judge server not ready: judge (judge-model) cannot grade: the judge's reply holds no"
        " grades;"
        " try another --judge-model or --judge-base-url, structured output on a server that"
        " honours it, or --no-judge"
    )
    assert typo.code == 1 and "model 'judge-typo' is not served" in typo.error


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


@pytest.mark.loopback
def test_bench_sweeps_batch_sizes_and_auto() -> None:
    with GpuSim(capacity=4, step_s=0.002) as server:
        result = run_client(
            [
                "bench",
                "--base-url",
                server.base_url,
                "--concurrency",
                "auto,1,4",
                "--pairs-per-batch",
                "3,2",
                "--batches",
                "8",
                "--log-format",
                "json",
            ]
        )
    assert result.code == 0, result.stderr
    rows = [line.split("│")[1:3] for line in result.stdout.splitlines() if line.startswith("│")]
    cells = [(size.strip(), level.strip()) for size, level in rows]
    assert [c for c in cells if not c[1].startswith("auto")] == [
        ("2", "1"),
        ("2", "4"),
        ("3", "1"),
        ("3", "4"),
    ]
    assert [size for size, level in cells if level.startswith("auto (")] == ["2", "3"]
    assert "recommended: --pairs-per-batch " in result.stdout


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--concurrency", "1,auto,auto", "auto is given twice in '1,auto,auto'"),
        ("--concurrency", "4,aut0", "'aut0' in '4,aut0' is neither a level"),
        ("--concurrency", "0,4", "'0' in '0,4' is neither a level"),
        ("--concurrency", "4,,8", "expected levels like 1,4,16,auto separated by commas"),
        (
            "--pairs-per-batch",
            "10,auto",
            "batch sizes are whole numbers >= 1 (auto is for --concurrency)",
        ),
    ],
)
def test_bench_lists_that_mix_in_auto_wrongly_are_usage_errors(
    flag: str, value: str, message: str
) -> None:
    result = run_client(["bench", "--base-url", "http://127.0.0.1:9/v1", flag, value])
    assert result.code == 2
    (line,) = result.stderr.strip().splitlines()
    assert message in line and flag in line
