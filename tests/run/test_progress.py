"""progress: the live display on a terminal, and none off a terminal or with --no-progress."""

from __future__ import annotations

import io
import os
import pty
import subprocess
from pathlib import Path

import pytest
from rich.console import Console

from client.pairs.records import BatchResult, BatchSpec, Completion
from client.run.progress import LiveStats, ProgressObserver, QuietObserver
from tests.cli_helpers import CLIENT, env, gen_args
from tests.fakeserver import FakeServer

SPEC = BatchSpec(index=1, num_pairs=5, topic_focus="Tech", seed=1, user_message="x")


def result(status: str = "ok") -> BatchResult:
    completion = Completion("{}", "stop", 10, 200, "m", 1.0, "http://e/v1")
    return BatchResult(
        spec=SPEC, status=status, attempts=1, started_at="", finished_at="", completion=completion
    )  # type: ignore[arg-type]


def test_quiet_observer_counts() -> None:
    stats = LiveStats(batches_planned=2)
    obs = QuietObserver(stats)
    obs.batch_started(SPEC)
    obs.batch_finished(result(), 3)
    assert (stats.batches_done, stats.unique_pairs, stats.completion_tokens, stats.in_flight) == (
        1,
        3,
        200,
        0,
    )


def test_progress_display_shows_the_counters() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=160)
    stats = LiveStats(batches_planned=4)
    with ProgressObserver(stats, console=console, target_pairs=None) as obs:
        obs.batch_started(SPEC)
        obs.batch_finished(result(), 5)
    text = out.getvalue()
    assert "1/4" in text and "5 ok" in text and "tok/s" in text


def test_an_input_run_counts_input_lines() -> None:
    from client.pairs.inputs import InputItem

    inputs = tuple(InputItem(i, i, f"文{i}です。", str(i)) for i in range(1, 4))
    spec = BatchSpec(1, 3, "", 1, "x", inputs=inputs)
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=160)
    # 10 lines: 4 set aside before any request (blank, duplicate...), 6 to send.
    stats = LiveStats(batches_planned=2, input_lines=10, input_lines_done=4)
    with ProgressObserver(stats, console=console, target_pairs=None) as obs:
        obs.batch_started(spec)
        obs.batch_finished(
            BatchResult(spec=spec, status="ok", attempts=1, started_at="", finished_at=""), 3
        )
        obs.batch_started(spec)
        obs.batch_finished(
            BatchResult(spec=spec, status="failed", attempts=1, started_at="", finished_at=""), 0
        )
    text = out.getvalue()
    assert "input lines" in text and "7/10" in text and "1/2" not in text
    assert stats.input_lines_done == 7  # a failed batch's lines are not done


def test_progress_display_shows_the_auto_level() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=160)
    # What is in flight is the endpoint pool's count, read at each refresh.
    flying = [1]
    stats = LiveStats(batches_planned=4, concurrency="auto 16", count_in_flight=lambda: flying[0])
    with ProgressObserver(stats, console=console, target_pairs=None) as obs:
        obs.batch_started(SPEC)
    assert "1 in flight (auto 16)" in out.getvalue()
    flying[0] = 3
    with ProgressObserver(stats, console=console, target_pairs=None):
        pass
    assert "3 in flight (auto 16)" in out.getvalue()


def run_on_terminal(args: list[str]) -> tuple[int, str]:
    """Run the client with stderr on a pseudo-terminal, as in a user's shell."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [CLIENT, *args], stdout=subprocess.DEVNULL, stderr=slave, env=env(COLUMNS="160")
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(30), b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.loopback
def test_progress_on_a_terminal_and_not_with_no_progress(tmp_path: Path) -> None:
    with FakeServer(latency_s=0.2) as server:
        args = gen_args(
            server.base_url, tmp_path, "--batches", "6", "--pairs-per-batch", "2", run_id="p1"
        )
        args = [a for a in args if a not in ("--no-progress", "--log-format", "json")]
        code, shown = run_on_terminal(args)
        assert code == 0, shown
        assert "batches" in shown and "6/6" in shown and "ETA" in shown
        code, quiet = run_on_terminal([*args[:-2], "--run-id", "p2", "--no-progress"])
        assert code == 0, quiet
        assert "6/6" not in quiet and "run started" in quiet
