"""`client calibrate` with the LLM judge, against the loopback server's scripted judge."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.cli_helpers import run_client
from tests.fakeserver import FakeServer
from tests.helpers import REPO

pytestmark = pytest.mark.loopback

GYARU_LABELS = REPO / "personas" / "gyaru" / "labels.jsonl"


def labels() -> list[dict[str, Any]]:
    return [json.loads(line) for line in GYARU_LABELS.read_text(encoding="utf-8").splitlines()]


def people_grader(pair: dict[str, Any]) -> dict[str, Any]:
    """A judge that agrees with the labels: it turns down every pair people call bad."""
    bad = {(i["standard"], i["gyaru"]) for i in labels() if i["label"] == "bad"}
    grades = {"meaning": 5, "voice": 5, "naturalness": 5, "safety": 5, "topic_ok": True}
    if (pair["standard"], pair["persona"]) in bad:
        grades["meaning"] = 1
    return {"pair": pair["pair"], "reason": "人の判定どおり", **grades}


def calibrate(server: FakeServer, *args: str, **env: str) -> Any:
    return run_client(
        [
            "calibrate",
            str(GYARU_LABELS),
            "--base-url",
            server.base_url,
            "--pairs-per-batch",
            "30",
            "--json",
            "--log-format",
            "json",
            *args,
        ],
        cwd=REPO,
        **env,
    )


def test_the_judge_is_compared_alone_and_after_the_checks() -> None:
    items = labels()
    good = sum(i["label"] == "good" for i in items)
    with FakeServer(judge_grader=people_grader) as server:
        result = calibrate(server)
        # Every labelled item went to the judge, in chunks of 30.
        assert len(server.judge_requests) == -(-len(items) // 30)
        assert not server.chat_requests
    assert result.code == 0, result.stderr
    by_name = {s["name"]: s for s in json.loads(result.stdout)["sources"]}
    judge = by_name["LLM judge"]
    assert judge["confusion"] == {
        "good": {"accepted": good, "rejected": 0},
        "bad": {"accepted": 0, "rejected": len(items) - good},
    }
    assert judge["kappa"] == 1.0 and judge["note"].startswith("fake-model")
    checks = by_name["validation with the pair checks"]
    after = by_name["validation with the pair checks, then the LLM judge"]
    # The judge only sees what the checks kept: what the checks turned down stays down.
    assert after["confusion"]["bad"]["accepted"] == 0
    assert after["confusion"]["good"]["rejected"] == checks["confusion"]["good"]["rejected"]
    reasons = {d["reason"] for d in after["disagreements"]}
    assert "judge" not in reasons


def test_without_a_server_there_is_no_judge() -> None:
    result = run_client(["calibrate", str(GYARU_LABELS), "--json"], cwd=REPO)
    assert result.code == 0, result.stderr
    assert all("judge" not in s["name"] for s in json.loads(result.stdout)["sources"])


def test_a_judge_that_cannot_grade_them_all_is_an_error() -> None:
    with FakeServer(judge_script=["503"] * 50) as server:
        result = calibrate(server, "--concurrency", "1", GYARU_RETRY__MAX_ATTEMPTS="1")
    assert result.code == 1
    assert "Traceback" not in result.stderr
    errors = [e["event"] for e in result.events if e.get("level") == "error"]
    # Each chunk's failure is logged as it happens; the last line says what it means.
    assert errors[-1].startswith(f"the judge could not grade {len(labels())} of {len(labels())}")
    assert "HTTP 503" in errors[-1]
