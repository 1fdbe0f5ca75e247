"""api: one endpoint over the OpenAI SDK and our httpx client, errors mapped to ours."""

from __future__ import annotations

import json
import time
from email.utils import formatdate

import httpx
import pytest
import respx
from pydantic import SecretStr

from client.errors import FatalRequestError, TransientError
from client.server.api import Endpoint, make_http_client, parse_retry_after, root_url
from tests.helpers import BASE_URL, MODEL, chat_ok, mock_vllm, vllm_error


def endpoint(key: str | None = None) -> Endpoint:
    http = make_http_client(
        pool_size=4, request_timeout_s=5, connect_timeout_s=1, transport="httpx"
    )
    return Endpoint(
        BASE_URL,
        http_clients=[http],
        api_key=SecretStr(key) if key else None,
        request_timeout_s=5,
        connect_timeout_s=1,
    )


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({}, None),
        ({"retry-after": "soon"}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers) == expected


def test_parse_retry_after_http_date() -> None:
    value = parse_retry_after({"retry-after": formatdate(time.time() + 30, usegmt=True)})
    assert value is not None and 25 <= value <= 31


def test_root_url() -> None:
    assert root_url("http://h:8000/v1") == "http://h:8000"
    assert root_url("http://h:8000/v1/") == "http://h:8000"
    assert root_url("http://h/api") == "http://h/api"


async def test_chat_sends_parameters_and_parses_reply() -> None:
    async with respx.mock(assert_all_called=False) as router:
        route = mock_vllm(router, lambda req: chat_ok("{}", completion_tokens=7))
        ep = endpoint("sk-test-key")
        done = await ep.chat(
            model=MODEL,
            messages=[{"role": "user", "content": "x"}],
            params={"temperature": 0.3, "max_tokens": 99, "seed": 5},
        )
        body = json.loads(route.calls.last.request.content)
        assert (body["temperature"], body["max_tokens"], body["seed"], body["model"]) == (
            0.3,
            99,
            5,
            MODEL,
        )
        assert route.calls.last.request.headers["authorization"] == "Bearer sk-test-key"
        # The SDK's own retries are off: tenacity is the one retry layer.
        assert route.calls.last.request.headers["x-stainless-retry-count"] == "0"
        assert (done.finish_reason, done.completion_tokens, done.text) == ("stop", 7, "{}")


async def test_list_models_reads_max_model_len() -> None:
    async with respx.mock(assert_all_called=False) as router:
        mock_vllm(router, models=("a", "b"))
        models = await endpoint().list_models()
        assert [(m.id, m.max_model_len) for m in models] == [("a", 8192), ("b", 8192)]


@pytest.mark.parametrize(
    ("response", "kind", "reason"),
    [
        (vllm_error(429, "slow down", {"retry-after": "2"}), TransientError, "http_429"),
        (vllm_error(500, "boom"), TransientError, "http_500"),
        (vllm_error(503, "loading"), TransientError, "http_503"),
        (vllm_error(408, "timeout"), TransientError, "http_408"),
        (vllm_error(409, "conflict"), TransientError, "http_409"),
        (vllm_error(400, "max_tokens is too large"), FatalRequestError, "http_400"),
        (vllm_error(401, "Unauthorized"), FatalRequestError, "http_401"),
        (vllm_error(403, "Forbidden"), FatalRequestError, "http_403"),
        (vllm_error(404, "The model `x` does not exist."), FatalRequestError, "http_404"),
        (vllm_error(422, "bad field"), FatalRequestError, "http_422"),
        (httpx.ConnectError("refused"), TransientError, "connection"),
        (httpx.RemoteProtocolError("Server disconnected"), TransientError, "connection"),
        (httpx.ReadTimeout("slow"), TransientError, "timeout"),
    ],
)
async def test_errors_are_mapped(response: object, kind: type[Exception], reason: str) -> None:
    async with respx.mock(assert_all_called=False) as router:
        route = mock_vllm(router)
        route.side_effect = response
        with pytest.raises(kind) as info:
            await endpoint().chat(model=MODEL, messages=[], params={})
        assert info.value.reason == reason  # type: ignore[attr-defined]
        if isinstance(response, httpx.Response) and response.status_code != 429:
            # The server's own message reaches the user.
            assert json.loads(response.content)["error"]["message"] in str(info.value)


async def test_retry_after_is_carried() -> None:
    async with respx.mock(assert_all_called=False) as router:
        mock_vllm(router, lambda req: vllm_error(429, "busy", {"retry-after": "4"}))
        with pytest.raises(TransientError) as info:
            await endpoint().chat(model=MODEL, messages=[], params={})
        assert info.value.retry_after_s == 4.0


async def test_api_key_never_appears_in_error_messages() -> None:
    async with respx.mock(assert_all_called=False) as router:
        mock_vllm(router, lambda req: vllm_error(400, "bad key sk-very-secret-1 given"))
        from client.redact import register_secret

        register_secret("sk-very-secret-1")
        with pytest.raises(FatalRequestError) as info:
            await endpoint("sk-very-secret-1").chat(model=MODEL, messages=[], params={})
        assert "sk-very-secret-1" not in str(info.value)


async def test_health() -> None:
    async with respx.mock(assert_all_called=False) as router:
        mock_vllm(router)
        assert await endpoint().health()
    async with respx.mock(assert_all_called=False) as router:
        router.get("http://vllm.test/health").mock(side_effect=httpx.ConnectError("no"))
        assert not await endpoint().health()


# What the real vLLM 0.32 server does that a naive mock would not (docs/vllm-behaviour.md).


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        # 401 carries a bare string, unlike every other vLLM error.
        (httpx.Response(401, json={"error": "Unauthorized"}), "HTTP 401: Unauthorized"),
        # Unknown routes and wrong methods answer in FastAPI's shape.
        (httpx.Response(404, json={"detail": "Not Found"}), "HTTP 404: Not Found"),
        # Request validation errors say "Bad Request" (with a space) and a body.* param.
        (
            httpx.Response(
                400,
                json={
                    "error": {
                        "message": "1 validation error: body.messages Field required",
                        "type": "Bad Request",
                        "param": "body.messages",
                        "code": 400,
                    }
                },
            ),
            "HTTP 400: 1 validation error: body.messages Field required",
        ),
        (
            httpx.Response(
                404,
                json={
                    "error": {
                        "message": "The model `x` does not exist. Valid aliases: tiny-qwen2.",
                        "type": "NotFoundError",
                        "param": "model",
                        "code": 404,
                    }
                },
            ),
            "does not exist. Valid aliases: tiny-qwen2.",
        ),
    ],
)
async def test_real_vllm_error_shapes_give_the_servers_words(
    response: httpx.Response, expected: str
) -> None:
    async with respx.mock(assert_all_called=False) as router:
        route = mock_vllm(router)
        route.side_effect = [response]
        with pytest.raises(FatalRequestError) as info:
            await endpoint().chat(model=MODEL, messages=[], params={})
    assert expected in str(info.value)


async def test_models_unauthorised_is_reported_as_a_key_problem() -> None:
    from client.server.readiness import AuthError, probe

    async with respx.mock(assert_all_called=False) as router:
        router.get(f"{BASE_URL}/models").mock(
            return_value=httpx.Response(401, json={"error": "Unauthorized"})
        )
        with pytest.raises(AuthError, match="VLLM_API_KEY"):
            await probe(endpoint())


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.Response(200, json={"version": "0.32.0"}), "0.32.0"),
        (httpx.Response(404, json={"detail": "Not Found"}), None),
        (httpx.Response(200, text="<html>not json</html>"), None),
        (httpx.Response(200, json={"version": 32}), None),
        (httpx.ConnectError("refused"), None),
    ],
)
async def test_server_version_from_the_root_without_a_key(
    response: httpx.Response | Exception, expected: str | None
) -> None:
    async with respx.mock(assert_all_called=False) as router:
        route = router.get(f"{root_url(BASE_URL)}/version")
        if isinstance(response, Exception):
            route.side_effect = response
        else:
            route.return_value = response
        assert await endpoint("sk-test-key").server_version() == expected
    assert route.called
    # vLLM serves /version outside the key check: the key is not sent where it is not needed.
    assert "authorization" not in route.calls.last.request.headers
