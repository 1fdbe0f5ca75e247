"""Shared test helpers: vLLM-shaped replies and a respx-mocked server."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import respx

from tests.fakeserver import inputs_of, make_pairs, rewrites, schema_topic
from tests.judgefake import Grader, good_grades, is_judge_request, judge_content, judge_response
from tests.ownshape import OwnShape

REPO = Path(__file__).resolve().parent.parent
PROMPT = REPO / "personas" / "gyaru" / "system_prompt.txt"
JUDGE_PROMPT = REPO / "personas" / "gyaru" / "judge_prompt.txt"
BASE_URL = "http://vllm.test/v1"
MODEL = "test-model"


def pairs_doc(n: int, tag: str = "t") -> str:
    return json.dumps({"pairs": make_pairs(n, tag)}, ensure_ascii=False)


def chat_body(
    content: str, *, finish_reason: str = "stop", model: str = MODEL, completion_tokens: int = 50
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": 100,
            "completion_tokens": completion_tokens,
            "total_tokens": 100 + completion_tokens,
        },
    }


def chat_ok(content: str, **kwargs: Any) -> httpx.Response:
    return httpx.Response(200, json=chat_body(content, **kwargs))


def vllm_error(status: int, message: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status,
        json={
            "error": {"message": message, "type": "BadRequestError", "param": None, "code": status}
        },
        headers=headers,
    )


def requested_pairs(request: httpx.Request) -> int:
    body = json.loads(request.content)
    schema = (body.get("response_format") or {}).get("json_schema", {}).get("schema", {})
    return int(schema.get("properties", {}).get("pairs", {}).get("minItems", 5))


def default_chat(request: httpx.Request) -> httpx.Response:
    """Pairs for a generation request, good grades for a judge request."""
    body = json.loads(request.content)
    if is_judge_request(body):
        return judge_response(request)
    batch = re.search(r"バッチ番号は(\d+)", request.content.decode())
    return chat_ok(
        pairs_doc(requested_pairs(request), f"b{batch.group(1) if batch else 0}s{body.get('seed')}")
    )


def own_shape_chat(
    shape: OwnShape, grader: Grader = good_grades
) -> Callable[[httpx.Request], httpx.Response]:
    """A respx side effect for every chat request (`mock_vllm(router, chat, judge=None)`):
    what `default_chat` (or, for a rewrite request, the loopback server's `ok`) answers,
    in the model's own shape (tests/ownshape.py)."""

    def chat(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        finish = "stop"
        if is_judge_request(body):
            text, finish = judge_content("ok", body, grader)
        elif inputs := inputs_of(body):
            items = rewrites("ok", inputs, schema_topic(body))
            text = json.dumps({"pairs": items}, ensure_ascii=False)
        else:
            text = default_chat(request).json()["choices"][0]["message"]["content"]
        return chat_ok(shape.reply(body, text), finish_reason=finish)

    return chat


def generation_requests(route: respx.Route) -> list[httpx.Request]:
    """Requests to a mock_vllm chat route that asked for pairs (not the judge's)."""
    return [
        call.request
        for call in route.calls
        if not is_judge_request(json.loads(call.request.content))
    ]


def generation_calls(route: respx.Route) -> int:
    return len(generation_requests(route))


def mock_vllm(
    router: respx.MockRouter,
    chat: Callable[[httpx.Request], Any] | None = None,
    *,
    judge: Callable[[httpx.Request], Any] | None = judge_response,
    base_url: str = BASE_URL,
    models: tuple[str, ...] = (MODEL,),
    prompt_tokens: int = 1500,
) -> respx.Route:
    """Mock /health, /v1/models and /v1/chat/completions; returns the chat route.

    Judge requests go to `judge` (good grades by default), the rest to `chat`;
    judge=None sends every request to `chat`."""
    root = base_url.removesuffix("/v1")
    router.get(f"{root}/health").mock(return_value=httpx.Response(200))
    router.get(f"{base_url}/models").mock(
        return_value=httpx.Response(
            200,
            json={
                "object": "list",
                "data": [
                    {
                        "id": m,
                        "object": "model",
                        "created": 0,
                        "owned_by": "vllm",
                        "max_model_len": 8192,
                    }
                    for m in models
                ],
            },
        )
    )
    # vLLM's /tokenize (outside /v1): the client asks it how long the prompt is.
    router.post(f"{root}/tokenize").mock(
        return_value=httpx.Response(
            200, json={"count": prompt_tokens, "max_model_len": 8192, "tokens": []}
        )
    )
    route = router.post(f"{base_url}/chat/completions")
    generation = chat or default_chat
    if judge is None:
        route.side_effect = generation
        return route
    judge_reply = judge

    async def dispatch(request: httpx.Request) -> Any:
        handler = judge_reply if is_judge_request(json.loads(request.content)) else generation
        reply = handler(request)
        return await reply if inspect.isawaitable(reply) else reply

    route.side_effect = dispatch
    return route
