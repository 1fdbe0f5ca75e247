"""The end of a run as the user reads it: the summary's heading agrees with the exit
code, and the messages name only the stages the run had."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_helpers import gen_args, run_client
from tests.fakeserver import FakeServer
from tests.judgefake import grade_when

pytestmark = pytest.mark.loopback


@pytest.mark.parametrize(
    ("judged", "stages"),
    [(False, "validation"), (True, "validation and the judge")],
)
def test_a_run_that_keeps_no_pair_says_so_and_names_the_stages_it_ran(
    tmp_path: Path, judged: bool, stages: str
) -> None:
    if judged:
        # Every pair passes the checks and the judge turns every one down.
        server = FakeServer(judge_grader=grade_when("", meaning=1, reason="意味が違う"))
        flags = ["--pairs-per-batch", "2"]
    else:
        # One pair a batch, and it lacks あーし: the checks turn it down.
        server = FakeServer(script=["noash"])
        flags = ["--pairs-per-batch", "1", "--no-judge"]
    with server:
        result = run_client(gen_args(server.base_url, tmp_path, "--batches", "1", *flags))
    assert result.code == 1, result.stderr
    assert result.stdout.splitlines()[0].strip() == "run r1: finished with no pair in the dataset"
    assert result.error == (
        f"no pair survived {stages}; see the rejection reasons above and in the raw files"
    )
    finished = result.event("run finished")
    assert finished["level"] == "warning" and finished["status"] == "complete"


def test_a_run_that_keeps_pairs_is_complete(tmp_path: Path) -> None:
    with FakeServer() as server:
        result = run_client(gen_args(server.base_url, tmp_path, "--batches", "1"))
    assert result.code == 0, result.stderr
    assert result.stdout.splitlines()[0].strip() == "run r1: complete"
    assert result.event("run finished")["level"] == "info"
