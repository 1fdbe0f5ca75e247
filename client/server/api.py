"""One OpenAI-compatible endpoint: list models, check health, one chat completion.

The OpenAI SDK runs over explicit `httpx.AsyncClient`s (over aiohttp or httpx's own
stack, `transport`; respx sees the httpx one in tests) with its own retries off: `retry` is the one retry layer. SDK errors are
mapped to ours here, so nothing above this module knows the SDK's exception types.

An endpoint has one AsyncOpenAI client per "lane" of at most LANE_SIZE
connections. httpcore's pool does bookkeeping over every connection for every
request, so one pool of 64 connections cost ~10 ms of CPU per request here where
eight pools of 8 cost ~1.7 ms (docs/benchmarks.md). Up to LANE_SIZE concurrent
requests (the default is 4) there is exactly one lane: one client, one pool.
"""

from __future__ import annotations

import email.utils
import functools
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import certifi
import httpx
import openai
from openai.types.chat import ChatCompletion
from pydantic import SecretStr

from client.errors import FatalRequestError, RequestError, TransientError
from client.pairs.records import Completion
from client.redact import redact
from client.server.transport import HttpTransport
from client.server.transport import make_http_client as transport_client

RETRYABLE_STATUSES = frozenset({408, 409, 429})
LANE_SIZE = 8
# The SDK insists on a key; vLLM without --api-key ignores whatever is sent.
PLACEHOLDER_KEY = "EMPTY"
USER_AGENT = "gyaru-datagen"


@dataclass(frozen=True, slots=True)
class ModelInfo:
    id: str
    max_model_len: int | None


def root_url(base_url: str) -> str:
    """The server root (where vLLM's /health lives) for an API base URL ending in /v1."""
    base = base_url.rstrip("/")
    return base[: -len("/v1")] if base.endswith("/v1") else base


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from retry-after-ms, Retry-After seconds or an HTTP date."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(float(ms) / 1000.0, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(parsed.timestamp() - time.time(), 0.0)


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        # vLLM's 401 is {"error": "Unauthorized"}: a string, unlike its other errors.
        if isinstance(inner, str) and inner:
            return inner
        if isinstance(body.get("detail"), str):
            return str(body["detail"])
        if isinstance(body.get("message"), str):
            return str(body["message"])
    if isinstance(body, str) and body.strip():
        return body.strip()[:500]
    return exc.message


def map_error(exc: Exception, *, endpoint: str) -> RequestError:
    """Our error for an SDK error: transient (retry) or fatal (fail the batch now)."""
    if isinstance(exc, openai.APITimeoutError):
        return TransientError(f"{endpoint}: request timed out", reason="timeout")
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        detail = f"{type(cause).__name__}: {cause}" if cause else str(exc)
        return TransientError(
            redact(f"{endpoint}: connection failed ({detail})"),
            reason="connection",
            endpoint_fault=True,
        )
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        message = redact(f"{endpoint}: HTTP {status}: {_server_message(exc)}")
        if status in RETRYABLE_STATUSES or status >= 500:
            return TransientError(
                message,
                reason=f"http_{status}",
                retry_after_s=parse_retry_after(exc.response.headers),
                endpoint_fault=status >= 500,
            )
        return FatalRequestError(message, status=status)
    if isinstance(exc, httpx.HTTPError):
        return TransientError(
            redact(f"{endpoint}: {type(exc).__name__}: {exc}"),
            reason="connection",
            endpoint_fault=True,
        )
    raise exc


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # One for all lanes: loading the CA bundle costs ~30 ms of CPU per context.
    return ssl.create_default_context(cafile=certifi.where())


def make_http_client(
    *,
    pool_size: int,
    request_timeout_s: float,
    connect_timeout_s: float,
    transport: HttpTransport = "aiohttp",
) -> httpx.AsyncClient:
    return transport_client(
        pool_size=pool_size,
        request_timeout_s=request_timeout_s,
        connect_timeout_s=connect_timeout_s,
        tls=_tls_context(),
        headers={"user-agent": USER_AGENT},
        transport=transport,
    )


def lanes_for(concurrency: int) -> int:
    return max(1, -(-concurrency // LANE_SIZE))


class Endpoint:
    """One server, reached through one or more HTTP clients (lanes)."""

    def __init__(
        self,
        base_url: str,
        *,
        http_clients: Sequence[httpx.AsyncClient],
        api_key: SecretStr | None,
        request_timeout_s: float,
        connect_timeout_s: float,
    ) -> None:
        if not http_clients:
            raise ValueError("an endpoint needs at least one HTTP client")
        self.base_url = base_url.rstrip("/")
        self.root_url = root_url(self.base_url)
        self._http = http_clients[0]
        self._timeout = httpx.Timeout(request_timeout_s, connect=connect_timeout_s)
        key = api_key.get_secret_value() if api_key else PLACEHOLDER_KEY
        self._headers = {"Authorization": f"Bearer {key}"}
        self._lanes = [
            openai.AsyncOpenAI(
                base_url=self.base_url,
                api_key=key,
                # Our httpx client: its pool and timeouts apply, and respx sees the traffic.
                http_client=cast(Any, http),
                # The SDK ignores a client timeout equal to its own default, so set it too.
                timeout=cast(Any, self._timeout),
                max_retries=0,
            )
            for http in http_clients
        ]
        self._lane_load = [0] * len(self._lanes)
        self._openai = self._lanes[0]

    def __repr__(self) -> str:
        return f"Endpoint({self.base_url})"

    async def health(self, *, timeout_s: float = 5.0) -> bool:
        """True when /health answers 200 (vLLM: the engine is up; outside the key check)."""
        try:
            response = await self._http.get(f"{self.root_url}/health", timeout=timeout_s)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def server_version(self, *, timeout_s: float = 5.0) -> str | None:
        """vLLM's version from GET /version (at the root, outside the key check); None
        where the server has no such endpoint (another OpenAI-compatible server)."""
        try:
            response = await self._http.get(f"{self.root_url}/version", timeout=timeout_s)
            data = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None
        version = data.get("version") if isinstance(data, dict) else None
        return version if isinstance(version, str) and version else None

    async def prompt_tokens(
        self, *, model: str, messages: list[dict[str, str]]
    ) -> tuple[int, int] | None:
        """(prompt tokens, max_model_len) from vLLM's /tokenize, or None where the server
        has no such endpoint (other OpenAI-compatible servers) or it fails."""
        try:
            response = await self._http.post(
                f"{self.root_url}/tokenize",
                json={"model": model, "messages": messages, "add_generation_prompt": True},
                headers=self._headers,
                timeout=self._timeout,
            )
            data = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None
        if not isinstance(data, dict):
            return None
        count, context = data.get("count"), data.get("max_model_len")
        if isinstance(count, int) and isinstance(context, int):
            return count, context
        return None

    async def list_models(self) -> list[ModelInfo]:
        try:
            page = await self._openai.models.list()
        except openai.OpenAIError as exc:
            raise map_error(exc, endpoint=self.base_url) from None
        models = []
        for model in page.data:
            extra = model.model_extra or {}
            max_len = extra.get("max_model_len")
            models.append(
                ModelInfo(id=model.id, max_model_len=max_len if isinstance(max_len, int) else None)
            )
        return models

    async def chat(
        self, *, model: str, messages: list[dict[str, str]], params: Mapping[str, Any]
    ) -> Completion:
        """One chat completion; raises TransientError or FatalRequestError on failure."""
        start = time.perf_counter()
        body: dict[str, Any] = {"model": model, "messages": messages}
        for key, value in params.items():
            if key == "extra_body":
                body.update(value)
            else:
                body[key] = value
        lane = min(range(len(self._lanes)), key=self._lane_load.__getitem__)
        self._lane_load[lane] += 1
        try:
            # The client's generic post, not chat.completions.create: create walks its
            # ~40 typed parameters (and our large JSON schema) through a transform on
            # every call, which cost more CPU than everything else the client does per
            # batch (docs/benchmarks.md). Auth, base URL, timeouts and errors are the same.
            response = await self._lanes[lane].post(
                "/chat/completions", cast_to=ChatCompletion, body=body
            )
        except (openai.OpenAIError, httpx.HTTPError) as exc:
            raise map_error(exc, endpoint=self.base_url) from None
        finally:
            self._lane_load[lane] -= 1
        latency = time.perf_counter() - start
        if not response.choices:
            raise TransientError(f"{self.base_url}: reply has no choices", reason="no_choices")
        choice = response.choices[0]
        usage = response.usage
        return Completion(
            text=choice.message.content or "",
            finish_reason=choice.finish_reason,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            model=response.model,
            latency_s=latency,
            endpoint=self.base_url,
        )

    async def one_token(self, *, model: str) -> Completion:
        return await self.chat(
            model=model,
            messages=[{"role": "user", "content": "こんにちは"}],
            params={"max_tokens": 1, "temperature": 0.0},
        )
