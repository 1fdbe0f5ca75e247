"""run.judge (respx): one request per batch, retries, unreadable replies, a judge that is down."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import respx

from client.config import JudgeConfig, Settings
from client.pairs.judge import REJECTED, RETRY_TEMPERATURE, UNREADABLE
from client.pairs.judge_outcome import JudgeOutcome
from client.pairs.judge_request import SCHEMA_NAME, JudgePrompt
from client.run.attempts import AttemptLoop
from client.run.job import endpoint_pool, retry_policy
from client.run.judge import JudgeStage, remedies
from tests.helpers import BASE_URL, MODEL, REPO, vllm_error
from tests.judgefake import grade_when, judge_response


@dataclass(frozen=True)
class Item:
    topic: str
    standard: str
    gyaru: str


PAIRS = [
    Item(
        "Gaming", "ランクマッチで三連勝しました。", "ランクマで三連敗とかマジ萎える〜、あーし無理"
    ),
    Item("Daily", "今日は雨が降っています。", "今日雨じゃん、あーしマジ萎える〜"),
    Item("Tech", "新しいスマホを買いました。", "新しいスマホ買った！あーしテンション上がる〜"),
]


def stage(settings: Settings, config: JudgeConfig | None = None) -> JudgeStage:
    persona = settings.persona
    pool = endpoint_pool(settings, None, capacity=settings.generation.concurrency)
    return JudgeStage(
        attempts=AttemptLoop(pool=pool, policy=retry_policy(settings), run_id="r"),
        model=MODEL,
        prompt=JudgePrompt.load(
            REPO / "personas" / "gyaru" / "judge_prompt.txt",
            persona_name=persona.name,
            first_person=persona.first_person,
            topics=persona.topics,
        ),
        config=config or JudgeConfig(),
        structured_output=settings.generation.structured_output,
    )


def mock_tokenize(router: respx.MockRouter, count: int = 1500, context: int = 8192) -> None:
    router.post(f"{BASE_URL.removesuffix('/v1')}/tokenize").mock(
        return_value=httpx.Response(200, json={"count": count, "max_model_len": context})
    )


async def judge(
    settings: Settings,
    chat: Callable[[httpx.Request], Any],
    *,
    config: JudgeConfig | None = None,
    pairs: list[Item] = PAIRS,
    prompt_tokens: int = 1500,
) -> tuple[JudgeOutcome, list[dict[str, Any]]]:
    bodies: list[dict[str, Any]] = []

    def record(request: httpx.Request) -> Any:
        bodies.append(json.loads(request.content))
        return chat(request)

    judge_stage = stage(settings, config)
    with respx.mock(assert_all_called=False) as router:
        mock_tokenize(router, prompt_tokens)
        router.post(f"{BASE_URL}/chat/completions").side_effect = record
        try:
            outcome = await judge_stage.judge(1, pairs)
        finally:
            await judge_stage.attempts.pool.aclose()
    return outcome, bodies


def scripted(*replies: Callable[[httpx.Request], Any]) -> Callable[[httpx.Request], Any]:
    queue = list(replies)

    def reply(request: httpx.Request) -> Any:
        return queue.pop(0)(request) if len(queue) > 1 else queue[0](request)

    return reply


async def test_one_request_grades_the_whole_batch(make_settings: Callable[..., Settings]) -> None:
    outcome, bodies = await judge(make_settings(), judge_response)
    assert outcome.judged and outcome.attempts == 1
    assert [v.kept for v in outcome.verdicts] == [True, True, True]
    assert all(v.grades is not None and v.grades.meaning == 5 for v in outcome.verdicts)
    (body,) = bodies
    assert body["model"] == MODEL
    assert body["response_format"]["json_schema"]["name"] == SCHEMA_NAME
    assert body["temperature"] == 0.0
    assert body["max_tokens"] == 32 + 3 * 120
    assert body["messages"][1]["content"].startswith("次の3組を採点してください")
    assert outcome.to_json()["kept"] == 3 and outcome.to_json()["error"] is None


async def test_the_reply_budget_fits_what_the_context_leaves(
    make_settings: Callable[..., Settings],
) -> None:
    # 8,100 of 8,192 tokens taken by the prompt: asking for 392 would be refused.
    outcome, bodies = await judge(make_settings(), judge_response, prompt_tokens=8100)
    assert outcome.judged and bodies[0]["max_tokens"] == 92


async def test_a_prompt_that_cannot_fit_is_not_sent(
    make_settings: Callable[..., Settings],
) -> None:
    outcome, bodies = await judge(make_settings(), judge_response, prompt_tokens=8180)
    assert not bodies
    assert outcome.status == "failed" and outcome.error_reason == "fatal"
    assert "judge fewer pairs at once (--pairs-per-batch)" in (outcome.error_message or "")


async def test_bad_grades_reject_those_pairs_with_the_judges_words(
    make_settings: Callable[..., Settings],
) -> None:
    grader = grade_when("三連敗", meaning=1, reason="三連勝が三連敗に変わっている")
    outcome, _ = await judge(make_settings(), lambda r: judge_response(r, grader=grader))
    first, *rest = outcome.verdicts
    assert (first.reason, first.detail) == (
        REJECTED,
        "judge: meaning 1/5 (min 4): 三連勝が三連敗に変わっている",
    )
    assert all(v.kept for v in rest)


async def test_thresholds_come_from_the_config(make_settings: Callable[..., Settings]) -> None:
    grader = grade_when("三連敗", meaning=1)
    outcome, _ = await judge(
        make_settings(),
        lambda r: judge_response(r, grader=grader),
        config=JudgeConfig(min_meaning=1),
    )
    assert all(v.kept for v in outcome.verdicts)


async def test_broken_json_is_retried_with_sampling(make_settings: Callable[..., Settings]) -> None:
    outcome, bodies = await judge(
        make_settings(), scripted(lambda r: judge_response(r, "broken"), judge_response)
    )
    assert outcome.judged and outcome.attempts == 2
    assert all(v.kept for v in outcome.verdicts)
    assert [b["temperature"] for b in bodies] == [0.0, RETRY_TEMPERATURE]
    (failure,) = outcome.failures
    assert failure.reason == "no_json"
    assert "2 of 3 pairs without grades" in failure.message


async def test_a_reply_that_never_grades_every_pair_leaves_the_rest_waiting(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(retry={"max_content_attempts": 2})
    outcome, bodies = await judge(settings, lambda r: judge_response(r, "short"))
    assert len(bodies) == 2
    # The grades that name their pair decide; the pair without grades has no verdict.
    assert outcome.status == "unreadable" and outcome.graded and not outcome.judged
    kept, kept2, last = outcome.verdicts
    assert kept is not None and kept.kept and kept2 is not None and kept2.kept
    assert last is None
    assert (outcome.kept, outcome.rejected, outcome.awaiting) == (2, 0, 1)
    error = outcome.to_json()["error"]
    assert error["reason"] == UNREADABLE
    assert (
        error["message"]
        == "1 of 3 pairs without grades (first: judge reply: no grades for this pair)"
    )


@pytest.mark.parametrize("action", ["prose", "outofrange"])
async def test_unreadable_grades_are_no_verdict(
    make_settings: Callable[..., Settings], action: str
) -> None:
    settings = make_settings(retry={"max_content_attempts": 1})
    outcome, _ = await judge(settings, lambda r: judge_response(r, action))
    assert outcome.status == "unreadable" and outcome.verdicts == [None, None, None]


async def test_grades_without_numbers_are_placed_only_when_there_is_one_per_pair(
    make_settings: Callable[..., Settings],
) -> None:
    def unnumbered_short(request: httpx.Request) -> httpx.Response:
        body = json.loads(judge_response(request, "short").content)
        doc = json.loads(body["choices"][0]["message"]["content"])
        for grade in doc["grades"]:
            del grade["pair"]
        body["choices"][0]["message"]["content"] = json.dumps(doc, ensure_ascii=False)
        return httpx.Response(200, json=body)

    settings = make_settings(retry={"max_content_attempts": 1})
    outcome, _ = await judge(settings, unnumbered_short)
    # Two grades naming no pair for three pairs: which is which cannot be told.
    assert outcome.verdicts == [None, None, None]
    assert "2 grades for 3 pairs, not all naming their pair" in (outcome.error_message or "")


async def test_a_judge_that_times_out_fails_only_its_step(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(retry={"max_attempts": 3})

    def timeout(request: httpx.Request) -> Any:
        raise httpx.ReadTimeout("timed out", request=request)

    outcome, bodies = await judge(settings, timeout)
    assert len(bodies) == 3
    assert outcome.status == "failed" and not outcome.verdicts
    assert outcome.error_reason == "timeout"
    assert outcome.to_json()["error"]["reason"] == "timeout"


async def test_a_refused_judge_request_is_not_retried(
    make_settings: Callable[..., Settings],
) -> None:
    outcome, bodies = await judge(
        make_settings(), lambda r: vllm_error(400, "response_format is not supported")
    )
    assert len(bodies) == 1
    assert outcome.status == "failed" and outcome.error_status == 400
    assert "response_format is not supported" in (outcome.error_message or "")


async def test_a_server_error_then_grades(make_settings: Callable[..., Settings]) -> None:
    outcome, bodies = await judge(
        make_settings(), scripted(lambda r: vllm_error(503, "busy"), judge_response)
    )
    assert outcome.judged and len(bodies) == 2
    assert [f.reason for f in outcome.failures] == ["http_503"]


async def test_without_structured_output_there_is_no_schema(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(generation={"structured_output": False})
    outcome, (body,) = await judge(settings, lambda r: judge_response(r, "strings"))
    assert "response_format" not in body
    assert outcome.judged and all(v.kept for v in outcome.verdicts)


async def test_judge_requests_share_the_concurrency_bound(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(generation={"concurrency": 2})
    judge_stage = stage(settings)
    state = {"now": 0, "max": 0}

    async def slow(request: httpx.Request) -> httpx.Response:
        state["now"] += 1
        state["max"] = max(state["max"], state["now"])
        try:
            await asyncio.sleep(0.02)
        finally:
            state["now"] -= 1
        return judge_response(request)

    with respx.mock() as router:
        mock_tokenize(router)
        router.post(f"{BASE_URL}/chat/completions").side_effect = slow
        try:
            outcomes = await asyncio.gather(*(judge_stage.judge(i, PAIRS) for i in range(6)))
        finally:
            await judge_stage.attempts.pool.aclose()
    assert all(o.judged for o in outcomes)
    assert state["max"] == 2


async def run_batches(
    judge_stage: JudgeStage, chat: Callable[[httpx.Request], Any], batches: int
) -> tuple[list[JudgeOutcome], int]:
    """`batches` judge steps one after another; the outcomes and the requests sent."""
    with respx.mock(assert_all_called=False) as router:
        mock_tokenize(router)
        route = router.post(f"{BASE_URL}/chat/completions")
        route.side_effect = chat
        try:
            outcomes = [await judge_stage.judge(batch, PAIRS) for batch in range(1, batches + 1)]
        finally:
            await judge_stage.attempts.pool.aclose()
    return outcomes, route.call_count


async def test_three_batches_in_a_row_it_cannot_read_stop_the_judge(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(retry={"max_content_attempts": 1})
    told: list[str] = []
    judge_stage = stage(settings)
    judge_stage.on_stop = told.append
    judge_stage.advice = "try another model"
    outcomes, calls = await run_batches(judge_stage, lambda r: judge_response(r, "prose"), 5)
    assert [o.status for o in outcomes] == ["unreadable"] * 3 + ["stopped"] * 2
    assert calls == 3 and judge_stage.stopped
    (message,) = told
    assert message.startswith(f"the judge ({MODEL}) could not be read in 3 batches in a row")
    assert "nothing more is sent to it. To have the pairs graded: try another model" in message
    stopped = outcomes[-1].to_json()
    assert stopped["error"]["reason"] == "judge_stopped" and stopped["attempts"] == 0


async def test_a_reply_read_in_full_resets_the_count_and_a_judge_down_does_not_count(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(retry={"max_content_attempts": 1, "max_attempts": 1})
    replies = iter(["prose", "prose", "ok", "prose", "503", "prose", "prose"])

    def chat(request: httpx.Request) -> httpx.Response:
        action = next(replies)
        return vllm_error(503, "down") if action == "503" else judge_response(request, action)

    judge_stage = stage(settings)
    judge_stage.on_stop = lambda message: None
    outcomes, calls = await run_batches(judge_stage, chat, 7)
    assert [o.status for o in outcomes] == [
        "unreadable", "unreadable", "judged", "unreadable", "failed", "unreadable", "unreadable",
    ]  # fmt: skip
    # The third unreadable reply since the one read in full is the seventh: it stops now.
    assert calls == 7 and judge_stage.stopped


def test_the_remedies_follow_the_settings_in_force() -> None:
    default = remedies(JudgeConfig(), structured_output=True, flags=True, no_judge=True)
    assert default == (
        "a judge model that follows the grading format (--judge-model NAME); "
        "a judge server of its own (--judge-base-url URL); "
        "a server that honours structured output (vLLM with guided decoding: this one does "
        "not hold the reply to the schema); "
        "or --no-judge, which lets the waiting pairs into the dataset unjudged"
    )
    config = JudgeConfig(model="small", base_url="http://judge:8000/v1")
    told = remedies(config, structured_output=False, flags=False, no_judge=False)
    assert told == (
        "another judge model (--judge-model NAME; now small); "
        "another judge server (--judge-base-url URL; now http://judge:8000/v1); "
        "structured output, which holds the reply to the grading schema "
        "(generation.structured_output: true)"
    )
    assert "(--structured-output)" in remedies(
        config, structured_output=False, flags=True, no_judge=True
    )
