"""The review server's web app (Starlette): the page, its assets and a two-call API.

| request | answer |
| --- | --- |
| GET / | the page |
| GET /static/NAME | one of the page's files, held in memory (no request path touches the disk) |
| GET /api/data | the pairs, the run's rejected items, the decisions and the persona, as JSON |
| POST /api/words | {"ids": [...]} -> each item's word diff (client.pairs.worddiff); changes nothing |
| POST /api/decision | {"id", "decision": accepted|rejected|edited|"", "gyaru"} -> saved, then 200 with the item's word diff |

An id is a dataset pair's or an item the run rejected (a decision on one of those
rescues it, or agrees with the run). The word diff is computed for the rows a page
shows, when it shows them: the analyser costs about 0.2 ms a pair, too much for
20,000 of them before the first row.

Every request passes `guard.Guard` first (host, token, POST rules).
"""

from __future__ import annotations

import json
from importlib import resources
from string import Template
from typing import Any

import structlog
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from client.web.guard import Guard, allowed_hosts
from client.web.session import DecisionError, ReviewSession

ASSETS: dict[str, str] = {
    "list.js": "text/javascript; charset=utf-8",
    "review.js": "text/javascript; charset=utf-8",
    "charts.js": "text/javascript; charset=utf-8",
    "review.css": "text/css; charset=utf-8",
}
MAX_BODY_BYTES = 64 * 1024

log = structlog.get_logger("client.web")


def _read_asset(name: str) -> str:
    return resources.files("client.web").joinpath("static", name).read_text(encoding="utf-8")


async def _bounded_body(request: Request) -> bytes | None:
    """The body, or None past MAX_BODY_BYTES (read no further than that)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _json_object(request: Request) -> dict[str, Any] | Response:
    """The request's JSON object, or the answer that refuses it."""
    body = await _bounded_body(request)
    if body is None:
        return PlainTextResponse("request too large", status_code=413)
    try:
        fields: Any = json.loads(body)
    except ValueError:
        return PlainTextResponse("the body must be JSON", status_code=400)
    if not isinstance(fields, dict):
        return PlainTextResponse("the body must be a JSON object", status_code=400)
    return fields


def create_app(session: ReviewSession, *, token: str, port: int) -> Starlette:
    # Read once: a request can only pick among these names.
    assets = {name: (_read_asset(name), media) for name, media in ASSETS.items()}
    page = Template(_read_asset("index.html")).substitute(token=token)

    async def index(request: Request) -> Response:
        return HTMLResponse(page)

    async def asset(request: Request) -> Response:
        found = assets.get(request.path_params["name"])
        if found is None:
            return PlainTextResponse("not found", status_code=404)
        return Response(found[0], media_type=found[1])

    def data(request: Request) -> Response:
        return Response(session.payload_json(), media_type="application/json")

    async def words(request: Request) -> Response:
        fields = await _json_object(request)
        if isinstance(fields, Response):
            return fields
        try:
            found = await run_in_threadpool(session.words, fields.get("ids"))
        except DecisionError as exc:
            return PlainTextResponse(str(exc), status_code=400)
        return JSONResponse(found)

    async def decision(request: Request) -> Response:
        fields = await _json_object(request)
        if isinstance(fields, Response):
            return fields
        try:
            saved = await run_in_threadpool(
                session.decide, fields.get("id"), fields.get("decision"), fields.get("gyaru")
            )
        except DecisionError as exc:
            return PlainTextResponse(str(exc), status_code=400)
        except OSError as exc:
            # Not saved, so not taken: the page says so and keeps the pair as it was.
            log.error("cannot write the review file", path=str(session.review.path), error=str(exc))
            message = f"cannot write {session.review.path.name}: {exc.strerror or exc}"
            return PlainTextResponse(message, status_code=500)
        return JSONResponse(saved.to_json())

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/static/{name}", asset, methods=["GET"]),
        Route("/api/data", data, methods=["GET"]),
        Route("/api/words", words, methods=["POST"]),
        Route("/api/decision", decision, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.add_middleware(Guard, token=token, hosts=allowed_hosts(port))
    return app
