"""Faults through the CLI against a real loopback server: nothing lost, retries bounded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_helpers import config_file, gen_args, run_client
from tests.fakeserver import FakeServer

pytestmark = pytest.mark.loopback

FAST_RETRIES = "retry:\n  initial_wait_s: 0.2\n  max_wait_s: 2\nserver:\n  request_timeout_s: 3\n"


def processed(out: Path, run_id: str = "r1") -> list[dict[str, object]]:
    data = json.loads(
        (out / "processed" / f"gyaru_dataset_{run_id}.json").read_text(encoding="utf-8")
    )
    return list(data["pairs"])


def test_every_fault_at_once_loses_nothing(tmp_path: Path) -> None:
    cfg = config_file(tmp_path, FAST_RETRIES)
    script = ["429:1", "500", "503", "drop", "hang:20", "nojson", "drop", "500"]
    with FakeServer(script=script) as server:
        result = run_client(
            gen_args(
                server.base_url,
                tmp_path / "o",
                "--config",
                str(cfg),
                "--batches",
                "12",
                "--pairs-per-batch",
                "5",
                "--concurrency",
                "4",
            )
        )
        requests = len(server.chat_requests)
    assert result.code == 0, result.stderr
    pairs = processed(tmp_path / "o")
    assert len(pairs) == 60 and len({p["id"] for p in pairs}) == 60
    assert requests == 12 + len(script)
    retries = [e for e in result.events if e["event"] == "retrying batch"]
    assert {e["reason"] for e in retries} == {
        "http_429",
        "http_500",
        "http_503",
        "connection",
        "timeout",
        "no_json",
    }
    assert all("wait_s" in e and "batch" in e and "run_id" in e for e in retries)
    # The 20 s hang was cut by the 3 s request timeout, not waited out.
    (hang,) = [e for e in retries if e["reason"] == "timeout"]
    assert "timed out" in hang["error"]


def test_400_gets_one_request_per_batch_and_its_message_reaches_the_user(tmp_path: Path) -> None:
    with FakeServer(script=["400"] * 10) as server:
        result = run_client(gen_args(server.base_url, tmp_path, "--batches", "3"))
        assert len(server.chat_requests) == 3
    assert result.code == 1
    assert "scripted failure 400" in result.stderr
    assert "scripted failure 400" in result.stdout  # the summary table
    record = json.loads((tmp_path / "raw" / "r1" / "batch_0001.json").read_text(encoding="utf-8"))
    assert record["status"] == "failed" and record["error"]["status"] == 400


@pytest.mark.parametrize("status", ["401", "404"])
def test_other_client_errors_are_not_retried(tmp_path: Path, status: str) -> None:
    with FakeServer(script=[status] * 2) as server:
        result = run_client(gen_args(server.base_url, tmp_path, "--batches", "2"))
        assert len(server.chat_requests) == 2
    assert result.code == 1 and f"HTTP {status}" in result.stderr


def test_retries_are_bounded_by_attempts(tmp_path: Path) -> None:
    cfg = config_file(tmp_path, "retry:\n  max_attempts: 3\n  initial_wait_s: 0\n")
    with FakeServer(script=["503"] * 100) as server:
        result = run_client(
            gen_args(server.base_url, tmp_path / "o", "--config", str(cfg), "--batches", "2")
        )
        assert len(server.chat_requests) == 6
    assert result.code == 1
    manifest = json.loads(
        (tmp_path / "o" / "raw" / "r1" / "manifest.json").read_text(encoding="utf-8")
    )
    assert manifest["status"] == "incomplete"
    assert {b["status"] for b in manifest["batches"].values()} == {"failed"}
    # The summary ends with the exact command that resumes the run, on one line.
    (resume,) = [line for line in result.stdout.splitlines() if line.startswith("resume with: ")]
    assert resume.endswith(" --run-id r1") and " --batches 2 " in resume


def test_retries_are_bounded_by_time(tmp_path: Path) -> None:
    cfg = config_file(
        tmp_path,
        "retry:\n  max_attempts: 100\n  initial_wait_s: 1\n  max_wait_s: 1\n  max_elapsed_s: 4\n",
    )
    with FakeServer(script=["503"] * 1000) as server:
        result = run_client(
            gen_args(server.base_url, tmp_path / "o", "--config", str(cfg), "--batches", "1")
        )
        requests = len(server.chat_requests)
    assert result.code == 1
    # 1 s between attempts and 4 s in all: a handful of attempts, far from the 100 allowed.
    assert 2 <= requests <= 5
    record = json.loads(
        (tmp_path / "o" / "raw" / "r1" / "batch_0001.json").read_text(encoding="utf-8")
    )
    assert record["attempts"] == requests and record["error"]["reason"] == "http_503"


def test_content_retries_are_bounded_and_the_reply_is_recorded(tmp_path: Path) -> None:
    with FakeServer(script=["nojson"] * 10) as server:
        result = run_client(gen_args(server.base_url, tmp_path, "--batches", "1"))
        assert len(server.chat_requests) == 3
    assert result.code == 1
    record = json.loads((tmp_path / "raw" / "r1" / "batch_0001.json").read_text(encoding="utf-8"))
    assert record["error"]["reason"] == "no_json"
    assert "お手伝いできません" in record["reply"]["text"]


def test_messy_replies_are_recovered(tmp_path: Path) -> None:
    """The issue-5 check: fenced, prose, cut, control characters, missing あーし, repeats."""
    script = ["fenced", "repeat", "prose", "truncated", "ctrl", "noash"] * 2 + ["ok"] * 4
    with FakeServer(script=script) as server:
        result = run_client(
            gen_args(
                server.base_url,
                tmp_path,
                "--batches",
                "16",
                "--pairs-per-batch",
                "4",
                "--concurrency",
                "1",
            )
        )
        bodies = [r.body for r in server.chat_requests]
    assert result.code == 0, result.stderr
    assert len(bodies) == 16
    assert all(b["response_format"]["type"] == "json_schema" for b in bodies)
    assert len({json.dumps(b, sort_keys=True) for b in bodies}) == 16
    pairs = processed(tmp_path)
    keys = [(p["standard"], p["gyaru"]) for p in pairs]
    assert len(keys) == len(set(keys))
    # 16 batches x 4 pairs, less 2 x 1 cut item, 2 x 2 without あーし, 2 x 4 repeats.
    assert len(pairs) == 64 - 2 - 4 - 8
    assert all("あーし" in p["gyaru"] for p in pairs)
    raw = [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((tmp_path / "raw" / "r1").glob("batch_*.json"))
    ]
    assert sum(1 for r in raw if r["status"] == "truncated") == 2
    rejected = [x for r in raw for x in r["rejected"]]
    assert [x["reason"] for x in rejected] == ["missing_first_person"] * 4, rejected
    summary = json.loads(
        (tmp_path / "processed" / "gyaru_dataset_r1.json").read_text(encoding="utf-8")
    )["metadata"]["summary"]
    assert summary["duplicates"] == 8 and summary["batches_truncated"] == 2
