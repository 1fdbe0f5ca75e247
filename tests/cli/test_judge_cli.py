"""`client judge SOURCE` through the real CLI against the loopback server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from client.config import Settings, load_settings
from tests.cli_helpers import gen_args, run_client
from tests.fakeserver import FakeServer
from tests.helpers import JUDGE_PROMPT
from tests.judgefake import grade_pair, grade_when

pytestmark = pytest.mark.loopback


def old_dataset(tmp_path: Path, settings: Settings, n: int = 7, run_id: str = "old") -> Path:
    """A processed dataset as an earlier run (before the judge) wrote it."""
    snapshot = settings.snapshot()
    del snapshot["judge"]
    pairs = [
        {
            "id": f"{run_id}-b0001-{i:03d}",
            "batch": 1,
            "topic": settings.persona.topics[0],
            "standard": f"{i}番目の文です。",
            "gyaru": f"{i}番目の文なんだけど、{settings.persona.first_person}的にマジ大事〜",
            "quality": 0.5,
        }
        for i in range(n)
    ]
    path = tmp_path / "processed" / f"gyaru_dataset_{run_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"metadata": {"run_id": run_id, "config": snapshot}, "pairs": pairs}),
        encoding="utf-8",
    )
    return path


def judge(server: FakeServer, tmp_path: Path, *args: str, **env: str) -> Any:
    return run_client(
        [
            "judge",
            *args,
            "--base-url",
            server.base_url,
            "--output-dir",
            str(tmp_path),
            "--pairs-per-batch",
            "3",
            "--log-format",
            "json",
        ],
        **env,
    )


def read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_an_old_dataset_is_graded_into_a_new_one(tmp_path: Path) -> None:
    source = old_dataset(tmp_path, load_settings())
    with FakeServer(judge_grader=grade_when("4番目", voice=1, reason="丁寧語のまま")) as server:
        result = judge(server, tmp_path, "old", "--judge-prompt", str(JUDGE_PROMPT))
        assert len(server.judge_requests) == 3 and not server.chat_requests
    assert result.code == 0, result.stderr
    out = source.with_name("gyaru_dataset_old-judged.json")
    data = read(out)
    assert [p["id"] for p in data["pairs"]] == [f"old-b0001-{i:03d}" for i in (0, 1, 2, 3, 5, 6)]
    assert all(p["judge"]["meaning"] == 5 and p["quality"] == 0.5 for p in data["pairs"])
    meta = data["metadata"]
    assert meta["run_id"] == "old" and meta["judge"]["status"] == "complete"
    assert meta["judge"]["model"] == "fake-model" and meta["judge"]["rejected"] == {"judge": 1}
    (rejected,) = [
        json.loads(line)
        for line in out.with_name("gyaru_dataset_old-judged.rejected.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()
    ]
    assert rejected["pair"]["id"] == "old-b0001-004"
    assert rejected["detail"] == "judge: voice 1/5 (min 3): 丁寧語のまま"
    assert "6 kept, 1 rejected (judge 1), 0 not judged" in result.stdout
    # The new dataset is a dataset like any other: export and stats take it by run id.
    stats = run_client(["stats", "old-judged", "--output-dir", str(tmp_path), "--json"])
    assert stats.code == 0 and json.loads(stats.stdout)["count"] == 6


def test_a_judge_that_is_down_leaves_the_result_incomplete(tmp_path: Path) -> None:
    old_dataset(tmp_path, load_settings())
    out = tmp_path / "graded.json"
    with FakeServer(judge_script=["503"] * 4) as server:
        result = judge(
            server,
            tmp_path,
            "old",
            "--concurrency",
            "1",
            "--out",
            str(out),
            "--judge-prompt",
            str(JUDGE_PROMPT),
            GYARU_RETRY__MAX_ATTEMPTS="2",
        )
    assert result.code == 1
    assert "Traceback" not in result.stderr
    data = read(out)
    # The first two chunks met the two 503s each; the last one was graded.
    assert data["metadata"]["judge"]["status"] == "incomplete"
    assert data["metadata"]["judge"]["unjudged"] == 6 and len(data["pairs"]) == 1
    warning = result.event("judged in part: run it again to grade every pair")
    assert [c["reason"] for c in warning["failed_chunks"]] == ["http_503", "http_503"]


def test_one_personas_pairs_are_not_judged_with_anothers_prompt(tmp_path: Path) -> None:
    ojousama = load_settings(persona="ojousama")
    old_dataset(tmp_path, ojousama, run_id="ojo")
    with FakeServer() as server:
        refused = judge(server, tmp_path, "ojo")
        assert refused.code == 2
        assert "made for the persona 'お嬢様'" in refused.error
        fine = run_client(
            [
                "judge",
                "ojo",
                "--persona",
                "ojousama",
                "--base-url",
                server.base_url,
                "--output-dir",
                str(tmp_path),
                "--log-format",
                "json",
            ]
        )
        (request,) = server.judge_requests
    assert fine.code == 0, fine.stderr
    assert "お嬢様" in request.body["messages"][0]["content"]


def test_a_judge_prompt_that_moved_asks_for_the_persona(tmp_path: Path) -> None:
    """Datasets made before personas were folders name prompts/ojousama_judge_prompt.txt."""
    path = old_dataset(tmp_path, load_settings(persona="ojousama"), run_id="moved")
    data = json.loads(path.read_text(encoding="utf-8"))
    data["metadata"]["config"]["judge"] = {"prompt_path": "prompts/ojousama_judge_prompt.txt"}
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with FakeServer() as server:
        refused = judge(server, tmp_path, "moved")
        assert refused.code == 2
        assert refused.error.endswith(
            "was judged with prompts/ojousama_judge_prompt.txt, which is not there any more: "
            "pass its persona with --persona NAME (or --judge-prompt FILE)"
        )
        fine = judge(server, tmp_path, "moved", "--persona", "ojousama")
        requests = server.judge_requests
    assert fine.code == 0, fine.stderr
    assert len(requests) == 3  # 7 pairs, 3 a request
    assert all("「わたくし」" in r.body["messages"][0]["content"] for r in requests)


def test_the_source_is_never_overwritten(tmp_path: Path) -> None:
    source = old_dataset(tmp_path, load_settings())
    with FakeServer() as server:
        result = judge(server, tmp_path, str(source), "--out", str(source))
    assert result.code == 2 and "that is the source dataset" in result.error


def test_generate_judges_by_default_and_the_flags_reach_the_judge(tmp_path: Path) -> None:
    grader = grade_pair(2, naturalness=1, reason="文が途中で切れている")
    with FakeServer(latency_s=0.05, judge_grader=grader, judge_script=["broken"]) as server:
        judged = run_client(
            gen_args(server.base_url, tmp_path, "--batches", "3", "--pairs-per-batch", "4")
        )
        assert len(server.judge_requests) == 4  # one per batch, one retry of the broken reply
        assert server.max_in_flight <= 4
    assert judged.code == 0, judged.stderr
    assert "rejected" in judged.stdout and "judge 3" in judged.stdout
    data = read(tmp_path / "processed" / "gyaru_dataset_r1.json")
    assert len(data["pairs"]) == 9 and all("judge" in p for p in data["pairs"])

    with FakeServer() as server:
        skipped = run_client(gen_args(server.base_url, tmp_path, "--no-judge", run_id="r2"))
        assert not server.judge_requests and server.chat_requests
    assert skipped.code == 0, skipped.stderr

    with FakeServer(model="judge-m") as judge_server, FakeServer() as server:
        other = run_client(
            gen_args(
                server.base_url,
                tmp_path,
                "--batches",
                "1",
                "--judge-base-url",
                judge_server.base_url,
                run_id="r3",
            )
        )
        assert not server.judge_requests
        (request,) = judge_server.judge_requests
    assert other.code == 0, other.stderr
    assert request.body["model"] == "judge-m"


def test_an_input_run_judges_each_line_once_and_a_judge_rejection_settles_it(
    tmp_path: Path,
) -> None:
    lines = ["今日は晴れです。", "駅前にカフェができました。", "新しいゲームを買いました。"]
    source = tmp_path / "in.txt"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = ["--input", str(source), "--pairs-per-batch", "2"]
    grader = grade_when("駅前", meaning=1, reason="場所が抜けている")
    with FakeServer(judge_grader=grader, judge_script=["503"] * 4) as server:
        first = run_client(
            gen_args(server.base_url, tmp_path, *args), GYARU_RETRY__MAX_ATTEMPTS="2"
        )
        assert first.code == 1 and len(server.chat_requests) == 2
        # The judge was down for both batches: nothing reached the dataset.
        assert read(tmp_path / "processed" / "gyaru_dataset_r1.json")["pairs"] == []
        second = run_client(gen_args(server.base_url, tmp_path, *args))
        # Resumed: judged, and no line was sent to be rewritten again.
        assert len(server.chat_requests) == 2 and len(server.judge_requests) == 6
    assert second.code == 0, second.stderr
    data = read(tmp_path / "processed" / "gyaru_dataset_r1.json")
    assert [p["standard"] for p in data["pairs"]] == [lines[0], lines[2]]
    inputs = data["metadata"]["summary"]["inputs"]
    assert inputs["rejected"] == {"judge": 1} and inputs["pending"] == 0
    records = [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((tmp_path / "raw" / "r1").glob("batch_*.json"))
    ]
    (rejection,) = [r for rec in records for r in rec["rejected"]]
    assert rejection["reason"] == "judge" and rejection["input"]["line"] == 2
