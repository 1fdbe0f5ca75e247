"""The pair-check worker pool: the same results as inline (a batch, and a whole run's
dataset and rejections), a dead worker stops the run like an interrupt (not a hang, no
lost work), and the workers stop with the run and on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest

from client.config import Settings, load_settings
from client.errors import WorkerError
from client.pairs.batchwork import BatchWork, CheckRecipe
from client.pairs.dedup import normalise
from client.pairs.inputs import InputItem
from client.run.workers import (
    DEFAULT_MAX_WORKERS,
    DIED,
    CheckPool,
    check_in_worker,
    worker_count,
)
from tests.cli_helpers import gen_args, run_client, start_client
from tests.fakeserver import BATCH_RE, FakeServer, RecordedRequest, make_pairs, rewrites
from tests.helpers import REPO
from tests.judgefake import grade_when


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


def broken_items(good: list[dict[str, str]]) -> list[Any]:
    """Items that fail the schema or one of the checks (`good`: 4 pairs or more)."""
    return [
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


def varied_batches() -> list[BatchWork]:
    """Replies that pass, fail each kind of check, break the schema, and rewrite inputs
    with the fake server's misalignments."""
    good = make_pairs(12, "w1")
    broken = broken_items(good)
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


def test_workers_default_to_the_cores_up_to_a_ceiling() -> None:
    assert worker_count(None, available=2) == 2
    assert worker_count(None, available=64) == DEFAULT_MAX_WORKERS
    assert worker_count(None) >= 1
    # With the pair checks off a batch costs too little to send it to a process.
    assert worker_count(None, checks=False, available=8) == 1
    # A number given is the number used.
    assert worker_count(1) == 1
    assert worker_count(3, checks=False) == 3
    assert worker_count(16, available=2) == 16


# -- a whole run, pool on and off ---------------------------------------------------


def near_twin(pair: dict[str, str], mark: str) -> dict[str, str]:
    """`pair` a word longer: a near duplicate of it that passes every check."""
    return {**pair, "gyaru": pair["gyaru"].replace("あーし", f"あーし{mark}")}


@dataclass
class BatchServer(FakeServer):
    """Replies that depend on the batch number alone, whatever order the requests come
    in (each batch answers a little later or sooner than its neighbours): pairs that
    pass, near duplicates of an earlier batch's pairs and of its own, exact repeats,
    and items that fail the schema or a check."""

    batches: int = 12

    def __post_init__(self) -> None:
        super().__post_init__()
        # Made up front, in batch order: the corpus hands numbers out first come.
        self.good = {b: make_pairs(8, f"eq{b}") for b in range(1, self.batches + 1)}
        self.chooser = self._latency

    @staticmethod
    def _latency(request: RecordedRequest) -> str | None:
        if request.judge or request.batch is None:
            return None
        return f"hang:{(request.batch * 7 % 5) * 0.01}"

    def items(self, batch: int) -> list[Any]:
        good = self.good[batch]
        items: list[Any] = [*good, near_twin(good[0], "さ、")]
        if batch > 1:
            earlier = self.good[batch - 1]
            items += [near_twin(earlier[1], "w"), dict(earlier[2]), near_twin(earlier[3], "ね、")]
        return items + broken_items(good)[batch % 3 :: 3]

    def _content(self, name: str, body: dict[str, Any]) -> tuple[str, str]:
        batch = next(int(m) for m in BATCH_RE.findall(json.dumps(body, ensure_ascii=False)))
        return json.dumps({"pairs": self.items(batch)}, ensure_ascii=False), "stop"


def run_data(out: Path, run_id: str) -> dict[str, Any]:
    """What a run decided: each raw file's pairs and rejections, the dataset's pairs in
    order, and its numbers (times left out, and the prompt's tokens: which phrases the
    prompts tell later batches to avoid depends on the order batches finish in)."""

    def timeless(pair: Any) -> Any:
        if not isinstance(pair, dict):
            return pair
        return {k: timeless(v) for k, v in pair.items() if k != "generated_at"}

    raw = {}
    for path in sorted((out / "raw" / run_id).glob("batch_*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        raw[path.name] = (
            record["status"],
            [timeless(p) for p in record["accepted"]],
            [timeless(r) for r in record["rejected"]],
            (record.get("judge") or {}).get("status"),
        )
    dataset = json.loads(
        (out / "processed" / f"gyaru_dataset_{run_id}.json").read_text(encoding="utf-8")
    )
    summary = {
        k: v
        for k, v in dataset["metadata"]["summary"].items()
        if k not in ("prompt_tokens", "tokens_per_unique_pair", "judge_prompt_tokens")
    }
    return {"raw": raw, "pairs": [timeless(p) for p in dataset["pairs"]], "summary": summary}


@pytest.mark.loopback
async def test_a_run_keeps_and_rejects_the_same_pairs_with_the_pool_on_and_off(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    from client.run.generate import generate

    results = {}
    with BatchServer(judge_grader=grade_when("かわいいマグカップ", meaning=1)) as server:
        for workers in (2, 1):
            settings = make_settings(
                server={"base_url": server.base_url, "model": server.model},
                generation={
                    "total_batches": server.batches,
                    "num_pairs_per_batch": 8,
                    "concurrency": 6,
                    "workers": workers,
                },
                output={"output_dir": tmp_path / f"w{workers}", "fsync": False},
                judge={"enabled": True},
            )
            summary = await generate(settings, api_key=None, run_id="same", argv=["generate"])
            assert summary.status == "complete"
            results[workers] = (run_data(tmp_path / f"w{workers}", "same"), summary.live)
    (pooled, pooled_live), (inline, inline_live) = results[2], results[1]
    assert pooled == inline
    # The rebuild as this process alone would do it (its own signatures and words).
    assert rebuilt_here(settings, tmp_path / "w2", "same") == pooled["summary"]
    # Counted as the batches came (target mode's count) the same way too.
    assert pooled_live.unique_pairs == inline_live.unique_pairs
    # And it was a run worth comparing: near duplicates (in a batch and across
    # batches), exact repeats, the judge's rejections and many check reasons.
    numbers = pooled["summary"]
    assert numbers["near_duplicates"] >= 2 * server.batches - 1
    assert numbers["duplicates"] >= server.batches - 1
    assert numbers["rejections"].get("judge", 0) > 0
    assert len(numbers["rejections"]) >= 7, numbers["rejections"]
    assert numbers["pairs_unique"] == len(pooled["pairs"]) > 0


def rebuilt_here(settings: Settings, out: Path, run_id: str) -> dict[str, Any]:
    """The dataset's numbers, rebuilt again with no worker: signed and split into words
    in this process, as before the pool."""
    from client.run.finalise import DecileSummary, DiversitySummary
    from client.run.job import Job
    from client.storage.processed import build_dataset
    from client.storage.runstore import RunStore

    job = Job.from_settings(settings)
    store = RunStore(out, run_id + "-again", fsync=False)
    store.raw_dir = out / "raw" / run_id
    stats, _ = build_dataset(
        store,
        key=settings.validation.dedup_key,
        near=job.near_duplicates(),
        metadata={},
        hooks=[
            DiversitySummary(job),
            DecileSummary(settings.generation.total_batches, settings.persona.first_person),
        ],
        require_judge=True,
    )
    numbers = stats.to_json()
    return {k: numbers[k] for k in run_data(out, run_id)["summary"]}


def test_the_index_decides_the_same_from_a_worker_s_signatures() -> None:
    from client.pairs.neardup import MinHasher
    from client.run.prepare import SeenPairs

    settings = load_settings()
    rules = settings.checks.near_duplicate
    good = make_pairs(6, "sig")
    pairs = [*good, near_twin(good[0], "w"), near_twin(good[4], "さ、"), dict(good[2])]
    lines = [(p["standard"], p["gyaru"]) for p in pairs]
    # As a worker makes them: from the normalised lines.
    signatures = MinHasher(rules.num_perm, rules.ngram).signatures(
        [(normalise(a), normalise(b)) for a, b in lines], normalised=True
    )
    digests = [f"k{i}".encode() for i in range(len(lines))]
    ids = [f"p{i}" for i in range(len(lines))]
    one_at_a_time = SeenPairs(settings.validation.dedup_key, near=job_near(settings))
    decided = [one_at_a_time.add(ids[i], *lines[i], digests[i]) for i in range(len(lines))]
    # The copy comes with a key of its own here: the near-duplicate index catches it.
    assert decided == [True] * 6 + [False] * 3
    signed = SeenPairs(settings.validation.dedup_key, near=job_near(settings))
    assert signed.add_many(ids[:4], lines[:4], digests[:4], signatures[:4]) == 4
    assert signed.add_many(ids[4:], lines[4:], digests[4:], signatures[4:]) == 2


def job_near(settings: Settings) -> Any:
    from client.run.job import Job

    return Job.from_settings(settings).near_duplicates()


# -- a worker that dies in a run ------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """Every process under `pid` (children, their children...)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


@pytest.mark.loopback
def test_a_worker_killed_mid_run_stops_it_like_an_interrupt_and_a_rerun_finishes(
    tmp_path: Path,
) -> None:
    client: dict[str, int] = {}
    killed: list[int] = []

    def kill_the_workers(request: RecordedRequest) -> str | None:
        # As the kernel's OOM killer would: the workers (the fork server's children).
        if request.batch == 3 and not killed:
            for pid in descendants(client["pid"]):
                if pid not in (client["pid"], *direct_children(client["pid"])):
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
        return None

    with FakeServer(chooser=kill_the_workers) as server:
        args = gen_args(
            server.base_url,
            tmp_path,
            *("--batches", "8", "--pairs-per-batch", "5", "--concurrency", "1"),
            *("--workers", "2", "--no-judge"),
        )
        proc = start_client(args)
        client["pid"] = proc.pid
        _, stderr = proc.communicate(timeout=120)
        assert killed, stderr
        assert proc.returncode == 1, stderr
        assert "Traceback" not in stderr
        errors = [e for e in map(json.loads, stderr.splitlines()) if e.get("level") == "error"]
        assert [e["event"] for e in errors] == [DIED], errors
        raw = tmp_path / "raw" / "r1"
        manifest = json.loads((raw / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["status"] == "incomplete"
        assert sorted(p.name for p in raw.glob("batch_*.json")) == [
            "batch_0001.json",
            "batch_0002.json",
        ]
        first = len(server.chat_requests)

        rerun = run_client(args)
        assert rerun.code == 0, rerun.stderr
        again = {r.batch for r in server.chat_requests[first:]}
    assert again == set(range(3, 9))
    pairs = json.loads(
        (tmp_path / "processed" / "gyaru_dataset_r1.json").read_text(encoding="utf-8")
    )["pairs"]
    assert len(pairs) == 40


def direct_children(pid: int) -> list[int]:
    return [p for p in descendants(pid) if _parent(p) == pid]


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return -1
