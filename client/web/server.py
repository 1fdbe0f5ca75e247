"""Serving the review page with uvicorn on 127.0.0.1, on a socket bound before the app
is built (so the app knows its own port, and port 0 picks a free one)."""

from __future__ import annotations

import contextlib
import secrets
import socket
import threading
import webbrowser
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import uvicorn

from client.errors import UsageError
from client.web.app import create_app
from client.web.session import ReviewSession

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Bound:
    sock: socket.socket
    port: int
    token: str

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/?token={self.token}"


def bind(port: int) -> Bound:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A restart on the same --port must not wait for the old connections' TIME_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        raise UsageError(
            f"--port {port}: cannot listen on {HOST}:{port} ({exc.strerror})"
        ) from None
    sock.listen(128)
    return Bound(sock, sock.getsockname()[1], secrets.token_urlsafe(24))


def make_server(session: ReviewSession, bound: Bound) -> uvicorn.Server:
    app = create_app(session, token=bound.token, port=bound.port)
    # The first page's word diff is ready by the time a browser asks for it.
    threading.Thread(target=session.warm, daemon=True).start()
    # log_config None: uvicorn leaves the logging set up by client.log alone.
    config = uvicorn.Config(
        app, log_config=None, log_level="warning", access_log=False, lifespan="off"
    )
    return uvicorn.Server(config)


def serve(
    session: ReviewSession,
    bound: Bound,
    *,
    on_started: Callable[[], None] | None = None,
) -> None:
    """Serve until Ctrl-C or SIGTERM (uvicorn stops cleanly on both)."""
    server = make_server(session, bound)
    if on_started is not None:
        _call_when_started(server, on_started)
    server.run(sockets=[bound.sock])


def _call_when_started(server: uvicorn.Server, callback: Callable[[], None]) -> None:
    def wait() -> None:
        while not server.should_exit:
            if server.started:
                callback()
                return
            threading.Event().wait(0.05)

    threading.Thread(target=wait, daemon=True).start()


def open_browser(url: str) -> None:
    with contextlib.suppress(webbrowser.Error):
        webbrowser.open(url)


@contextlib.contextmanager
def serving_in_thread(session: ReviewSession, bound: Bound) -> Iterator[uvicorn.Server]:
    """The server in a background thread, for tests and the benchmark; stops on exit."""
    server = make_server(session, bound)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [bound.sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the review server did not start")
            threading.Event().wait(0.02)
        yield server
    finally:
        server.should_exit = True
        thread.join(timeout=10)
