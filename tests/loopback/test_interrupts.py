"""Kills and interrupts: finished work survives, a rerun finishes the job, nothing twice."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from tests.cli_helpers import gen_args, read_until, run_client, start_client
from tests.fakeserver import FakeServer

pytestmark = pytest.mark.loopback


def finished_batches(raw: Path, *, judged: bool = False) -> set[int]:
    """Batches generated (and, with judged, graded by the judge too)."""
    done = set()
    for path in raw.glob("batch_*.json"):
        record = json.loads(path.read_text(encoding="utf-8"))
        if record["status"] in ("ok", "truncated") and (
            not judged or (record["judge"] or {}).get("status") == "judged"
        ):
            done.add(record["batch"])
    return done


def wait_for_files(raw: Path, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(list(raw.glob("batch_*.json"))) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} batch files after {timeout}s")


def test_sigkill_then_rerun_with_the_same_id(tmp_path: Path) -> None:
    raw = tmp_path / "raw" / "r1"
    with FakeServer(latency_s=0.4) as server:
        args = gen_args(
            server.base_url,
            tmp_path,
            "--batches",
            "12",
            "--pairs-per-batch",
            "5",
            "--concurrency",
            "2",
        )
        proc = start_client(args)
        wait_for_files(raw, 3)
        proc.kill()
        proc.wait(10)
        assert proc.returncode == -signal.SIGKILL
        done_before = finished_batches(raw)
        assert 3 <= len(done_before) < 12
        first_run_requests = len(server.chat_requests)

        result = run_client(args)
        assert result.code == 0, result.stderr
        rerun = server.chat_requests[first_run_requests:]
    requested_again = {r.batch for r in rerun}
    assert requested_again.isdisjoint(done_before)
    assert requested_again == set(range(1, 13)) - done_before
    pairs = json.loads(
        (tmp_path / "processed" / "gyaru_dataset_r1.json").read_text(encoding="utf-8")
    )["pairs"]
    assert len(pairs) == 60
    assert len({p["id"] for p in pairs}) == 60
    assert len({(p["standard"], p["gyaru"]) for p in pairs}) == 60
    assert result.event("run started")["already_done"] == len(done_before)
    # No half-written file was ever taken for a batch.
    assert not list(raw.glob(".*.tmp"))


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_keeps_finished_batches_and_says_how_to_resume(
    tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    raw = tmp_path / "raw" / "r1"
    with FakeServer(latency_s=0.5) as server:
        args = gen_args(
            server.base_url,
            tmp_path,
            "--batches",
            "40",
            "--pairs-per-batch",
            "5",
            "--concurrency",
            "2",
        )
        proc = start_client(args)
        wait_for_files(raw, 2)
        requested_before = len(server.chat_requests)
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=60)
        requested_after = len(server.chat_requests) - requested_before
    assert proc.returncode == code
    # Scheduling stopped at the signal: at most the 2 workers' next batches slipped out.
    assert requested_after <= 2
    assert "Traceback" not in stderr
    events = [json.loads(line) for line in stderr.splitlines()]
    finished = next(e for e in events if e["event"] == "run finished")
    assert finished["status"] == "interrupted" and finished["run_id"] == "r1"
    assert "--run-id r1" in finished["resume"]
    assert "--run-id r1" in stdout
    manifest = json.loads((raw / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "interrupted"
    done = finished_batches(raw)
    assert 2 <= len(done) < 40
    # Batches stopped between generation and the judge wait for a resumed run to
    # judge them: only judged pairs are in the dataset.
    judged = finished_batches(raw, judged=True)
    pairs = json.loads(
        (tmp_path / "processed" / "gyaru_dataset_r1.json").read_text(encoding="utf-8")
    )["pairs"]
    assert len(pairs) == 5 * len(judged)
    awaiting = manifest["summary"]["dataset"]
    assert awaiting["batches_awaiting_judge"] == len(done - judged)


def test_interrupt_while_waiting_for_the_server(tmp_path: Path) -> None:
    proc = start_client(gen_args("http://127.0.0.1:9/v1", tmp_path, "--wait", "120"))
    read_until(proc, "waiting for the server")
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Traceback" not in stderr
