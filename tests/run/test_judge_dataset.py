"""run.judge_dataset (respx): an existing dataset graded in chunks, in order."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import respx

from client.config import Settings
from client.pairs.judge import REJECTED, UNREADABLE
from client.pairs.judge_request import DictPair
from client.run.judge_dataset import JudgedDataset, judge_in_chunks, judged_dataset
from tests.helpers import BASE_URL, vllm_error
from tests.judgefake import grade_when, is_judge_request, judge_response
from tests.run.test_judge_stage import mock_tokenize, stage


def dataset_pairs(n: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"old-{i}",
            "topic": "Daily",
            "standard": f"{i}番目の文です。",
            "gyaru": f"{i}番目の文なんだけど、あーし的にマジ大事〜",
            "quality": 0.5,
        }
        for i in range(n)
    ]


async def grade(
    settings: Settings, pairs: list[dict[str, Any]], chat: Callable[[httpx.Request], Any]
) -> tuple[JudgedDataset, int]:
    judge_stage = stage(settings)
    with respx.mock() as router:
        mock_tokenize(router)
        route = router.post(f"{BASE_URL}/chat/completions")
        route.side_effect = chat
        try:
            verdicts, failures = await judge_in_chunks(
                judge_stage, [DictPair(p) for p in pairs], size=3, workers=2
            )
        finally:
            await judge_stage.attempts.pool.aclose()
    return judged_dataset(pairs, verdicts, failures), route.call_count


async def test_kept_pairs_carry_their_grades_in_source_order(
    make_settings: Callable[..., Settings],
) -> None:
    grader = grade_when("4番目", voice=1, reason="丁寧語のまま")
    result, calls = await grade(
        make_settings(), dataset_pairs(8), lambda r: judge_response(r, grader=grader)
    )
    assert calls == 3
    assert result.complete
    assert [p["id"] for p in result.kept] == [f"old-{i}" for i in range(8) if i != 4]
    assert result.kept[0]["judge"]["meaning"] == 5 and result.kept[0]["quality"] == 0.5
    (rejected,) = result.rejected
    assert rejected["pair"]["id"] == "old-4"
    assert (rejected["reason"], rejected["detail"]) == (
        REJECTED,
        "judge: voice 1/5 (min 3): 丁寧語のまま",
    )
    assert result.reasons == {REJECTED: 1}


async def test_a_chunk_the_judge_could_not_grade_is_left_out_and_named(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(retry={"max_attempts": 2, "max_content_attempts": 1})

    def chat(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert is_judge_request(body)
        text = body["messages"][1]["content"]
        if "0番目" in text:
            return vllm_error(503, "judge is down")
        if "3番目" in text:
            return judge_response(request, "prose")
        return judge_response(request)

    result, _ = await grade(settings, dataset_pairs(7), chat)
    # A chunk whose server was down and one whose reply could not be read: no verdicts.
    assert not result.complete and result.unjudged == 6
    down, unreadable = result.failed_chunks
    assert (down["chunk"], down["pairs"], down["reason"]) == (1, 3, "http_503")
    assert (unreadable["chunk"], unreadable["pairs"], unreadable["reason"]) == (2, 3, UNREADABLE)
    assert "the judge's reply holds no grades" in unreadable["message"]
    assert result.reasons == {} and result.rejected == []
    assert [p["id"] for p in result.kept] == ["old-6"]
