"""The review server's gate: every request is checked here before any route sees it.

- Host must be 127.0.0.1:PORT or localhost:PORT. A page on another site that points
  its own name at 127.0.0.1 (DNS rebinding) sends its own name as Host: refused.
- The token must come with every request: `?token=` (the URL the command prints, the
  page's own asset links) or the X-Review-Token header (the page's API calls).
- A POST must carry the token in the header, as JSON, and from this origin when the
  browser says where it comes from. A form on another site can send none of that:
  no cross-site request changes a decision.
- Every answer says: do not cache, do not sniff, run only this origin's scripts.
"""

from __future__ import annotations

import secrets

from starlette.datastructures import Headers, MutableHeaders, QueryParams
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOKEN_HEADER = "x-review-token"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def allowed_hosts(port: int) -> frozenset[str]:
    return frozenset({f"127.0.0.1:{port}", f"localhost:{port}"})


def _same(given: str | None, token: str) -> bool:
    return given is not None and secrets.compare_digest(given.encode(), token.encode())


def refusal(scope: Scope, token: str, hosts: frozenset[str]) -> tuple[int, str] | None:
    """Why this request is refused (status, text), or None to let it through."""
    headers = Headers(scope=scope)
    if headers.get("host", "").lower() not in hosts:
        return 403, "refused: this server answers to 127.0.0.1 and localhost only"
    header_token = headers.get(TOKEN_HEADER)
    query_token = QueryParams(scope.get("query_string", b"")).get("token")
    if not (_same(header_token, token) or _same(query_token, token)):
        return 403, "refused: open the URL that `client review` printed (it holds the token)"
    if scope["method"] == "POST":
        if not _same(header_token, token):
            return 403, "refused: a change needs the token in the X-Review-Token header"
        origin = headers.get("origin")
        if origin is not None and origin.removeprefix("http://") not in hosts:
            return 403, "refused: a change must come from the review page itself"
        if headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return 415, "a change is sent as application/json"
    return None


class Guard:
    def __init__(self, app: ASGIApp, *, token: str, hosts: frozenset[str]) -> None:
        self.app = app
        self.token = token
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        refused = refusal(scope, self.token, self.hosts)
        if refused is not None:
            status, text = refused
            await PlainTextResponse(text, status_code=status)(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)
