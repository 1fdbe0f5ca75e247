from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from client.config import Settings, load_settings
from client.server import retry
from tests.helpers import BASE_URL, MODEL, PROMPT

REAL_SERVER_TIERS = ("loopback", "e2e")


@pytest.fixture(autouse=True)
def _no_retry_sleep() -> Iterator[None]:
    retry.set_testing(True)
    yield
    retry.set_testing(False)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    # Settings read GYARU_* and VLLM_API_KEY; the developer's shell must not leak in.
    import os

    for name in list(os.environ):
        if name.startswith("GYARU_") or name == "VLLM_API_KEY":
            monkeypatch.delenv(name)
    # respx mocks httpx's own stack, so tests with a mocked server run over it; the tiers
    # with a real server run the default, aiohttp.
    if not any(request.node.get_closest_marker(tier) for tier in REAL_SERVER_TIERS):
        monkeypatch.setenv("GYARU_SERVER__HTTP_TRANSPORT", "httpx")


@pytest.fixture(autouse=True)
def _plain_logs() -> None:
    structlog.reset_defaults()


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings for tests: the repo's prompt, output under tmp_path, a mocked server."""

    def build(**sections: dict[str, Any]) -> Settings:
        base: dict[str, dict[str, Any]] = {
            "server": {"base_url": BASE_URL, "model": MODEL, "request_timeout_s": 10},
            "generation": {
                "total_batches": 4,
                "num_pairs_per_batch": 5,
                "concurrency": 4,
                "seed": 1000,
            },
            "output": {"output_dir": tmp_path / "outputs", "fsync": False},
            "prompt": {"system_prompt_path": PROMPT},
        }
        for name, values in sections.items():
            base.setdefault(name, {}).update(values)
        empty = tmp_path / "empty.yaml"
        empty.write_text("", encoding="utf-8")
        return load_settings(empty, base)

    return build
