"""A model that ignores `response_format` and answers in its own shape (tests/ownshape.py),
through the real CLI against the loopback server: the shapes the client reads, a judge
it cannot read (the run stops, resumes with and without --no-judge, `client judge`,
`client calibrate`), and the bookkeeping that shows no pair is lost or counted twice.
Every mode alone and mixed runs in process: tests/run/test_own_shape_runs.py."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from client.config import load_settings
from tests import bookkeeping
from tests.bookkeeping import LINES, returned_by
from tests.cli.test_calibrate_judge import calibrate, labels, people_grader
from tests.cli.test_judge_cli import judge, old_dataset
from tests.cli_helpers import Result, config_file, gen_args, run_client
from tests.fakeserver import FakeServer, rewrite
from tests.helpers import JUDGE_PROMPT
from tests.ownshape import OwnShape

pytestmark = pytest.mark.loopback

FAST = "retry:\n  initial_wait_s: 0\n  max_wait_s: 0\n"
# Shapes the client reads whatever the request's kind: generation and the judge.
READ_TODAY = ["noids", "prose", "fenced", "extrakeys"]


def dataset(out: Path, run_id: str = "r1") -> dict[str, Any]:
    return bookkeeping.dataset(out, run_id)


def returned_items(server: FakeServer) -> int:
    """Items the server's replies held (every generation request it answered)."""
    return returned_by(r.body for r in server.chat_requests)


def assert_bookkeeping(out: Path, returned: int, run_id: str = "r1") -> Counter[str]:
    """tests.bookkeeping's: every item the server returned is in the dataset, removed
    as a duplicate, awaiting the judge, or rejected with a reason; none lost, none
    counted twice."""
    return bookkeeping.assert_bookkeeping(out, returned, run_id)


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
    assert assert_bookkeeping(tmp_path / "o", returned_items(server)) == Counter()
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
    assert assert_bookkeeping(out, returned_items(server)) == Counter()
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
    assert_bookkeeping(out, returned_items(server))
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
    assert_bookkeeping(out, returned_items(server))
    with FakeServer(shape=shape) as again:
        args[args.index("--base-url") + 1] = again.base_url
        second = run_client(args)
        assert len(again.judge_requests) == 1 and not again.chat_requests
    assert second.code == 0, second.stderr
    pairs = dataset(out)["pairs"]
    assert len(pairs) == 12 and all("judge" in p for p in pairs)


def test_client_judge_reads_these_shapes(tmp_path: Path) -> None:
    source = old_dataset(tmp_path, load_settings())
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


def errors(result: Result) -> list[str]:
    return [str(e["event"]) for e in result.events if e.get("level") == "error"]


def test_a_judge_that_answers_pairs_stops_the_run_and_no_judge_keeps_every_pair(
    tmp_path: Path,
) -> None:
    """The issue's run: a judge answering the grading request with pairs. Nothing is
    lost: the pairs wait, the run stops after three batches it could not read, says so
    once, and a resume with --no-judge lets them in unjudged."""
    out = tmp_path / "o"
    shape = OwnShape(["pairs"])
    args = ("--batches", "5", "--pairs-per-batch", "4", "--concurrency", "1")
    with FakeServer(shape=shape) as server:
        first = generate(server, out, *args)
        # Three batches, their judge requests retried twice each, and no fourth batch.
        assert (len(server.chat_requests), len(server.judge_requests)) == (3, 9)
        returned = returned_items(server)
    assert first.code == 1
    (stop,) = errors(first)
    assert stop.startswith("the judge (fake-model) could not be read in 3 batches in a row")
    for remedy in ("--judge-model", "--judge-base-url", "structured output", "--no-judge"):
        assert remedy in stop
    summary = dataset(out)["metadata"]["summary"]
    assert summary["pairs_awaiting_judge"] == 12 and summary["awaiting_judge"] == {"unreadable": 12}
    table = table_text(first.stdout)
    assert "runr1:incomplete" in table and "12pairsin3batches(replyunreadable12)" in table
    assert "3batchesin" in table and "0retries,6judgeretries" in table
    assert "resume with:" in first.stdout
    assert assert_bookkeeping(out, returned) == Counter()

    with FakeServer(shape=shape) as server:
        again = generate(server, out, *args)
        # The waiting pairs go to the judge again (and stop it again); nothing is generated.
        assert not server.chat_requests and len(server.judge_requests) == 9
    assert again.code == 1 and len(errors(again)) == 1
    assert assert_bookkeeping(out, returned) == Counter()

    with FakeServer(shape=shape) as server:
        released = generate(server, out, *args, "--no-judge")
        assert len(server.chat_requests) == 2 and not server.judge_requests
        returned += returned_items(server)
    assert released.code == 0, released.stderr
    assert "runr1:complete" in table_text(released.stdout)
    pairs = dataset(out)["pairs"]
    assert len(pairs) == 20 and all(p["unjudged"] is True for p in pairs)
    assert assert_bookkeeping(out, returned) == Counter()
    stats = run_client(["stats", "r1", "--output-dir", str(out), "--json"])
    assert (json.loads(stats.stdout)["judged"], json.loads(stats.stdout)["unjudged"]) == (0, 20)


def test_an_input_run_whose_judge_drops_grades_keeps_every_line(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    out = tmp_path / "o"
    # Lines copied loosely with no id; a judge that grades every pair but the last.
    shape = OwnShape(["loosecopy", "fewer"])
    args = ("--input", str(source), "--pairs-per-batch", "2", "--concurrency", "1")
    with FakeServer(shape=shape) as server:
        first = generate(server, out, *args)
        returned = returned_items(server)
        assert len(server.chat_requests) == 3  # the fourth batch is not sent
    assert first.code == 1
    inputs = dataset(out)["metadata"]["summary"]["inputs"]
    assert (inputs["paired"], inputs["tied_by_text"], inputs["pending"]) == (3, 3, 4)
    assert inputs["pending_reasons"] == {"awaiting_judge": 3, "unanswered": 1}
    assert "4pending(awaitingthejudge3,batchfailedornotsent1)" in table_text(first.stdout)
    assert_bookkeeping(out, returned)

    with FakeServer(shape=shape) as server:
        second = generate(server, out, *args, "--no-judge")
        # Only the line never sent goes out; the waiting pairs are not asked for again.
        assert [[i["id"] for i in r.inputs] for r in server.chat_requests] == [[7]]
        returned += returned_items(server)
    assert second.code == 0, second.stderr
    pairs = dataset(out)["pairs"]
    assert [p["standard"] for p in pairs] == LINES
    assert [p.get("unjudged", False) for p in pairs] == [False, True] * 3 + [True]
    assert assert_bookkeeping(out, returned) == Counter()


def test_client_judge_writes_nothing_when_the_judge_cannot_grade(tmp_path: Path) -> None:
    source = old_dataset(tmp_path, load_settings())
    with FakeServer(shape=OwnShape(["gradeprose"])) as server:
        result = judge(server, tmp_path, "old", "--judge-prompt", str(JUDGE_PROMPT),
                       GYARU_RETRY__MAX_CONTENT_ATTEMPTS="1")  # fmt: skip
    assert result.code == 1 and "Traceback" not in result.stderr
    assert result.error.startswith(f"{source}: the judge graded none of its 7 pairs, so nothing")
    assert "--judge-model" in result.error and "--no-judge" not in result.error
    assert sorted(p.name for p in source.parent.iterdir()) == [source.name]
    assert result.stdout == ""


def test_calibrate_with_a_judge_that_cannot_grade_is_an_error() -> None:
    with FakeServer(shape=OwnShape(["outofrange"])) as server:
        result = calibrate(server, "--concurrency", "1", GYARU_RETRY__MAX_CONTENT_ATTEMPTS="1")
    assert result.code == 1 and result.stdout == ""
    n = len(labels())
    # Four chunks of 30: the first three could not be read, so the fourth is not sent.
    assert result.error.startswith(
        f"the judge could not grade {n} of {n} items: the judge (fake-model) could not be read"
        " in 3 batches in a row (last: 30 of 30 pairs without grades (first: judge reply:"
        " meaning is 10, not a grade 1-5)): nothing more is sent to it. To have the pairs"
        " graded: a judge model that follows the grading format (--judge-model NAME)"
    )
    assert len(server.judge_requests) == 3
