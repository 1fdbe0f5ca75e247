"""A model that ignores `response_format` and answers in its own shape (tests/ownshape.py),
through the real CLI against the loopback server: the shapes the client reads today,
and the bookkeeping that shows no pair is lost or counted twice."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from client.config import Settings
from tests.cli.test_calibrate_judge import calibrate, people_grader
from tests.cli.test_judge_cli import judge, old_dataset
from tests.cli_helpers import Result, config_file, gen_args, run_client
from tests.fakeserver import FakeServer, rewrite
from tests.helpers import JUDGE_PROMPT
from tests.ownshape import OwnShape

pytestmark = pytest.mark.loopback

FAST = "retry:\n  initial_wait_s: 0\n  max_wait_s: 0\n"
LINES = [
    "今日は晴れです。",
    "明日は雨が降ります。",
    "駅前にカフェができました。",
    "新しいゲームを買いました。",
    "週末は友だちと映画を見ます。",
    "昨日は、とても寒かったです！",
    "ＰＣの画面が大きいです。",
]
# Shapes the client reads whatever the request's kind: generation and the judge.
READ_TODAY = ["noids", "prose", "fenced", "extrakeys"]


def raw_records(out: Path, run_id: str = "r1") -> list[dict[str, Any]]:
    files = sorted((out / "raw" / run_id).glob("batch_*.json"))
    return [json.loads(p.read_text(encoding="utf-8")) for p in files]


def dataset(out: Path, run_id: str = "r1") -> dict[str, Any]:
    path = out / "processed" / f"gyaru_dataset_{run_id}.json"
    return dict(json.loads(path.read_text(encoding="utf-8")))


def returned_items(server: FakeServer) -> int:
    """Items the server's replies held: a rewrite answers each input, a free batch
    the pairs it was asked for (the shapes drop none)."""
    total = 0
    for request in server.chat_requests:
        if request.inputs:
            total += len(request.inputs)
        else:
            schema = request.body["response_format"]["json_schema"]["schema"]
            total += schema["properties"]["pairs"]["minItems"]
    return total


def assert_bookkeeping(out: Path, server: FakeServer, run_id: str = "r1") -> Counter[str]:
    """Every item the server returned is in the dataset, removed as a duplicate, awaiting
    the judge, or rejected with a reason and a detail; none lost, none counted twice.
    Returns the rejections by reason."""
    summary = dataset(out, run_id)["metadata"]["summary"]
    records = raw_records(out, run_id)
    rejected = [r for rec in records for r in rec["rejected"] if r["reason"] != "missing"]
    assert all(r["reason"] and r["detail"] for r in rejected)
    pairs = dataset(out, run_id)["pairs"]
    assert len({p["id"] for p in pairs}) == len(pairs)
    removed = summary["duplicates"] + summary["near_duplicates"]
    waiting = summary["pairs_awaiting_judge"]
    assert len(pairs) + removed + waiting + len(rejected) == returned_items(server)
    assert summary["items_returned"] == returned_items(server)
    return Counter(r["reason"] for r in rejected)


def table_text(stdout: str) -> str:
    """The summary table's words run together: a cell wraps wherever the width says."""
    return re.sub(r"[\s│]", "", stdout)


def generate(server: FakeServer, out: Path, *extra: str) -> Result:
    cfg = config_file(out.parent, FAST)
    return run_client(gen_args(server.base_url, out, "--config", str(cfg), *extra))


@pytest.mark.parametrize("mode", READ_TODAY)
def test_generate_with_the_judge_on_keeps_every_pair_in_these_shapes(
    tmp_path: Path, mode: str
) -> None:
    with FakeServer(shape=OwnShape([mode])) as server:
        result = generate(server, tmp_path / "o", "--batches", "3", "--pairs-per-batch", "4")
        actions = {r.action for r in server.requests if r.action}
    assert result.code == 0, result.stderr
    assert actions == {f"own:{mode}"} or (mode == "noids" and actions == {"ok", "own:noids"})
    assert assert_bookkeeping(tmp_path / "o", server) == Counter()
    pairs = dataset(tmp_path / "o")["pairs"]
    assert len(pairs) == 12 and all(p["judge"]["meaning"] == 5 for p in pairs)


@pytest.mark.parametrize("mode", ["noids", "loosecopy", "prose", "fenced", "extrakeys"])
def test_an_input_run_pairs_every_line_in_these_shapes(tmp_path: Path, mode: str) -> None:
    source = tmp_path / "in.txt"
    source.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    out = tmp_path / "o"
    with FakeServer(shape=OwnShape([mode])) as server:
        result = generate(server, out, "--input", str(source), "--pairs-per-batch", "3")
    assert result.code == 0, result.stderr
    assert assert_bookkeeping(out, server) == Counter()
    pairs = dataset(out)["pairs"]
    # Every line paired once, with its own text as the standard line and its own rewrite.
    assert [p["standard"] for p in pairs] == LINES
    assert all(p["gyaru"] == rewrite(p["standard"]) for p in pairs)
    inputs = dataset(out)["metadata"]["summary"]["inputs"]
    by_text = len(LINES) if mode in ("noids", "loosecopy") else 0
    assert (inputs["paired"], inputs["pending"], inputs["tied_by_text"]) == (7, 0, by_text)
    tied = [p["input"].get("tied_by") for p in pairs]
    assert tied == ["text" if by_text else None] * len(LINES)
    if by_text:
        assert f"{by_text}tiedbytext(noid)" in table_text(result.stdout)


def test_an_input_run_in_mixed_shapes_pairs_every_line_and_a_resume_sends_nothing(
    tmp_path: Path,
) -> None:
    source = tmp_path / "in.txt"
    source.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    out = tmp_path / "o"
    shape = OwnShape(["noids", "loosecopy", "prose", "fenced", "extrakeys"], seed=3)
    args = ("--input", str(source), "--pairs-per-batch", "2", "--no-judge")
    with FakeServer(shape=shape) as server:
        first = generate(server, out, *args)
        drawn = {r.action for r in server.chat_requests}
    assert first.code == 0, first.stderr
    assert len(drawn) > 1  # the batches drew different shapes
    assert_bookkeeping(out, server)
    assert [p["standard"] for p in dataset(out)["pairs"]] == LINES
    with FakeServer(shape=shape) as again:
        second = generate(again, out, *args)
        assert not again.chat_requests
    assert second.code == 0, second.stderr
    assert [p["standard"] for p in dataset(out)["pairs"]] == LINES


def test_a_judge_down_for_one_batch_is_resumed_in_the_models_shape(tmp_path: Path) -> None:
    out = tmp_path / "o"
    shape = OwnShape(READ_TODAY, seed=5)
    cfg = config_file(tmp_path, FAST + "  max_attempts: 1\n")
    args = gen_args("", out, "--config", str(cfg), "--batches", "3", "--pairs-per-batch", "4",
                    "--concurrency", "1")  # fmt: skip
    with FakeServer(shape=shape, judge_script=["500"]) as server:
        args[args.index("--base-url") + 1] = server.base_url
        first = run_client(args)
    assert first.code == 1, first.stderr
    assert dataset(out)["metadata"]["summary"]["pairs_awaiting_judge"] == 4
    assert_bookkeeping(out, server)
    with FakeServer(shape=shape) as again:
        args[args.index("--base-url") + 1] = again.base_url
        second = run_client(args)
        assert len(again.judge_requests) == 1 and not again.chat_requests
    assert second.code == 0, second.stderr
    pairs = dataset(out)["pairs"]
    assert len(pairs) == 12 and all("judge" in p for p in pairs)


def test_client_judge_reads_these_shapes(tmp_path: Path) -> None:
    source = old_dataset(tmp_path, Settings())
    with FakeServer(shape=OwnShape(READ_TODAY, seed=1)) as server:
        result = judge(server, tmp_path, "old", "--judge-prompt", str(JUDGE_PROMPT))
        assert len({r.action for r in server.judge_requests}) > 1
    assert result.code == 0, result.stderr
    graded = json.loads(
        source.with_name("gyaru_dataset_old-judged.json").read_text(encoding="utf-8")
    )
    assert len(graded["pairs"]) == 7 and graded["metadata"]["judge"]["rejected"] == {}


def test_calibrate_gets_the_same_verdicts_from_these_shapes() -> None:
    shape = OwnShape(READ_TODAY, seed=2)
    with FakeServer(shape=shape, judge_grader=people_grader) as server:
        result = calibrate(server, "--pairs-per-batch", "10")
        assert len({r.action for r in server.judge_requests}) > 1
    assert result.code == 0, result.stderr
    by_name = {s["name"]: s for s in json.loads(result.stdout)["sources"]}
    assert by_name["LLM judge"]["kappa"] == 1.0
