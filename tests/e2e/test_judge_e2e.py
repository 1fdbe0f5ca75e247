"""The judge against the real vLLM server (CPU, tiny random model).

The random model's grades mean nothing: these tests prove that vLLM accepts the
judge's JSON schema (pair numbers pinned with prefixItems/const, grades as enums, a
reason with a line pattern) through guided decoding, that its replies parse into
grades, and that whatever the model does ends as grades or a recorded reason, never
a crash. They use the shipped judge prompt, which with this model's tokenizer takes
about 3,300 of the 4,096 context tokens: the reply budget is cut to what is left.

The other tests of this tier generate with --no-judge: they are about generation,
and a random judge would turn their counts into chance. Here the thresholds are set
to 1 where a test needs the pairs kept.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import gen_args, run_client
from tests.e2e.conftest import API_KEY, NO_PAIR_CHECKS
from tests.e2e.vllm_server import ServerInfo

pytestmark = pytest.mark.e2e

ACCEPT_ALL = {
    "GYARU_JUDGE__MIN_MEANING": "1",
    "GYARU_JUDGE__MIN_VOICE": "1",
    "GYARU_JUDGE__MIN_NATURALNESS": "1",
    "GYARU_JUDGE__MIN_SAFETY": "1",
    "GYARU_JUDGE__REQUIRE_TOPIC": "false",
}


def records(out: Path, run_id: str) -> list[dict[str, Any]]:
    return [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((out / "raw" / run_id).glob("batch_*.json"))
    ]


def judged(out: Path, run_id: str, *args: str, base_url: str, **env: str) -> Any:
    # The pair checks would reject the random model's nonsense before the judge sees it.
    return run_client(
        gen_args(base_url, out, *args, run_id=run_id),
        timeout=300,
        VLLM_API_KEY=API_KEY,
        **(NO_PAIR_CHECKS | env),
    )


def test_the_judge_schema_is_accepted_and_its_replies_parse(
    vllm: ServerInfo, tmp_path: Path
) -> None:
    result = judged(
        tmp_path,
        "j1",
        "--batches",
        "2",
        "--pairs-per-batch",
        "2",
        base_url=vllm.base_url,
        **ACCEPT_ALL,
    )
    assert "Traceback" not in result.stderr
    raw = [r for r in records(tmp_path, "j1") if r["accepted"] or r["rejected"]]
    assert raw, result.stderr
    graded = 0
    for record in raw:
        judge = record["judge"]
        # vLLM took the schema: no attempt was refused (400) or failed outright.
        assert judge["status"] == "judged", judge
        assert not any(f["reason"].startswith("http_") for f in judge["failures"])
        assert judge["reply"]["text"]
        for pair in record["accepted"]:
            grades = pair["judge"]
            assert set(grades) == {
                "meaning",
                "voice",
                "naturalness",
                "safety",
                "topic_ok",
                "reason",
            }
            assert all(1 <= grades[k] <= 5 for k in ("meaning", "voice", "naturalness", "safety"))
            graded += 1
        # With every threshold at 1 no readable grade can reject a pair.
        assert "judge" not in {r["reason"] for r in record["rejected"]}
    # Random but well-formed: with every threshold at 1, each readable reply keeps its pairs.
    assert graded >= 1, [r["judge"]["reply"]["text"][:200] for r in raw]
    assert result.code == 0, result.stderr
    dataset = json.loads(
        (tmp_path / "processed" / "gyaru_dataset_j1.json").read_text(encoding="utf-8")
    )
    assert dataset["pairs"] and all("judge" in p for p in dataset["pairs"])


def test_client_judge_with_the_shipped_prompt_grades_or_records_a_reason(
    vllm: ServerInfo, tmp_path: Path
) -> None:
    source = tmp_path / "old.json"
    pair = {
        "id": "old-1",
        "topic": "Daily",
        "standard": "今日は雨が降っています。",
        "gyaru": "今日雨じゃん、あーしマジ萎える〜",
    }
    source.write_text(json.dumps({"metadata": {}, "pairs": [pair]}), encoding="utf-8")
    out = tmp_path / "judged.json"
    result = run_client(
        [
            "judge",
            str(source),
            "--base-url",
            vllm.base_url,
            "--out",
            str(out),
            "--log-format",
            "json",
        ],
        timeout=300,
        VLLM_API_KEY=API_KEY,
    )
    assert "Traceback" not in result.stderr
    # The shipped prompt fits the tiny model's 4,096-token context with room for a
    # reply, and vLLM holds the reply to the schema: the step is judged, never failed
    # or unreadable. The random grades either keep the pair or reject it (`judge`).
    assert result.code == 0, result.stderr
    dataset = json.loads(out.read_text(encoding="utf-8"))
    assert dataset["metadata"]["judge"]["status"] == "complete"
    rejected = [
        json.loads(line)
        for line in (tmp_path / "judged.rejected.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert len(dataset["pairs"]) + len(rejected) == 1
    if rejected:
        # Only a readable grade is a verdict: a rejection is the judge's, never unreadable.
        assert rejected[0]["reason"] == "judge" and rejected[0]["detail"]
    else:
        assert set(dataset["pairs"][0]["judge"]) >= {"meaning", "topic_ok", "reason"}
