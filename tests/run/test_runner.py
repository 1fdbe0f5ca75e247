"""runner (respx): the concurrency bound, retries, failure isolation, target mode."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from client.config import Settings
from client.pairs.records import BatchResult
from client.run.job import Job
from client.run.progress import LiveStats, QuietObserver
from client.run.schedule import TargetGate, schedule
from tests.helpers import MODEL, chat_ok, default_chat, mock_vllm, pairs_doc, vllm_error


async def run_all(
    settings: Settings, *, gate: TargetGate | None = None, limit: int | None = None
) -> list[BatchResult]:
    job = Job.from_settings(settings)
    pool = job.pool(None)
    runner = job.runner(
        pool,
        job.template(MODEL),
        run_id="r",
        observer=QuietObserver(LiveStats(batches_planned=0)),
    )
    plan = job.plan(7, limit=limit or settings.generation.total_batches)
    results: list[BatchResult] = []

    async def on_result(result: BatchResult) -> int:
        results.append(result)
        return len(result.accepted)

    try:
        await schedule(
            plan.specs(), pool=pool, run_batch=runner.run, on_result=on_result, gate=gate
        )
    finally:
        await pool.aclose()
    return sorted(results, key=lambda r: r.spec.index)


def slow_chat(state: dict[str, int], delay: float = 0.05) -> Callable[[httpx.Request], Any]:
    async def handler(request: httpx.Request) -> httpx.Response:
        state["now"] += 1
        state["max"] = max(state["max"], state["now"])
        try:
            await asyncio.sleep(delay)
        finally:
            state["now"] -= 1
        return default_chat(request)

    return handler


@pytest.mark.parametrize("concurrency", [1, 3, 8])
async def test_concurrency_bound_is_held_and_reached(
    make_settings: Callable[..., Settings], concurrency: int
) -> None:
    state = {"now": 0, "max": 0}
    async with respx.mock(assert_all_called=False) as router:
        route = mock_vllm(router, slow_chat(state))
        results = await run_all(
            make_settings(generation={"concurrency": concurrency, "total_batches": 20})
        )
    assert state["max"] == concurrency
    assert route.call_count == 20
    assert all(r.status == "ok" for r in results)


async def test_retries_429_with_retry_after_500_and_dropped_connection(
    make_settings: Callable[..., Settings],
) -> None:
    faults = [
        vllm_error(429, "too many", {"retry-after": "2"}),
        vllm_error(500, "boom"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ]

    def chat(request: httpx.Request) -> httpx.Response:
        if faults:
            fault = faults.pop(0)
            if isinstance(fault, Exception):
                raise fault
            return fault
        return default_chat(request)

    async with respx.mock(assert_all_called=False) as router:
        route = mock_vllm(router, chat)
        results = await run_all(make_settings(generation={"concurrency": 1, "total_batches": 2}))
    assert [r.status for r in results] == ["ok", "ok"]
    assert route.call_count == 5
    first = results[0]
    assert first.attempts == 4
    assert [f.reason for f in first.failures] == ["http_429", "http_500", "connection"]
    assert first.failures[0].wait_s == 2.0  # the server's Retry-After


async def test_400_is_not_retried_and_does_not_cancel_siblings(
    make_settings: Callable[..., Settings],
) -> None:
    def chat(request: httpx.Request) -> httpx.Response:
        if "バッチ番号は2です" in request.content.decode():
            return vllm_error(400, "This model's maximum context length is 8192 tokens.")
        return default_chat(request)

    async with respx.mock(assert_all_called=False) as router:
        route = mock_vllm(router, chat)
        results = await run_all(make_settings(generation={"total_batches": 4}))
    assert route.call_count == 4
    assert [r.status for r in results] == ["ok", "failed", "ok", "ok"]
    failed = results[1]
    assert failed.attempts == 1 and failed.error_status == 400
    assert "maximum context length" in (failed.error_message or "")


async def test_retries_are_bounded(make_settings: Callable[..., Settings]) -> None:
    async with respx.mock(assert_all_called=False) as router:
        route = mock_vllm(router, lambda req: vllm_error(503, "down"))
        results = await run_all(
            make_settings(generation={"total_batches": 2}, retry={"max_attempts": 3})
        )
    assert route.call_count == 6
    assert all(r.status == "failed" and r.attempts == 3 for r in results)


async def test_no_json_is_retried_with_a_new_seed_then_recorded(
    make_settings: Callable[..., Settings],
) -> None:
    seeds: list[int] = []

    def chat(request: httpx.Request) -> httpx.Response:
        seeds.append(json.loads(request.content)["seed"])
        return chat_ok("すみません、できません。")

    async with respx.mock(assert_all_called=False) as router:
        mock_vllm(router, chat)
        results = await run_all(
            make_settings(
                generation={"total_batches": 1, "send_seed": True},
                retry={"max_content_attempts": 3},
            )
        )
    assert len(seeds) == 3 and len(set(seeds)) == 3
    (result,) = results
    assert result.status == "failed" and result.error_reason == "no_json"
    assert result.completion is not None and "できません" in result.completion.text


async def test_cut_reply_keeps_complete_items_and_is_marked_truncated(
    make_settings: Callable[..., Settings],
) -> None:
    doc = pairs_doc(5)
    cut = doc[: doc.rfind('{"topic"') + 10]
    async with respx.mock(assert_all_called=False) as router:
        mock_vllm(router, lambda req: chat_ok(cut, finish_reason="length"))
        (result,) = await run_all(make_settings(generation={"total_batches": 1}))
    assert result.status == "truncated" and len(result.accepted) == 4


async def test_requests_carry_structured_output_and_sampling(
    make_settings: Callable[..., Settings],
) -> None:
    async with respx.mock(assert_all_called=False) as router:
        route = mock_vllm(router)
        await run_all(
            make_settings(
                generation={
                    "total_batches": 2,
                    "temperature": 0.55,
                    "max_new_tokens": 1234,
                    "top_p": 0.8,
                }
            )
        )
    bodies = [json.loads(c.request.content) for c in route.calls]
    for body in bodies:
        assert (body["temperature"], body["max_tokens"], body["top_p"]) == (0.55, 1234, 0.8)
        assert body["response_format"]["type"] == "json_schema"
        assert body["messages"][0]["role"] == "system"
        # No sampling seed unless asked for: vLLM's CPU engine dies on seeded requests.
        assert "seed" not in body
    assert bodies[0]["messages"][1]["content"] != bodies[1]["messages"][1]["content"]


async def test_target_gate_stops_when_enough_pairs(make_settings: Callable[..., Settings]) -> None:
    async with respx.mock(assert_all_called=False) as router:
        route = mock_vllm(router, slow_chat({"now": 0, "max": 0}, 0.01))
        settings = make_settings(generation={"concurrency": 2})
        results = await run_all(settings, gate=TargetGate(12, num_pairs=5), limit=50)
    assert sum(len(r.accepted) for r in results) >= 12
    assert route.call_count <= 4  # 3 batches give 15 pairs; at most one more was in flight


# Replies shaped like the real vLLM server's under json_schema (docs/vllm-behaviour.md).


async def test_json_with_whitespace_between_every_token_is_parsed(
    make_settings: Callable[..., Settings],
) -> None:
    """Guided decoding allows any whitespace between JSON tokens, and a weak model uses it."""
    doc = json.loads(pairs_doc(3))
    spaced = (
        '{"pairs" \t \n  \n\t :\r\n [ \n '
        + ",\n\t\t".join(
            json.dumps(p, ensure_ascii=False).replace(":", " \t:\n ") for p in doc["pairs"]
        )
        + " \n\t]\n\t}"
    )
    async with respx.mock(assert_all_called=False) as router:
        mock_vllm(router, lambda req: chat_ok(spaced))
        (result,) = await run_all(
            make_settings(generation={"total_batches": 1, "num_pairs_per_batch": 3})
        )
    assert result.status == "ok" and len(result.accepted) == 3


async def test_json_cut_by_max_tokens_arrives_as_a_normal_200(
    make_settings: Callable[..., Settings],
) -> None:
    """vLLM returns cut-off JSON with finish_reason "length" and HTTP 200, nothing else."""
    cut = '{"pairs"\t  \n\n\n\t\t  \t\t :\r\r\r\r \t\t\t[{"topic":\t\t  \n \t\t\t\n"'
    async with respx.mock(assert_all_called=False) as router:
        route = mock_vllm(router, lambda req: chat_ok(cut, finish_reason="length"))
        (result,) = await run_all(
            make_settings(generation={"total_batches": 1}, retry={"max_content_attempts": 2})
        )
    assert route.call_count == 2
    assert result.status == "failed" and result.error_reason == "no_json"
    assert "cut at max tokens" in (result.error_message or "")


async def test_the_seed_sent_is_recorded(make_settings: Callable[..., Settings]) -> None:
    seeds: list[int] = []

    def chat(request: httpx.Request) -> httpx.Response:
        seeds.append(json.loads(request.content)["seed"])
        return chat_ok("no json here") if len(seeds) == 1 else default_chat(request)

    async with respx.mock(assert_all_called=False) as router:
        mock_vllm(router, chat)
        (result,) = await run_all(make_settings(generation={"total_batches": 1, "send_seed": True}))
    assert result.status == "ok" and result.sampling_seed == seeds[-1] != seeds[0]
