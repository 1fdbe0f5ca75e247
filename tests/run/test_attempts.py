"""run.attempts (respx): the one attempt loop every request kind goes through: content
retries and the parameters they change, failover with its log line, the tuner's feed,
and what the attempts come to (a RequestOutcome, never an exception)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import respx
from structlog.testing import capture_logs

from client.errors import ContentError, FatalRequestError
from client.pairs.records import Completion
from client.run.attempts import AttemptLoop, Call
from client.server.api import Endpoint
from client.server.pool import EndpointPool
from client.server.retry import RetryPolicy
from tests.helpers import chat_ok, vllm_error

A, B = "http://a.test/v1", "http://b.test/v1"
POLICY = RetryPolicy(
    max_attempts=4, max_content_attempts=3, initial_wait_s=1, max_wait_s=2, max_elapsed_s=60
)


class Shout(Call[str]):
    """A stage that wants a reply in capitals, and samples hotter after a bad one."""

    kind = "shout"

    def __init__(self, *, refuse_on: str | None = None) -> None:
        self.index = 7
        self.model = "m"
        self.messages = [{"role": "user", "content": "say it loud"}]
        self.refuse_on = refuse_on
        self.prepared_on: list[str] = []

    async def prepare(self, endpoint: Endpoint) -> None:
        self.prepared_on.append(endpoint.base_url)
        if endpoint.base_url == self.refuse_on:
            raise FatalRequestError("too long for this one", status=None)

    def params(self, content_retries: int) -> dict[str, Any]:
        return {"temperature": 0.1 * content_retries}

    def read(self, completion: Completion) -> str:
        if not completion.text.isupper():
            raise ContentError("not loud", raw_text=completion.text, finish_reason="stop")
        return completion.text


def pool(*urls: str) -> EndpointPool:
    return EndpointPool.connect(
        list(urls),
        api_key=None,
        capacity=2,
        request_timeout_s=5,
        connect_timeout_s=5,
        cooldown_s=5,
        transport="httpx",
    )


def replies(*texts: str) -> Callable[[httpx.Request], httpx.Response]:
    queue = list(texts)
    return lambda request: chat_ok(queue.pop(0) if len(queue) > 1 else queue[0])


async def test_content_retries_change_the_parameters_and_the_last_read_wins() -> None:
    p = pool(A)
    loop = AttemptLoop(pool=p, policy=POLICY, run_id="r")
    retried: list[str] = []
    with respx.mock() as router, capture_logs() as logs:
        route = router.post(f"{A}/chat/completions")
        route.side_effect = replies("quiet", "still quiet", "LOUD")
        outcome = await loop.run(Shout(), on_retry=lambda f: retried.append(f.reason))
    await p.aclose()
    temperatures = [json.loads(c.request.content)["temperature"] for c in route.calls]
    assert temperatures == [0.0, 0.1, 0.2]
    assert outcome.value == "LOUD" and outcome.error is None and outcome.attempts == 3
    assert outcome.params == {"temperature": 0.2}
    assert [f.reason for f in outcome.failures] == retried == ["no_json", "no_json"]
    assert [e["event"] for e in logs] == ["retrying shout", "retrying shout"]
    assert logs[0]["batch"] == 7 and logs[0]["run_id"] == "r"


async def test_out_of_content_retries_keeps_the_last_reply() -> None:
    p = pool(A)
    with respx.mock() as router:
        router.post(f"{A}/chat/completions").side_effect = replies("quiet")
        outcome = await AttemptLoop(pool=p, policy=POLICY, run_id="r").run(Shout())
    await p.aclose()
    assert outcome.value is None and outcome.out_of_content_retries
    assert outcome.completion is not None and outcome.completion.text == "quiet"
    assert outcome.attempts == 3 and outcome.error_reason == "no_json"
    # Every attempt is on record, the last one without a wait.
    assert [f.wait_s is None for f in outcome.failures] == [False, False, True]


async def test_a_failing_endpoint_is_taken_out_for_every_kind_and_the_tuner_hears_the_reply() -> (
    None
):
    p = pool(A, B)
    heard: list[tuple[str, int]] = []
    p.watch_replies(lambda url, completion: heard.append((url, completion.completion_tokens)))

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with respx.mock() as router, capture_logs() as logs:
        router.post(f"{A}/chat/completions").side_effect = refuse
        router.post(f"{B}/chat/completions").side_effect = replies("LOUD")
        outcome = await AttemptLoop(pool=p, policy=POLICY, run_id="r").run(Shout())
    await p.aclose()
    assert outcome.value == "LOUD"
    assert [(f.reason, f.endpoint, f.wait_s) for f in outcome.failures] == [
        ("connection", A, 0.0)  # failed over at once
    ]
    taken = [e for e in logs if e["event"] == "endpoint taken out of rotation"]
    assert [(e["endpoint"], e["batch"]) for e in taken] == [(A, 7)]
    assert heard == [(B, 50)]


async def test_a_stage_may_refuse_before_anything_is_sent() -> None:
    p = pool(A)
    call = Shout(refuse_on=A)
    with respx.mock(assert_all_called=False) as router:
        route = router.post(f"{A}/chat/completions")
        outcome = await AttemptLoop(pool=p, policy=POLICY, run_id="r").run(call)
    await p.aclose()
    assert route.call_count == 0 and call.prepared_on == [A]
    assert outcome.value is None and outcome.completion is None
    assert (outcome.attempts, outcome.error_reason, outcome.error_status) == (1, "fatal", None)


async def test_a_refused_request_is_an_outcome_with_its_status() -> None:
    p = pool(A)
    with respx.mock() as router:
        router.post(f"{A}/chat/completions").mock(return_value=vllm_error(400, "no such thing"))
        outcome = await AttemptLoop(pool=p, policy=POLICY, run_id="r").run(Shout())
    await p.aclose()
    assert outcome.attempts == 1 and outcome.error_status == 400
    assert "no such thing" in (outcome.error_message or "")
    assert p.in_flight(A) == 0
