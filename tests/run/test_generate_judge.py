"""generate with the judge (respx): grades in the raw files and the dataset, rejections
with the judge's words, a judge that is down, resume, --no-judge, another server."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from client.config import Settings
from client.pairs.judge import REJECTED
from client.run.autoconc import AutoConcurrency, Signals
from client.run.generate import generate
from client.run.summary import RunSummary
from client.run.tuner import EndpointTuner
from tests.helpers import BASE_URL, generation_calls, mock_vllm, vllm_error
from tests.judgefake import grade_pair, is_judge_request, judge_response

JUDGE_URL = "http://judge.test/v1"


async def run(settings: Settings, run_id: str = "j1") -> RunSummary:
    return await generate(settings, api_key=None, run_id=run_id, argv=["generate"])


def raw(tmp_path: Path, run_id: str = "j1") -> list[dict[str, Any]]:
    return [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((tmp_path / "outputs" / "raw" / run_id).glob("batch_*.json"))
    ]


def dataset(tmp_path: Path, run_id: str = "j1") -> dict[str, Any]:
    path = tmp_path / "outputs" / "processed" / f"gyaru_dataset_{run_id}.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def judge_calls(route: respx.Route) -> int:
    return sum(is_judge_request(json.loads(c.request.content)) for c in route.calls)


async def test_the_judge_grades_every_batch_and_its_grades_travel(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    # The judge turns down the 4th pair of every batch for its meaning.
    grader = grade_pair(4, meaning=2, reason="数が変わっている")
    async with respx.mock(assert_all_called=False) as router:
        route = mock_vllm(router, judge=lambda r: judge_response(r, grader=grader))
        summary = await run(make_settings())
    assert summary.status == "complete" and summary.exit_code == 0
    assert judge_calls(route) == 4 and generation_calls(route) == 4
    for record in raw(tmp_path):
        assert record["judge"]["status"] == "judged"
        assert (record["judge"]["kept"], record["judge"]["rejected"]) == (4, 1)
        assert all(p["judge"]["meaning"] == 5 for p in record["accepted"])
        (rejection,) = record["rejected"]
        assert rejection["index"] == 3 and rejection["reason"] == REJECTED
        assert rejection["detail"] == "judge: meaning 2/5 (min 4): 数が変わっている"
        assert rejection["item"]["judge"]["meaning"] == 2
        assert len(record["dedup"]["keys"]) == 4
    data = dataset(tmp_path)
    assert len(data["pairs"]) == 16
    assert all(set(p["judge"]) >= {"meaning", "voice", "reason"} for p in data["pairs"])
    assert data["metadata"]["summary"]["rejections"] == {REJECTED: 4}
    assert data["metadata"]["config"]["judge"]["min_meaning"] == 4
    assert summary.stats.pairs_unique == 16


async def test_no_judge_keeps_what_the_checks_pass(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    async with respx.mock(assert_all_called=False) as router:
        route = mock_vllm(router)
        summary = await run(make_settings(judge={"enabled": False}))
    assert summary.stats.pairs_unique == 20 and judge_calls(route) == 0
    assert all(r["judge"] is None for r in raw(tmp_path))
    assert all("judge" not in p for p in dataset(tmp_path)["pairs"])


async def test_a_judge_that_is_down_fails_only_its_step_and_resume_judges(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(retry={"max_attempts": 2})
    async with respx.mock(assert_all_called=False) as router:
        route = mock_vllm(router, judge=lambda r: vllm_error(503, "judge overloaded"))
        first = await run(settings)
        assert generation_calls(route) == 4
        assert first.status == "incomplete" and first.exit_code == 1
        assert first.resume_command is not None and "--run-id j1" in first.resume_command
        assert first.stats.batches_awaiting_judge == 4
        assert first.stats.pairs_awaiting_judge == 20 and first.stats.pairs_unique == 0
        records = raw(tmp_path)
        assert all(r["status"] == "ok" and r["judge"]["status"] == "failed" for r in records)
        assert all(r["judge"]["error"]["reason"] == "http_503" for r in records)
        assert all(len(r["accepted"]) == 5 for r in records)  # nothing generated is lost
        assert dataset(tmp_path)["pairs"] == []

    async with respx.mock(assert_all_called=False) as router:
        route = mock_vllm(router)
        second = await run(settings)
        # Judged, not generated again.
        assert generation_calls(route) == 0 and judge_calls(route) == 4
    assert second.status == "complete" and second.stats.pairs_unique == 20
    assert all(r["judge"]["status"] == "judged" for r in raw(tmp_path))
    assert all("judge" in p for p in dataset(tmp_path)["pairs"])


async def test_batches_made_without_the_judge_are_judged_when_it_is_turned_on(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    grader = grade_pair(1, safety=1, reason="悪口")
    async with respx.mock(assert_all_called=False) as router:
        mock_vllm(router)
        await run(make_settings(judge={"enabled": False}))
    async with respx.mock(assert_all_called=False) as router:
        route = mock_vllm(router, judge=lambda r: judge_response(r, grader=grader))
        summary = await run(make_settings())
        assert generation_calls(route) == 0 and judge_calls(route) == 4
    assert summary.stats.pairs_unique == 16
    assert summary.stats.rejections == {REJECTED: 4}
    manifest = json.loads(
        (tmp_path / "outputs" / "raw" / "j1" / "manifest.json").read_text(encoding="utf-8")
    )
    assert {b["judge"] for b in manifest["batches"].values()} == {"judged"}


async def test_a_broken_judge_reply_is_retried_then_its_ungraded_pairs_wait(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(generation={"total_batches": 1}, retry={"max_content_attempts": 2})
    async with respx.mock(assert_all_called=False) as router:
        route = mock_vllm(router, judge=lambda r: judge_response(r, "broken"))
        summary = await run(settings)
    assert judge_calls(route) == 2
    (record,) = raw(tmp_path)
    assert record["judge"]["status"] == "unreadable" and record["judge"]["attempts"] == 2
    assert (record["judge"]["kept"], record["judge"]["awaiting"]) == (1, 4)
    # The cut reply graded its first pair; the others wait for the judge, not rejected.
    assert [("judge" in p) for p in record["accepted"]] == [True, False, False, False, False]
    assert record["rejected"] == [] and len(record["dedup"]["keys"]) == 5
    assert summary.status == "incomplete" and summary.exit_code == 1
    assert summary.resume_command is not None
    stats = summary.stats
    assert (stats.pairs_unique, stats.pairs_awaiting_judge) == (1, 4)
    assert stats.awaiting_judge == {"unreadable": 4} and stats.rejections == {}
    assert summary.live.judge_retries == 1 and summary.live.retries == 0

    async with respx.mock(assert_all_called=False) as router:
        route = mock_vllm(router)
        second = await run(settings)
        (request,) = [c.request for c in route.calls]
    # Only the four waiting pairs go to the judge again; nothing is generated.
    assert "次の4組を採点してください" in json.loads(request.content)["messages"][1]["content"]
    assert second.status == "complete" and second.stats.pairs_unique == 5
    assert all("judge" in p for p in dataset(tmp_path)["pairs"])


async def test_the_judge_on_another_server_with_its_own_model(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(judge={"base_url": JUDGE_URL})
    async with respx.mock(assert_all_called=False) as router:
        generating = mock_vllm(router)
        judging = mock_vllm(router, base_url=JUDGE_URL, models=("judge-model",))
        summary = await run(settings)
    assert summary.status == "complete" and summary.stats.pairs_unique == 20
    assert judge_calls(generating) == 0 and generation_calls(judging) == 0
    bodies = [json.loads(c.request.content) for c in judging.calls]
    assert len(bodies) == 4 and {b["model"] for b in bodies} == {"judge-model"}
    assert {r["judge"]["model"] for r in raw(tmp_path)} == {"judge-model"}


async def test_a_judge_server_down_at_the_start_does_not_stop_generation(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(judge={"base_url": JUDGE_URL}, retry={"max_attempts": 1})

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with respx.mock(assert_all_called=False) as router:
        mock_vllm(router)
        router.route(host="judge.test").side_effect = refuse
        summary = await run(settings)
    assert summary.status == "incomplete"
    assert summary.stats.batches_awaiting_judge == 4
    assert {r["judge"]["error"]["reason"] for r in raw(tmp_path)} == {"connection"}


JUDGE_TOKENS = 777


async def test_under_auto_the_tuner_counts_the_judges_requests(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--concurrency auto without /metrics tunes from the client's own signals: the
    judge's requests are in its rate (their tokens) and in its in-flight count, as
    generation's are, or it would climb on a server the judge keeps busy."""
    tuners: list[EndpointTuner] = []
    replies: list[int] = []  # the tokens of every reply the tuner was told of
    observed: list[Signals] = []
    tuner_init, tuner_finished = EndpointTuner.__init__, EndpointTuner.finished
    observe = AutoConcurrency.observe

    def init(self: EndpointTuner, **kwargs: Any) -> None:
        tuner_init(self, **kwargs)
        tuners.append(self)

    def finished(self: EndpointTuner, *, started: float, finished: float, tokens: int) -> None:
        replies.append(tokens)
        tuner_finished(self, started=started, finished=finished, tokens=tokens)

    def observing(self: AutoConcurrency, now: float, signals: Signals) -> int:
        observed.append(signals)
        return observe(self, now, signals)

    monkeypatch.setattr(EndpointTuner, "__init__", init)
    monkeypatch.setattr(EndpointTuner, "finished", finished)
    monkeypatch.setattr(AutoConcurrency, "observe", observing)
    in_flight_while_judging: list[int] = []

    async def judge(request: httpx.Request) -> httpx.Response:
        # A tick of the tuner while the judge's request is out: what it counts in flight.
        await tuners[0].tick()
        in_flight_while_judging.append(observed[-1].in_flight)
        body = json.loads(judge_response(request).content)
        body["usage"]["completion_tokens"] = JUDGE_TOKENS
        return httpx.Response(200, json=body)

    settings = make_settings(
        generation={"concurrency": "auto", "max_concurrency": 2, "total_batches": 2}
    )
    async with respx.mock(assert_all_called=False) as router:
        # Neither a vLLM server's /metrics nor a router's /workers to read.
        root = BASE_URL.removesuffix("/v1")
        router.get(f"{root}/metrics").mock(return_value=httpx.Response(404))
        router.get(f"{root}/workers").mock(return_value=httpx.Response(404))
        route = mock_vllm(router, judge=judge)
        summary = await run(settings)
    assert summary.status == "complete"
    assert judge_calls(route) == 2 and generation_calls(route) == 2
    assert summary.concurrency["endpoints"][BASE_URL]["signals"] == "client"
    # Every reply reached the tuner: the two batches' 50 tokens and the judge's.
    assert sorted(replies) == [50, 50, JUDGE_TOKENS, JUDGE_TOKENS]
    # Ticked while a judge request was out, the tuner counted it in flight.
    assert len(in_flight_while_judging) == 2 and min(in_flight_while_judging) >= 1


def make_legacy(tmp_path: Path, batch: int, unreadable: int) -> None:
    """Rewrite a judged batch as a run made before only a readable grade was a verdict
    wrote one: its last `unreadable` pairs rejected as `judge_unreadable`."""
    path = tmp_path / "outputs" / "raw" / "j1" / f"batch_{batch:04d}.json"
    record = json.loads(path.read_text(encoding="utf-8"))
    kept, lost = record["accepted"][:-unreadable], record["accepted"][-unreadable:]
    record["accepted"] = kept
    record["rejected"] += [
        {
            "index": int(p["id"].rsplit("-", 1)[1]),
            "reason": "judge_unreadable",
            "detail": "judge reply: no grades for this pair",
            "item": {**{k: v for k, v in p.items() if k != "judge"}, "judge": None},
        }
        for p in lost
    ]
    record["dedup"]["keys"] = record["dedup"]["keys"][:-unreadable]
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")


@pytest.mark.parametrize("judge_on", [True, False], ids=["rejudged", "released"])
async def test_judge_unreadable_rejections_of_an_older_run_are_judged_or_released(
    make_settings: Callable[..., Settings], tmp_path: Path, judge_on: bool
) -> None:
    async with respx.mock(assert_all_called=False) as router:
        mock_vllm(router)
        await run(make_settings())
    make_legacy(tmp_path, 2, unreadable=3)
    make_legacy(tmp_path, 4, unreadable=5)
    settings = make_settings(judge={"enabled": judge_on})
    async with respx.mock(assert_all_called=False) as router:
        route = mock_vllm(router)
        summary = await run(settings)
        sent = [json.loads(c.request.content)["messages"][1]["content"] for c in route.calls]
    assert generation_calls(route) == 0
    # Judged again (only those pairs), or let in unjudged: no pair stays lost.
    assert sorted(s.split("組", 1)[0] for s in sent) == (["次の3", "次の5"] if judge_on else [])
    assert summary.status == "complete" and summary.stats.pairs_unique == 20
    assert summary.stats.rejections == {}
    pairs = dataset(tmp_path)["pairs"]
    assert sum(p.get("unjudged", False) for p in pairs) == (0 if judge_on else 8)
