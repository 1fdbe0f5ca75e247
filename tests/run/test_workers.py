"""The pair-check worker pool: the same results as inline, a dead worker is an error
(not a hang), and the workers stop with the run and on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from client.config import Settings, load_settings
from client.errors import WorkerError
from client.pairs.batchwork import BatchWork, CheckRecipe
from client.pairs.inputs import InputItem
from client.run.workers import CheckPool, check_in_worker, worker_count
from tests.fakeserver import make_pairs, rewrites
from tests.helpers import REPO


def recipe(settings: Settings | None = None, *, near: bool = True) -> CheckRecipe:
    from client.run.job import pair_rules

    settings = settings or load_settings()
    return CheckRecipe(
        rules=pair_rules(settings),
        style_markers=settings.persona.style_markers,
        min_quality=settings.validation.min_quality,
        first_person=settings.persona.first_person,
        checks=settings.checks if settings.checks.enabled else None,
        near=settings.checks.near_duplicate if near else None,
    )


def varied_batches() -> list[BatchWork]:
    """Replies that pass, fail each kind of check, break the schema, and rewrite inputs
    with the fake server's misalignments."""
    good = make_pairs(12, "w1")
    broken: list[Any] = [
        {"topic": "Tech", "standard": "", "gyaru": "あーしマジ無理"},
        {"topic": "Cooking", **{k: v for k, v in good[0].items() if k != "topic"}},
        {"topic": "tech", "standard": good[1]["standard"], "gyaru": good[1]["gyaru"]},
        {"topic": "Daily", "standard": "Hello there.", "gyaru": "あーしhello"},
        {"topic": "Daily", "standard": good[2]["standard"], "gyaru": good[2]["standard"]},
        {"topic": "Daily", "standard": good[3]["standard"], "gyaru": "うち的にはアリ〜"},
        {"topic": "Daily", "standard": "今日は雨です。", "gyaru": "あーし今日は雨です。"},
        {"topic": "Daily", "standard": "死ね。", "gyaru": "あーし死ねって感じ"},
        "not an object",
        {"topic": "Daily", "standard": 3, "gyaru": "あーし"},
    ]
    inputs = tuple(
        InputItem(id=i + 1, line=i + 1, text=text, key=f"{i:016x}")
        for i, text in enumerate(
            ["きょうは本を買いました。", "駅まで歩きました。", "雨が降ります。", "映画を見ます。"]
        )
    )
    works = [
        BatchWork(items=good, run_id="r", batch=1, generated_at="t1"),
        BatchWork(items=broken, run_id="r", batch=2, generated_at="t2"),
        BatchWork(items=[*good[:5], *broken[:5]], run_id="r", batch=3, generated_at="t3"),
    ]
    payloads = [{"id": i.id, "standard": i.text} for i in inputs]
    for batch, action in enumerate(("ok", "misalign", "skip", "restate", "noash"), start=4):
        items = rewrites(action, payloads, "Daily")
        works.append(BatchWork(items, run_id="r", batch=batch, generated_at="t", inputs=inputs))
    return works


def as_data(result: Any) -> Any:
    signatures = None if result.signatures is None else result.signatures.tolist()
    return (
        [p.to_json() for p in result.accepted],
        [p.normalised for p in result.accepted],
        [r.to_json() for r in result.rejected],
        signatures,
    )


async def check_all(pool: CheckPool, works: list[BatchWork]) -> list[Any]:
    results: list[Any] = [None] * len(works)

    async def one(i: int) -> None:
        results[i] = as_data(await pool.check(works[i]))

    async with anyio.create_task_group() as tg:
        for i in range(len(works)):
            tg.start_soon(one, i)
    return results


async def test_the_pool_gives_what_inline_checking_gives() -> None:
    works = varied_batches()
    async with CheckPool(recipe(), workers=1) as inline:
        expected = await check_all(inline, works)
    async with CheckPool(recipe(), workers=2) as pool:
        assert not pool.inline
        got = await check_all(pool, works)
    assert got == expected
    accepted = sum(len(e[0]) for e in expected)
    rejected = {r["reason"] for e in expected for r in e[2]}
    # The set really is varied: pairs kept, rewrites tied to inputs, many reasons.
    assert accepted > 20 and any("input" in p for e in expected for p in e[0])
    assert {"schema", "empty", "topic", "missing_first_person", "misaligned"} <= rejected
    assert len(rejected) >= 7


async def test_without_near_duplicates_there_are_no_signatures() -> None:
    async with CheckPool(recipe(near=False), workers=2) as pool:
        checked = await pool.check(varied_batches()[0])
    assert checked.accepted and checked.signatures is None


def _pid(work: BatchWork) -> int:
    return os.getpid()


def _die(work: BatchWork) -> int:
    os._exit(3)


async def test_a_worker_that_dies_is_an_error_not_a_hang() -> None:
    work = varied_batches()[0]
    async with CheckPool(recipe(), workers=2, task=_die) as pool:
        with anyio.fail_after(60), pytest.raises(WorkerError, match="worker process died"):
            await pool.check(work)
        # The pool stays broken: later batches fail the same way, at once.
        with anyio.fail_after(60), pytest.raises(WorkerError):
            await pool.check(work)


async def test_the_workers_stop_with_the_pool() -> None:
    async with CheckPool(recipe(), workers=2, task=_pid) as pool:
        pids = {await pool.check(work) for work in varied_batches()}
        assert os.getpid() not in pids and all(running(pid) for pid in pids)
    assert all(ended(pid) for pid in pids)
    with pytest.raises(WorkerError, match="stopped"):
        await pool.check(varied_batches()[0])


def running(pid: int) -> bool:
    """Whether `pid` is a running process (a zombie has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def ended(pid: int, wait_s: float = 10) -> bool:
    """Whether `pid` ends within `wait_s` (a process takes a moment to exit)."""
    deadline = time.monotonic() + wait_s
    while running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


CTRL_C_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import anyio
    from tests.run.test_workers import _pid, recipe, varied_batches
    from client.run.workers import CheckPool

    async def main():
        async with CheckPool(recipe(), workers=2, task=_pid) as pool:
            pids = {await pool.check(w) for w in varied_batches()}
            print(json.dumps(sorted(pids)), flush=True)
            await anyio.sleep_forever()

    try:
        anyio.run(main)
    except KeyboardInterrupt:
        sys.exit(130)
    """
)


def test_ctrl_c_stops_the_run_and_its_workers() -> None:
    # Ctrl-C on a terminal signals the whole process group: the run and its workers.
    proc = subprocess.Popen(
        [sys.executable, "-c", CTRL_C_SCRIPT],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        pids = json.loads(proc.stdout.readline() or "null")
        assert pids, proc.stderr.read() if proc.stderr else ""
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=60) == 130
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert all(ended(pid) for pid in pids)
    # The workers ignored the signal and were stopped by the pool: no tracebacks.
    assert "KeyboardInterrupt" not in (proc.stderr.read() if proc.stderr else "")


def test_inline_runs_the_same_function() -> None:
    assert CheckPool(recipe(), workers=1).inline
    assert check_in_worker.__module__ == "client.run.workers"


def test_workers_default_to_the_cores() -> None:
    assert worker_count(None) >= 1
    assert worker_count(1) == 1
    assert worker_count(3) == 3
