"""docker/router/Dockerfile: a thin, non-root image of the pinned vllm-router wheel.

Read as text (no Docker engine here). It proves that the image starts FROM the same
pinned Python image as the client's, installs exactly `vllm-router` at a build argument
whose default is the version the tests run (the dev dependency in pyproject.toml, which
compose.yaml passes too), checks at build time that the Rust extension loads and the
launcher runs, runs as a non-root user with `vllm-router` as its entrypoint, and
exposes the API and metrics ports compose.yaml publishes.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from tests.compose.test_dockerfile import ROOT_USERS, VERSION_TAG, Instruction, instructions
from tests.compose.test_router_compose import ROUTER_METRICS_PORT, ROUTER_PORT
from tests.routerproc import pinned_version

REPO = Path(__file__).resolve().parents[2]
ROUTER_DOCKERFILE = REPO / "docker" / "router" / "Dockerfile"
CLIENT_DOCKERFILE = REPO / "docker" / "Dockerfile"


@pytest.fixture(scope="module")
def steps() -> list[Instruction]:
    return instructions(ROUTER_DOCKERFILE.read_text(encoding="utf-8"))


def of(steps: list[Instruction], keyword: str) -> list[str]:
    return [step.args for step in steps if step.keyword == keyword]


def test_built_on_the_clients_pinned_python_image(steps: list[Instruction]) -> None:
    (base,) = of(steps, "FROM")
    name, _, tag = base.partition(":")
    assert name == "python" and VERSION_TAG.match(tag), base
    client_bases = of(instructions(CLIENT_DOCKERFILE.read_text(encoding="utf-8")), "FROM")
    assert any(b.startswith(base) for b in client_bases), (base, client_bases)


def test_installs_exactly_the_pinned_router(steps: list[Instruction]) -> None:
    defaults = dict(arg.partition("=")[::2] for arg in of(steps, "ARG"))
    assert defaults["VLLM_ROUTER_VERSION"] == pinned_version()
    installs = [
        shlex.split(part)
        for run in of(steps, "RUN")
        for part in re.split(r";|&&", run)
        if re.search(r"\bpip install\b", part)
    ]
    assert len(installs) == 1, installs
    (words,) = installs
    assert [w for w in words if "==" in w] == ["vllm-router==${VLLM_ROUTER_VERSION}"]
    assert "--no-cache-dir" in words


def test_the_build_proves_the_router_loads(steps: list[Instruction]) -> None:
    runs = " ".join(of(steps, "RUN"))
    assert "import vllm_router_rs" in runs
    assert "vllm-router --help" in runs


def test_runs_vllm_router_as_a_non_root_user(steps: list[Instruction]) -> None:
    users = of(steps, "USER")
    assert users and users[-1] not in ROOT_USERS
    (entrypoint,) = of(steps, "ENTRYPOINT")
    assert json.loads(entrypoint) == ["vllm-router"]


def test_exposes_the_ports_compose_publishes(steps: list[Instruction]) -> None:
    exposed = {int(port) for args in of(steps, "EXPOSE") for port in args.split()}
    assert exposed == {ROUTER_PORT, ROUTER_METRICS_PORT}


def test_the_pinned_router_is_the_one_installed_here() -> None:
    from importlib.metadata import version

    assert version("vllm-router") == pinned_version()
