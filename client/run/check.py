"""`client check`: is the server there, what does it serve, does a completion work,
does structured output (with this project's schema) work."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from pydantic import SecretStr

from client.config import Settings
from client.errors import FatalRequestError, ModelNotServedError, RequestError
from client.run.job import endpoint_pool, pair_rules
from client.server.api import Endpoint, ModelInfo
from client.server.readiness import probe, resolve_model, wait_for_endpoints


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
    problems: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.problems


async def _check_one(endpoint: Endpoint, settings: Settings, requested_model: str) -> EndpointCheck:
    result = EndpointCheck(url=endpoint.base_url)
    result.health = await endpoint.health(timeout_s=settings.server.connect_timeout_s)
    status = await probe(endpoint)
    if not status.ready or status.models is None:
        result.problems.append(status.error or "no models listed")
        return result
    result.reachable = True
    result.models = status.models
    result.vllm_version = await endpoint.server_version(timeout_s=settings.server.connect_timeout_s)
    try:
        model = resolve_model(requested_model, [status])
    except ModelNotServedError as exc:
        result.problems.append(str(exc))
        return result
    result.model = model
    try:
        completion = await endpoint.one_token(model=model)
        result.completion_s = completion.latency_s
    except RequestError as exc:
        result.problems.append(f"one-token completion failed: {exc.message}")
        return result

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
        return result
    except RequestError as exc:
        result.structured_ok = False
        result.problems.append(f"structured output request failed: {exc.message}")
        return result
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
    return result


async def run_check(settings: Settings, api_key: SecretStr | None) -> list[EndpointCheck]:
    pool = endpoint_pool(settings, api_key, capacity=1)
    try:
        if settings.server.wait_s > 0:
            await wait_for_endpoints(pool.endpoints, wait_s=settings.server.wait_s)
        return [await _check_one(e, settings, settings.server.model) for e in pool.endpoints]
    finally:
        await pool.aclose()
