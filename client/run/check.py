"""`client check`: is the server there, what does it serve, does a completion work,
does structured output (with this project's schema) work, and can the judge grade.

Every probe calls the endpoint directly, once, with no retry and no failover: the
attempt loop would hide what one endpoint does behind another endpoint or a second
try, and check is there to say what each one does. The judge's probe is one grading
request for one known pair, with the run's own judge prompt, schema and parameters
(`run.judge.judge_params`), on the judge's server and model when judge.base_url or
judge.model name others; its first reply is what a run's first attempt would get.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from pydantic import SecretStr

from client.config import Settings
from client.errors import FatalRequestError, ModelNotServedError, RequestError
from client.pairs.judge import read_reply
from client.pairs.judge_request import JudgePrompt
from client.run.job import endpoint_pool, judge_prompt, pair_rules
from client.run.judge import judge_params
from client.server.api import Endpoint, ModelInfo
from client.server.readiness import (
    EndpointStatus,
    probe,
    resolve_model,
    wait_for_endpoints,
)


@dataclass
class EndpointCheck:
    url: str
    reachable: bool = False
    health: bool = False
    models: list[ModelInfo] = field(default_factory=list)
    model: str | None = None
    # vLLM's version from /version; None where the server does not say (not vLLM).
    vllm_version: str | None = None
    completion_s: float | None = None
    structured_s: float | None = None
    structured_ok: bool | None = None
    # The judge's probe: how long it took and whether its reply graded the pair
    # (None: not probed here, the judge off or on another server).
    judge_s: float | None = None
    judge_ok: bool | None = None
    # A row for the judge's own server (judge.base_url): only the judge is probed.
    judge_only: bool = False
    # Why the judge was not probed on this row: "off", or "on its own server".
    judge_note: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.problems


# What to change when the judge's probe reply cannot be read.
JUDGE_WAYS = (
    "try another --judge-model or --judge-base-url, structured output on a server that "
    "honours it, or --no-judge"
)


@dataclass(frozen=True)
class ProbePair:
    """The pair the judge's probe grades: plain, short, the persona's first person in it."""

    topic: str
    standard: str
    gyaru: str

    @classmethod
    def for_persona(cls, topic: str, first_person: str) -> ProbePair:
        return cls(topic, "今日は雨が降っています。", f"今日雨じゃん、{first_person}マジ萎える〜")


async def _reach(
    endpoint: Endpoint, settings: Settings, requested_model: str, result: EndpointCheck
) -> EndpointStatus | None:
    """Health, models and version; the server's status, or None (and a problem)."""
    result.health = await endpoint.health(timeout_s=settings.server.connect_timeout_s)
    status = await probe(endpoint)
    if not status.ready or status.models is None:
        result.problems.append(status.error or "no models listed")
        return None
    result.reachable = True
    result.models = status.models
    result.vllm_version = await endpoint.server_version(timeout_s=settings.server.connect_timeout_s)
    try:
        result.model = resolve_model(requested_model, [status])
    except ModelNotServedError as exc:
        result.problems.append(str(exc))
        return None
    return status


async def _check_one(
    endpoint: Endpoint, settings: Settings, requested_model: str, judge: JudgePrompt | None
) -> EndpointCheck:
    result = EndpointCheck(url=endpoint.base_url)
    status = await _reach(endpoint, settings, requested_model, result)
    if status is None or result.model is None:
        return result
    try:
        completion = await endpoint.one_token(model=result.model)
        result.completion_s = completion.latency_s
    except RequestError as exc:
        result.problems.append(f"one-token completion failed: {exc.message}")
        return result
    await _check_structured(endpoint, settings, result.model, result)
    if judge is not None and settings.judge.base_url is None:
        try:
            model = resolve_model(settings.judge.model or result.model, [status])
        except ModelNotServedError as exc:
            result.problems.append(f"judge: {exc}")
            return result
        await _check_judge(endpoint, settings, model, judge, result)
    return result


async def _check_structured(
    endpoint: Endpoint, settings: Settings, model: str, result: EndpointCheck
) -> None:
    """Structured output with the project's schema."""
    rules = pair_rules(settings)
    start = time.perf_counter()
    try:
        reply = await endpoint.chat(
            model=model,
            messages=[{"role": "user", "content": "JSONでペアを1組出力してください。"}],
            params={
                "max_tokens": 600,
                "temperature": 0.0,
                "response_format": rules.response_format(1),
            },
        )
    except FatalRequestError as exc:
        result.structured_ok = False
        result.problems.append(
            f"structured output rejected: {exc.message} (set generation.structured_output: false)"
        )
        return
    except RequestError as exc:
        result.structured_ok = False
        result.problems.append(f"structured output request failed: {exc.message}")
        return
    result.structured_s = time.perf_counter() - start
    try:
        json.loads(reply.text)
        result.structured_ok = True
    except ValueError:
        if reply.finish_reason == "length":
            # Cut by our small token budget, not broken by the server.
            result.structured_ok = True
        else:
            result.structured_ok = False
            result.problems.append("structured output reply is not valid JSON")


async def _check_judge(
    endpoint: Endpoint, settings: Settings, model: str, prompt: JudgePrompt, result: EndpointCheck
) -> None:
    """One grading request for one known pair, as a run's judge sends it; ok when its
    reply grades the pair readably, else a problem saying why it cannot grade."""
    persona, config = settings.persona, settings.judge
    pair = ProbePair.for_persona(persona.topics[0], persona.first_person)
    params = judge_params(config, 1, structured_output=settings.generation.structured_output)
    start = time.perf_counter()
    try:
        reply = await endpoint.chat(model=model, messages=prompt.messages([pair]), params=params)
    except RequestError as exc:
        result.judge_ok = False
        result.problems.append(f"judge ({model}) cannot grade: its request failed: {exc.message}")
        return
    result.judge_s = time.perf_counter() - start
    reading = read_reply(reply.text, 1)
    result.judge_ok = reading.complete
    if not reading.complete:
        problem = (reading.problems[0] or "").removeprefix("judge reply: ")
        if reply.finish_reason == "length":
            problem += (
                f" (cut at max_tokens {params['max_tokens']}: raise judge.max_tokens_per_pair)"
            )
        result.problems.append(f"judge ({model}) cannot grade: {problem}; {JUDGE_WAYS}")


async def _check_judge_server(
    endpoint: Endpoint, settings: Settings, prompt: JudgePrompt
) -> EndpointCheck:
    """The judge's own server (judge.base_url): reachable, its model, and the probe."""
    result = EndpointCheck(url=endpoint.base_url, judge_only=True)
    status = await _reach(endpoint, settings, settings.judge.model or "auto", result)
    if status is not None and result.model is not None:
        await _check_judge(endpoint, settings, result.model, prompt, result)
    return result


async def run_check(settings: Settings, api_key: SecretStr | None) -> list[EndpointCheck]:
    """A row per generating endpoint, and one for the judge's server when it has one.
    The judge is probed when it is on."""
    pool = endpoint_pool(settings, api_key, capacity=1)
    judge = judge_prompt(settings)
    try:
        if settings.server.wait_s > 0:
            await wait_for_endpoints(pool.endpoints, wait_s=settings.server.wait_s)
        results = [
            await _check_one(e, settings, settings.server.model, judge) for e in pool.endpoints
        ]
    finally:
        await pool.aclose()
    note = "off" if judge is None else "its own server" if settings.judge.base_url else None
    for result in results:
        result.judge_note = note
    if judge is not None and settings.judge.base_url is not None:
        results.append(
            await _check_on_judge_server(settings, settings.judge.base_url, api_key, judge)
        )
    return results


async def _check_on_judge_server(
    settings: Settings, url: str, api_key: SecretStr | None, prompt: JudgePrompt
) -> EndpointCheck:
    server = settings.server.model_copy(update={"base_urls": (url,)})
    pool = endpoint_pool(settings.model_copy(update={"server": server}), api_key, capacity=1)
    try:
        return await _check_judge_server(pool.endpoints[0], settings, prompt)
    finally:
        await pool.aclose()
