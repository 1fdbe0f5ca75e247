"""The Compose binary and a clean project folder, for every test of compose.yaml."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.compose.test_compose import COMPOSE_FILE, compose_binary


@pytest.fixture(scope="module")
def binary() -> Path:
    return compose_binary()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder holding only compose.yaml: no .env from the developer's checkout."""
    shutil.copy(COMPOSE_FILE, tmp_path / "compose.yaml")
    return tmp_path
