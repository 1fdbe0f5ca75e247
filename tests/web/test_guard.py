"""The review server's security, by plain HTTP against the real server (uvicorn on a
loopback port): token, Host, POST-only changes, no file system behind the paths."""

from __future__ import annotations

import json

import pytest

from tests.web.conftest import Live


def review_bytes(live: Live) -> bytes | None:
    path = live.session.review.path
    return path.read_bytes() if path.exists() else None


@pytest.mark.parametrize("path", ["/", "/api/data", "/static/review.js", "/nowhere"])
def test_every_path_needs_the_token(live: Live, path: str) -> None:
    assert live.http.get(live.base + path).status_code == 403
    assert live.http.get(live.base + path, params={"token": "wrong"}).status_code == 403
    assert (
        live.http.get(live.base + path, headers={"X-Review-Token": live.token[:-1]}).status_code
        == 403
    )


def test_the_printed_url_opens_the_page(live: Live) -> None:
    response = live.http.get(live.bound.url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:{port}",
        "127.0.0.1",
        "127.0.0.1:1",
        "localhost.evil.example:{port}",
        "0.0.0.0:{port}",
        "",
    ],
)
def test_a_foreign_host_is_refused_even_with_the_token(live: Live, host: str) -> None:
    response = live.http.get(
        live.base + "/api/data",
        params={"token": live.token},
        headers={"Host": host.format(port=live.bound.port)},
    )
    assert response.status_code == 403
    assert "127.0.0.1 and localhost only" in response.text


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}"])
def test_the_loopback_names_with_the_port_are_served(live: Live, host: str) -> None:
    response = live.http.get(
        live.base + "/api/data",
        params={"token": live.token},
        headers={"Host": host.format(port=live.bound.port)},
    )
    assert response.status_code == 200


def test_get_cannot_change_a_decision(live: Live) -> None:
    pair_id = live.demo.pairs[0]["id"]
    for method in ("GET", "HEAD", "PUT", "DELETE"):
        response = live.http.request(
            method,
            live.base + "/api/decision",
            params={"token": live.token, "id": pair_id, "decision": "rejected"},
        )
        assert response.status_code == 405, method
    assert review_bytes(live) is None


@pytest.mark.parametrize(
    ("headers", "query", "status"),
    [
        ({}, True, 403),  # the token in the URL is not enough for a change
        ({"Origin": "http://evil.example"}, False, 403),
        ({"Origin": "null"}, False, 403),
        ({"Content-Type": "application/x-www-form-urlencoded"}, False, 415),
        ({"Content-Type": "text/plain"}, False, 415),
    ],
)
def test_a_cross_site_post_changes_nothing(
    live: Live, headers: dict[str, str], query: bool, status: int
) -> None:
    body = json.dumps({"id": live.demo.pairs[0]["id"], "decision": "rejected"})
    send = {"Content-Type": "application/json", **headers}
    if not query:
        send["X-Review-Token"] = live.token
    response = live.http.post(
        live.base + "/api/decision",
        content=body,
        headers=send,
        params={"token": live.token} if query else None,
    )
    assert response.status_code == status
    assert review_bytes(live) is None


def test_a_post_from_the_page_is_saved(live: Live) -> None:
    pair_id = live.demo.pairs[0]["id"]
    response = live.http.post(
        live.base + "/api/decision",
        json={"id": pair_id, "decision": "rejected"},
        headers=live.auth(Origin=live.base),
    )
    assert response.status_code == 200
    answer = response.json()
    assert {k: answer[k] for k in ("id", "decision", "gyaru")} == {
        "id": pair_id,
        "decision": "rejected",
        "gyaru": None,
    }
    # The row's word diff comes back with it: the line as shown, cut into runs.
    assert "".join(text for text, _ in answer["words"]["gyaru"]) == live.demo.pairs[0]["gyaru"]
    saved = json.loads(review_bytes(live) or b"")
    assert saved["decisions"][pair_id]["decision"] == "rejected"


def test_words_are_read_with_the_token_only(live: Live) -> None:
    body = {"ids": [live.demo.pairs[0]["id"], "no-such-id"]}
    refused = live.http.post(live.base + "/api/words", json=body, params={"token": live.token})
    assert refused.status_code == 403
    response = live.http.post(live.base + "/api/words", json=body, headers=live.auth())
    assert response.status_code == 200
    assert list(response.json()) == [live.demo.pairs[0]["id"]]
    assert review_bytes(live) is None, "reading words changes nothing"


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"ids": "one"}, "list of strings"),
        ({"ids": [1, 2]}, "list of strings"),
        ({"ids": ["x"] * 501}, "at most 500"),
    ],
)
def test_bad_word_requests_are_refused(live: Live, body: object, text: str) -> None:
    response = live.http.post(live.base + "/api/words", json=body, headers=live.auth())
    assert response.status_code == 400
    assert text in response.text


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        (b"{not json", 400, "must be JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (json.dumps({"id": "no-such-pair", "decision": "rejected"}).encode(), 400, "no such pair"),
        (json.dumps({"id": "hostile-img", "decision": "delete"}).encode(), 400, "must be one of"),
        (
            json.dumps({"id": "hostile-img", "decision": "edited", "gyaru": " "}).encode(),
            400,
            "1 to",
        ),
        (b'{"id": "' + b"x" * 70_000 + b'"}', 413, "too large"),
    ],
)
def test_bad_changes_are_refused_with_a_reason(
    live: Live, body: bytes, status: int, text: str
) -> None:
    response = live.http.post(
        live.base + "/api/decision",
        content=body,
        headers=live.auth(**{"Content-Type": "application/json"}),
    )
    assert response.status_code == status
    assert text in response.text
    assert review_bytes(live) is None


@pytest.mark.parametrize(
    "path",
    [
        "/static/../../../../etc/passwd",
        "/static/%2e%2e%2f%2e%2e%2fpyproject.toml",
        "/static/..%2f__init__.py",
        "/static/index.html",
        "/static/__init__.py",
        "/static/",
        "/gyaru_dataset_20261128-101500-demo.review.json",
        "/outputs/processed/gyaru_dataset_20261128-101500-demo.json",
    ],
)
def test_no_path_reaches_the_file_system(live: Live, path: str) -> None:
    response = live.http.get(live.base + path, params={"token": live.token})
    assert response.status_code == 404
    assert "root:" not in response.text


def test_model_output_is_served_as_json_data_never_as_a_page(live: Live) -> None:
    response = live.http.get(live.base + "/api/data", headers=live.auth())
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-content-type-options"] == "nosniff"
    ids = {p["id"]: p for p in response.json()["pairs"]}
    assert ids["hostile-script"]["standard"].startswith("<script>")
    page = live.http.get(live.bound.url).text
    assert "<script>window" not in page, "the page itself holds no pair text"


def test_the_server_listens_on_loopback_only(live: Live) -> None:
    assert live.bound.sock.getsockname()[0] == "127.0.0.1"
