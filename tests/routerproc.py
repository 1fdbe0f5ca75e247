"""vLLM's real router (PyPI `vllm-router`, a dev dependency) started in front of test servers.

The router is the `vllm-router` console script of the project's environment: a Python
launcher that parses the flags with the router's own argument parser and runs the
Rust router in the same process. It starts in about a second; `running_router` picks
free ports for the API and the Prometheus metrics, waits until `/readiness` says a
worker is healthy, and stops the router (SIGTERM, then SIGKILL) on exit. Its log goes
to a file in the test's temporary folder.

    with running_router([server.root_url, fake_root], policy="round_robin", log_dir=tmp) as r:
        httpx.get(f"{r.base_url}/models")

This module imports only the standard library, like tests/e2e/vllm_server.py.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROUTER_BIN = Path(sys.executable).parent / "vllm-router"
STARTUP_TIMEOUT_S = 60.0
STOP_GRACE_S = 10.0


class RouterUnavailable(Exception):
    """The router did not start; the message says why (with its log's last lines)."""


@dataclasses.dataclass(frozen=True)
class RouterInfo:
    root_url: str
    metrics_url: str
    log_path: Path
    pid: int

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"


def pinned_version() -> str:
    """The vllm-router version pyproject.toml pins in the dev group."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    for spec in project["dependency-groups"]["dev"]:
        name, sep, version = spec.partition("==")
        if name.strip() == "vllm-router" and sep:
            return version.strip()
    raise AssertionError("pyproject.toml pins no vllm-router==VERSION in the dev group")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def get_json(url: str, timeout: float = 2.0) -> tuple[int, object]:
    """Status and JSON body of a GET (status 0 when nothing answered)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (urllib.error.URLError, OSError, ValueError):
        return 0, None


def metrics_text(router: RouterInfo) -> str:
    with urllib.request.urlopen(router.metrics_url, timeout=5) as resp:
        text: str = resp.read().decode("utf-8")
        return text


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def router_command(
    worker_urls: Sequence[str], *, port: int, metrics_port: int, policy: str, extra: Sequence[str]
) -> list[str]:
    return [
        str(ROUTER_BIN),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--worker-urls", *worker_urls,
        "--policy", policy,
        "--prometheus-host", "127.0.0.1",
        "--prometheus-port", str(metrics_port),
        # The workers are up before the router starts: check at once, not every 30 s.
        "--worker-startup-check-interval", "1",
        "--log-level", "warning",
        *extra,
    ]  # fmt: skip


@contextlib.contextmanager
def running_argv(
    argv: Sequence[str], *, port: int, metrics_port: int, log_dir: Path
) -> Iterator[RouterInfo]:
    """Run the router with exactly `argv` (which must listen on 127.0.0.1:`port`)."""
    if not ROUTER_BIN.is_file():
        raise RouterUnavailable(f"no {ROUTER_BIN}: the vllm-router dev dependency is missing")
    log_path = log_dir / f"router-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_COLOR": "1"},
            start_new_session=True,
        )
    root = f"http://127.0.0.1:{port}"
    info = RouterInfo(root, f"http://127.0.0.1:{metrics_port}/metrics", log_path, proc.pid)
    try:
        started = time.monotonic()
        while get_json(f"{root}/readiness")[0] != 200:
            if proc.poll() is not None:
                raise RouterUnavailable(
                    f"vllm-router exited with {proc.returncode}:\n{_tail(log_path)}"
                )
            if time.monotonic() - started > STARTUP_TIMEOUT_S:
                raise RouterUnavailable(f"vllm-router not ready:\n{_tail(log_path)}")
            time.sleep(0.1)
        yield info
    finally:
        _stop(proc)


@contextlib.contextmanager
def running_router(
    worker_urls: Sequence[str],
    *,
    log_dir: Path,
    policy: str = "round_robin",
    extra: Sequence[str] = (),
) -> Iterator[RouterInfo]:
    """The router on free loopback ports in front of `worker_urls` (server roots, no /v1)."""
    port, metrics_port = free_port(), free_port()
    argv = router_command(
        worker_urls, port=port, metrics_port=metrics_port, policy=policy, extra=extra
    )
    with running_argv(argv, port=port, metrics_port=metrics_port, log_dir=log_dir) as info:
        yield info
