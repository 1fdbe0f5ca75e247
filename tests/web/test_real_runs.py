"""The review session over what the project itself writes, not over a hand-made demo:
a `generate` run with the judge on (respx), and a dataset graded by `client judge`
(the real CLI against the loopback server)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import respx

from client.clock import utc_now
from client.config import Settings
from client.run.generate import generate
from client.storage.dataset import load_dataset
from client.web.session import open_session
from tests.cli_helpers import run_client
from tests.fakeserver import FakeServer
from tests.helpers import JUDGE_PROMPT, mock_vllm
from tests.judgefake import grade_pair, grade_when, judge_response


async def test_a_judged_run_shows_grades_and_the_judges_rejections(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    # The judge turns down the 4th pair of every batch for its meaning.
    grader = grade_pair(4, meaning=2, reason="数が変わっている")
    async with respx.mock(assert_all_called=False) as router:
        mock_vllm(router, judge=lambda r: judge_response(r, grader=grader))
        summary = await generate(make_settings(), api_key=None, run_id="j1", argv=["generate"])
    assert summary.status == "complete"
    dataset = load_dataset("j1", tmp_path / "outputs")
    payload = open_session(dataset, clock=utc_now, fsync=False).payload()
    assert len(payload["pairs"]) == 16
    assert all(p["judge"]["meaning"] == 5 for p in payload["pairs"])
    judged = [r for r in payload["rejected"] if r["reason"] == "judge"]
    assert len(judged) == 4
    assert all(r["judge"]["meaning"] == 2 and r["standard"] for r in judged)
    assert all(r["detail"] == "judge: meaning 2/5 (min 4): 数が変わっている" for r in judged)
    assert len({r["id"] for r in payload["rejected"]}) == len(payload["rejected"])


@pytest.mark.loopback
def test_a_dataset_graded_by_client_judge_shows_what_it_set_aside(tmp_path: Path) -> None:
    pairs = [
        {
            "id": f"old-b0001-{i:03d}",
            "batch": 1,
            "topic": "Daily",
            "standard": f"{i}番目の文です。",
            "gyaru": f"{i}番目の文なんだけど、あーし的にマジ大事〜",
            "quality": 0.5,
        }
        for i in range(4)
    ]
    source = tmp_path / "processed" / "gyaru_dataset_old.json"
    source.parent.mkdir(parents=True)
    source.write_text(json.dumps({"metadata": {"run_id": "old"}, "pairs": pairs}), encoding="utf-8")
    with FakeServer(judge_grader=grade_when("2番目", voice=1, reason="丁寧語のまま")) as server:
        result = run_client(
            ["judge", "old", "--base-url", server.base_url, "--output-dir", str(tmp_path),
             "--judge-prompt", str(JUDGE_PROMPT), "--log-format", "json"]
        )  # fmt: skip
    assert result.code == 0, result.stderr
    judged = load_dataset("old-judged", tmp_path)
    payload = open_session(judged, clock=utc_now, fsync=False).payload()
    assert [p["id"] for p in payload["pairs"]] == [
        "old-b0001-000",
        "old-b0001-001",
        "old-b0001-003",
    ]
    (aside,) = payload["rejected"]
    assert aside["id"] == "old-b0001-002-x"
    assert aside["reason"] == "judge" and aside["judge"]["voice"] == 1
    assert aside["standard"] == "2番目の文です。" and "丁寧語のまま" in aside["detail"]
