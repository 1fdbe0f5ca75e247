"""The real-vLLM tier: one vLLM CPU server for the whole session, started with an API key.

The server (and its own virtual environment, built on first use and cached under
.cache/) comes from tests/e2e/vllm_server.py. When it cannot be set up, these
tests are skipped with the reason, except where E2E_REQUIRE_VLLM=1 (CI) makes
that a failure instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.e2e.vllm_server import (
    ServerInfo,
    ServerUnavailable,
    SetupResult,
    ensure_setup,
    running_server,
)

API_KEY = "sk-e2e-test-key-0001"
# The tiny model has random weights and writes nonsense, which the pair checks rightly
# reject (register, truncation...). These tests are about the pipeline, so runs against
# it switch the checks off through the config's environment layer (checks.enabled).
NO_PAIR_CHECKS = {"GYARU_CHECKS__ENABLED": "false"}


def _unavailable(exc: ServerUnavailable) -> None:
    if os.environ.get("E2E_REQUIRE_VLLM") == "1":
        pytest.fail(f"real vLLM server required (E2E_REQUIRE_VLLM=1) but unavailable: {exc}")
    pytest.skip(f"real vLLM server unavailable: {exc}")


@pytest.fixture(scope="session")
def vllm() -> Iterator[ServerInfo]:
    try:
        # --enforce-eager: skips a torch.compile warm-up that vLLM redoes on every start here.
        with running_server(api_key=API_KEY, extra_args=("--enforce-eager",)) as server:
            yield server
    except ServerUnavailable as exc:
        _unavailable(exc)


@pytest.fixture(scope="session")
def vllm_setup() -> SetupResult:
    """The tier's vLLM environment and tiny model, without a running server."""
    try:
        return ensure_setup()
    except ServerUnavailable as exc:
        _unavailable(exc)
        raise  # unreachable: pytest.fail/skip raise
