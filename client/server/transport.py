"""The HTTP stack under the OpenAI SDK: httpx's own, or aiohttp's behind an httpx client.

The SDK and everything above it see an `httpx.AsyncClient` either way. aiohttp is the
default (`server.http_transport`): it does a request's work in a few short bursts of C,
where httpx's pure-Python stack spends about five times the CPU in many small steps. On
a machine whose cores the server keeps busy, the kernel lets a process that wakes often
wait for a core, and every wait holds a reply the server already sent (docs/benchmarks.md,
"The anchor"). httpx stays for those who want it, and it is what respx mocks in tests.

httpx-aiohttp maps aiohttp's errors to httpx's, but folds every connection error into
`ConnectTimeout`: a refused connection would read as a slow server and keep a dead
endpoint in rotation. `_httpx_error` maps them as httpx's own stack would.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import AsyncIterator
from typing import Literal

import aiohttp
import httpx
from httpx_aiohttp.transport import AiohttpTransport

HttpTransport = Literal["aiohttp", "httpx"]
# Idle connections are dropped before the server drops them: vLLM (uvicorn) closes an
# idle keep-alive connection after 5 s, and a request sent on a connection the server
# is closing gets no reply.
KEEPALIVE_S = 4.0


def _httpx_error(cause: BaseException, message: str) -> httpx.TransportError | None:
    """httpx's error for aiohttp's, as httpcore would raise it; None: not aiohttp's."""
    if isinstance(cause, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message)
    if isinstance(cause, aiohttp.SocketTimeoutError):
        return httpx.ReadTimeout(message)
    if isinstance(cause, aiohttp.ServerTimeoutError):
        return httpx.TimeoutException(message)
    if isinstance(cause, aiohttp.ClientConnectorError):
        return httpx.ConnectError(_connect_message(cause))
    if isinstance(cause, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError(message)
    if isinstance(cause, (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError)):
        return httpx.ReadError(message)
    return None


def _connect_message(cause: aiohttp.ClientConnectorError) -> str:
    # aiohttp's own names the TLS setting even for plain http ("ssl:default").
    errno = cause.os_error.errno
    why = os.strerror(errno) if errno else str(cause.os_error)
    return f"cannot connect to {cause.host}:{cause.port}: {why}"


def _remapped(exc: httpx.TransportError) -> httpx.TransportError:
    cause = exc.__cause__
    if cause is None:
        return exc
    mapped = _httpx_error(cause, str(cause) or type(cause).__name__)
    return exc if mapped is None else mapped


class _Body(httpx.AsyncByteStream):
    """The response body, its read errors mapped too."""

    def __init__(self, stream: httpx.AsyncByteStream) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                yield chunk
        except httpx.TransportError as exc:
            raise _remapped(exc) from exc.__cause__

    async def aclose(self) -> None:
        await self._stream.aclose()


class _Transport(AiohttpTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await super().handle_async_request(request)
        except httpx.TransportError as exc:
            raise _remapped(exc) from exc.__cause__
        if isinstance(response.stream, httpx.AsyncByteStream):
            response.stream = _Body(response.stream)
        return response


def make_http_client(
    *,
    pool_size: int,
    request_timeout_s: float,
    connect_timeout_s: float,
    tls: ssl.SSLContext,
    headers: dict[str, str],
    transport: HttpTransport,
) -> httpx.AsyncClient:
    """An httpx client over `transport` with at most `pool_size` connections."""
    timeout = httpx.Timeout(request_timeout_s, connect=connect_timeout_s)
    limits = httpx.Limits(
        max_connections=pool_size, max_keepalive_connections=pool_size, keepalive_expiry=KEEPALIVE_S
    )
    if transport == "aiohttp":
        stack = _Transport(verify=tls, limits=limits)
        return httpx.AsyncClient(timeout=timeout, headers=headers, transport=stack)
    return httpx.AsyncClient(timeout=timeout, limits=limits, headers=headers, verify=tls)
