"""Is the server there, ready, and serving the model? Used before any batch is sent.

Fails fast and clearly by default; with a wait budget (`--wait SECONDS`) it polls
/health and /v1/models until the model has loaded, saying what it waits for. And
which vLLM it runs, against the one this project is tested with (`client check`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import anyio
import structlog

from client.errors import (
    AuthError,
    FatalRequestError,
    ModelNotServedError,
    RequestError,
    ServerUnavailableError,
)
from client.server.api import Endpoint, ModelInfo

log = structlog.get_logger("client.server.readiness")

# The vLLM release the test tier and the compose file pin; another one may well
# work, but its behaviour (structured output, errors, /tokenize) is unchecked.
TESTED_VLLM_VERSION = "0.32.0"
POLL_INTERVAL_S = 2.0
REPORT_EVERY_S = 10.0
START_HINT = "start it with `docker compose up -d vllm`, or wait for it with --wait SECONDS"


def untested_version(version: str | None) -> bool:
    """True for a vLLM version other than the tested one (None: not vLLM, or unknown)."""
    return version is not None and version != TESTED_VLLM_VERSION


@dataclass(frozen=True)
class EndpointStatus:
    endpoint: Endpoint
    models: list[ModelInfo] | None
    error: str | None

    @property
    def ready(self) -> bool:
        return self.models is not None


async def probe(endpoint: Endpoint) -> EndpointStatus:
    """One look at an endpoint: the models it serves, or why it cannot say."""
    try:
        models = await endpoint.list_models()
    except FatalRequestError as exc:
        if exc.status in (401, 403):
            raise AuthError(
                f"{endpoint.base_url} rejected the API key (HTTP {exc.status}): set VLLM_API_KEY "
                "to the key the server was started with"
            ) from None
        return EndpointStatus(endpoint, None, exc.message)
    except RequestError as exc:
        return EndpointStatus(endpoint, None, exc.message)
    if not models:
        return EndpointStatus(endpoint, None, f"{endpoint.base_url}: serves no model yet")
    return EndpointStatus(endpoint, models, None)


async def wait_for_endpoints(endpoints: list[Endpoint], *, wait_s: float) -> list[EndpointStatus]:
    """Probe every endpoint; keep polling (up to wait_s) until at least one is ready."""
    deadline = time.monotonic() + wait_s
    next_report = time.monotonic()
    while True:
        statuses = [await probe(e) for e in endpoints]
        if any(s.ready for s in statuses):
            return statuses
        now = time.monotonic()
        if now >= deadline:
            problems = "; ".join(s.error or s.endpoint.base_url for s in statuses)
            if wait_s > 0:
                raise ServerUnavailableError(
                    f"server not ready after waiting {wait_s:.0f}s: {problems}"
                )
            raise ServerUnavailableError(f"cannot reach the server: {problems} ({START_HINT})")
        if now >= next_report:
            healthy = [s.endpoint.base_url for s in statuses if await s.endpoint.health()]
            log.info(
                "waiting for the server (the model may still be loading)",
                endpoints=[e.base_url for e in endpoints],
                health_ok=healthy,
                waited_s=round(wait_s - (deadline - now)),
                wait_s=wait_s,
                last_error=statuses[0].error,
            )
            next_report = now + REPORT_EVERY_S
        await anyio.sleep(min(POLL_INTERVAL_S, max(deadline - now, 0.05)))


def resolve_model(requested: str, statuses: list[EndpointStatus]) -> str:
    """The model to use: the one asked for, or with 'auto' the first one served."""
    ready = [s for s in statuses if s.ready]
    first = ready[0]
    assert first.models is not None
    model = first.models[0].id if requested == "auto" else requested
    for status in ready:
        assert status.models is not None
        served = [m.id for m in status.models]
        if model not in served:
            raise ModelNotServedError(
                f"model {model!r} is not served by {status.endpoint.base_url}; "
                f"it serves: {', '.join(served)} (set --model or server.model)"
            )
    return model


def max_model_len(statuses: list[EndpointStatus], model: str) -> int | None:
    for status in statuses:
        for info in status.models or []:
            if info.id == model and info.max_model_len:
                return info.max_model_len
    return None
