"""The CLI end to end against our loopback server: the issue's checks, run as a user would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_helpers import config_file, gen_args, read_until, run_client, start_client
from tests.fakeserver import FakeServer

pytestmark = pytest.mark.loopback


def test_help_lists_every_command() -> None:
    result = run_client(["--help"])
    assert result.code == 0
    for command in ("generate", "check", "export", "stats", "bench", "judge", "calibrate"):
        assert command in result.stdout
    for command in ("generate", "check", "export", "stats", "bench", "judge", "calibrate"):
        sub = run_client([command, "--help"])
        assert sub.code == 0 and "examples:" in sub.stdout, command


def test_generate_8x5_against_a_delayed_server(tmp_path: Path) -> None:
    with FakeServer(latency_s=0.3) as server:
        result = run_client(
            gen_args(
                server.base_url,
                tmp_path,
                "--batches",
                "8",
                "--pairs-per-batch",
                "5",
                "--concurrency",
                "4",
            )
        )
    assert result.code == 0, result.stderr
    raw = sorted((tmp_path / "raw" / "r1").glob("batch_*.json"))
    assert len(raw) == 8
    data = json.loads(
        (tmp_path / "processed" / "gyaru_dataset_r1.json").read_text(encoding="utf-8")
    )
    pairs = data["pairs"]
    assert len(pairs) == 40 and len({p["id"] for p in pairs}) == 40
    assert all(
        {"id", "batch", "topic", "standard", "gyaru", "generated_at"} <= set(p) for p in pairs
    )
    assert all("あーし" in p["gyaru"] for p in pairs)
    bodies = [r.body for r in server.chat_requests]
    assert all(b["temperature"] == 0.8 and b["max_tokens"] == 2000 for b in bodies)
    assert server.max_in_flight == 4
    # JSON logs: every stderr line is one JSON object with an event key.
    assert all("event" in e for e in result.events)
    finished = result.event("run finished")
    assert finished["status"] == "complete" and finished["pairs"] == 40
    # How late the event loop ran what was due (tests/bench/growth.py reads it).
    lag = finished["loop_lag_ms"]
    assert lag["samples"] > 0 and 0 <= lag["p50"] <= lag["p99"] <= lag["max"]
    # And over the batch phase alone, a part of the whole run. Its probe is a timer of
    # its own, due at other instants: a stall both see can reach it up to one interval
    # (10 ms) later than the run's.
    batches = finished["batch_loop_lag_ms"]
    assert 0 < batches["samples"] <= lag["samples"] and batches["max"] <= lag["max"] + 10


def test_concurrency_is_how_many_batches_are_in_flight(tmp_path: Path) -> None:
    """--concurrency 4 keeps 4 requests at the server at once, --concurrency 1 one; what
    that is worth in wall time is measured in tests/bench/scheduling.py, not here."""
    peaks = {}
    for level in ("1", "4"):
        with FakeServer(latency_s=0.3) as server:
            args = ["--batches", "8", "--pairs-per-batch", "5", "--concurrency", level]
            result = run_client(gen_args(server.base_url, tmp_path, *args, run_id=f"c{level}"))
            assert result.code == 0, result.stderr
            peaks[level] = server.max_in_flight
    assert peaks == {"1": 1, "4": 4}


def test_flags_reach_the_requests(tmp_path: Path) -> None:
    with FakeServer() as server:
        result = run_client(
            gen_args(
                server.base_url,
                tmp_path,
                "--batches",
                "2",
                "--pairs-per-batch",
                "3",
                "--temperature",
                "0.3",
                "--max-new-tokens",
                "777",
                "--top-p",
                "0.5",
                "--seed",
                "42",
                "--send-seed",
            )
        )
    assert result.code == 0, result.stderr
    bodies = [r.body for r in server.chat_requests]
    assert {(b["temperature"], b["max_tokens"], b["top_p"]) for b in bodies} == {(0.3, 777, 0.5)}
    assert sorted(b["seed"] for b in bodies) == [43, 44]
    assert all(
        b["response_format"]["json_schema"]["schema"]["properties"]["pairs"]["minItems"] == 3
        for b in bodies
    )


def test_config_file_and_environment_are_read(tmp_path: Path) -> None:
    with FakeServer() as server:
        cfg = config_file(
            tmp_path,
            f"server:\n  base_url: {server.base_url}\ngeneration:\n  total_batches: 3\n  num_pairs_per_batch: 2\n",
        )
        result = run_client(
            [
                "generate",
                "--config",
                str(cfg),
                "--output-dir",
                str(tmp_path / "o"),
                "--run-id",
                "e",
                "--system-prompt",
                str(Path(__file__).parents[2] / "personas/gyaru/system_prompt.txt"),
                "--log-format",
                "json",
            ],
            GYARU_GENERATION__TEMPERATURE="0.25",
        )
    assert result.code == 0, result.stderr
    assert len(server.chat_requests) == 3
    assert {r.body["temperature"] for r in server.chat_requests} == {0.25}


def test_wrong_model_is_exit_2_with_a_clear_line(tmp_path: Path) -> None:
    with FakeServer() as server:
        result = run_client(gen_args(server.base_url, tmp_path, "--model", "no-such-model"))
    assert result.code == 2
    assert "'no-such-model' is not served" in result.stderr and "fake-model" in result.stderr
    assert "Traceback" not in result.stderr
    assert not server.chat_requests


def test_api_key_is_sent_and_its_absence_is_explained(tmp_path: Path) -> None:
    with FakeServer(api_key="sk-loopback-key") as server:
        ok = run_client(
            gen_args(
                server.base_url, tmp_path, "--batches", "1", "--pairs-per-batch", "2", run_id="k1"
            ),
            VLLM_API_KEY="sk-loopback-key",
        )
        missing = run_client(gen_args(server.base_url, tmp_path, "--batches", "1", run_id="k2"))
    assert ok.code == 0, ok.stderr
    assert "sk-loopback-key" not in ok.stderr + ok.stdout
    manifest = (tmp_path / "raw" / "k1" / "manifest.json").read_text(encoding="utf-8")
    assert "sk-loopback-key" not in manifest
    assert missing.code == 2
    assert "rejected the API key (HTTP 401)" in missing.stderr and "VLLM_API_KEY" in missing.stderr


def test_server_down_fails_at_once(tmp_path: Path) -> None:
    result = run_client(gen_args("http://127.0.0.1:9/v1", tmp_path))
    assert result.code == 1
    assert "cannot reach the server" in result.error and "Traceback" not in result.stderr
    # No waiting and no retrying: one look at the server, then the error.
    assert [e["event"] for e in result.events] == [result.error]


def test_wait_polls_until_the_server_comes_up(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = ["--wait", "60", "--batches", "1", "--pairs-per-batch", "2"]
    proc = start_client(gen_args(f"http://127.0.0.1:{port}/v1", tmp_path, *args))
    # The server comes up only once the client has said it is waiting for it.
    waited = read_until(proc, "waiting for the server")
    with FakeServer(port=port) as server:
        _, rest = proc.communicate(timeout=120)
        assert len(server.chat_requests) == 1
    assert proc.returncode == 0, "".join(waited) + rest
