"""transport: the aiohttp stack under the SDK, against a real socket on 127.0.0.1.

respx cannot see aiohttp, so these tests serve HTTP/1.1 by hand: a reply, a connection
closed after a kept-alive reply, a body cut short, a server that never answers, and
nothing listening. Each failure must reach the retry layer as the same error httpx's
own stack gives, so a dead endpoint is taken out of rotation and a slow one is not.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from pydantic import SecretStr

from client.errors import TransientError
from client.server.api import Endpoint, make_http_client
from client.server.transport import HttpTransport
from tests.helpers import MODEL, chat_body

TRANSPORTS: tuple[HttpTransport, ...] = ("aiohttp", "httpx")
Handler = Callable[[int, int, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bool]]


async def read_request(reader: asyncio.StreamReader) -> dict[str, object] | None:
    """One request's headers and JSON body; None when the client closed the connection."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    lowered = {k.lower(): v for k, v in headers.items()}
    body = await reader.readexactly(int(lowered.get("content-length", "0")))
    return {"line": lines[0], "headers": lowered, "body": json.loads(body) if body else None}


def reply(payload: dict[str, object], *, length: int | None = None) -> bytes:
    body = json.dumps(payload).encode()
    head = (
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body) if length is None else length}\r\n\r\n"
    )
    return head.encode() + body


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[tuple[str, list[dict[str, object]]]]:
    """A server on a port the kernel picks; `handler(connection, request number on it,
    ...)` answers one request and says whether to keep the connection."""
    seen: list[dict[str, object]] = []
    connections = 0
    handlers: set[asyncio.Task[None]] = set()

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        number, connections = connections, connections + 1
        task = asyncio.current_task()
        if task is not None:
            handlers.add(task)
        index = 0
        while (request := await read_request(reader)) is not None:
            seen.append(request)
            if not await handler(number, index, reader, writer):
                break
            index += 1
        writer.close()

    server = await asyncio.start_server(connection, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/v1", seen
    finally:
        server.close()
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)


@asynccontextmanager
async def endpoint(
    base_url: str, transport: HttpTransport, *, timeout_s: float = 5
) -> AsyncIterator[Endpoint]:
    http = make_http_client(
        pool_size=2, request_timeout_s=timeout_s, connect_timeout_s=1, transport=transport
    )
    async with http:
        yield Endpoint(
            base_url,
            http_clients=[http],
            api_key=SecretStr("sk-test"),
            request_timeout_s=timeout_s,
            connect_timeout_s=1,
        )


async def chat(point: Endpoint) -> str:
    completion = await point.chat(
        model=MODEL, messages=[{"role": "user", "content": "hi"}], params={"temperature": 0.5}
    )
    return completion.text


async def answer(_: int, __: int, ___: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    writer.write(reply(chat_body("ok", completion_tokens=3)))
    await writer.drain()
    return True


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_reply_and_the_request_are_the_same_over_either_stack(
    transport: HttpTransport,
) -> None:
    async with serving(answer) as (url, seen), endpoint(url, transport) as point:
        assert await chat(point) == "ok"
        assert await chat(point) == "ok"
    first = seen[0]
    assert first["line"] == "POST /v1/chat/completions HTTP/1.1"
    headers = first["headers"]
    assert isinstance(headers, dict)
    assert headers["authorization"] == "Bearer sk-test"
    assert first["body"] == {
        "model": MODEL,
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0.5,
    }
    assert len(seen) == 2


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_nothing_listening_is_a_connection_failure_of_the_endpoint(
    transport: HttpTransport,
) -> None:
    # Bound but not listening: the kernel refuses the connection, at once and always.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        async with endpoint(f"http://127.0.0.1:{sock.getsockname()[1]}/v1", transport) as point:
            with pytest.raises(TransientError) as caught:
                await chat(point)
    assert caught.value.reason == "connection"
    assert caught.value.endpoint_fault
    assert "ConnectError" in str(caught.value)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_kept_alive_connection_the_server_closed_fails_alone_and_the_next_works(
    transport: HttpTransport,
) -> None:
    async def close_the_second(
        number: int, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        if number == 0 and index == 1:
            return False  # read the request, then close without a reply
        return await answer(number, index, reader, writer)

    async with serving(close_the_second) as (url, seen), endpoint(url, transport) as point:
        assert await chat(point) == "ok"
        with pytest.raises(TransientError) as caught:
            await chat(point)
        assert await chat(point) == "ok"
    assert caught.value.reason == "connection"
    assert "RemoteProtocolError" in str(caught.value)
    assert len(seen) == 3


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_body_cut_short_is_a_read_failure(transport: HttpTransport) -> None:
    async def cut(
        number: int, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        whole = reply(chat_body("ok", completion_tokens=3), length=10_000)
        writer.write(whole)
        await writer.drain()
        return False

    async with serving(cut) as (url, _), endpoint(url, transport) as point:
        with pytest.raises(TransientError) as caught:
            await chat(point)
    assert caught.value.reason == "connection"
    assert "timed out" not in str(caught.value)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_server_that_never_answers_is_a_timeout_not_a_fault(
    transport: HttpTransport,
) -> None:
    release = asyncio.Event()

    async def hold(
        number: int, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        await release.wait()
        return False

    async with serving(hold) as (url, _), endpoint(url, transport, timeout_s=0.3) as point:
        try:
            with pytest.raises(TransientError) as caught:
                await chat(point)
        finally:
            release.set()
    assert caught.value.reason == "timeout"
    assert not caught.value.endpoint_fault


def test_the_default_transport_is_aiohttp_and_httpx_is_a_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from client.config import load_settings

    monkeypatch.delenv("GYARU_SERVER__HTTP_TRANSPORT")
    assert load_settings(None, {}).server.http_transport == "aiohttp"
    monkeypatch.setenv("GYARU_SERVER__HTTP_TRANSPORT", "httpx")
    assert load_settings(None, {}).server.http_transport == "httpx"
    client = make_http_client(pool_size=1, request_timeout_s=1, connect_timeout_s=1)
    assert type(client._transport).__module__ == "client.server.transport"
    plain = make_http_client(
        pool_size=1, request_timeout_s=1, connect_timeout_s=1, transport="httpx"
    )
    assert isinstance(plain._transport, httpx.AsyncHTTPTransport)
