"""The client against vLLM serving a bitsandbytes 4-bit checkpoint, as compose.yaml does.

compose.yaml serves a pre-quantized bitsandbytes 4-bit model (unsloth's bnb-4bit
upload) with `--quantization bitsandbytes --dtype float16`. Here the tier's vLLM 0.32
CPU build, with the same plugin pins as the server image, serves the tiny model
quantized the same way (tests/e2e/bnb_model.py: NF4, double quantization) with those
two flags taken from the command Compose resolves, and a real `client generate` runs
through it. The server's own log says which quantization and loader it used.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_helpers import gen_args, run_client
from tests.compose.test_compose import (
    COMPOSE_FILE,
    compose_binary,
    flag_value,
    resolve,
    services_of,
)
from tests.e2e.conftest import NO_PAIR_CHECKS, _unavailable
from tests.e2e.vllm_server import BNB_MODEL_DIR, ServerInfo, ServerUnavailable, running_server

pytestmark = pytest.mark.e2e


def compose_quantization_flags(project: Path) -> list[str]:
    shutil.copy(COMPOSE_FILE, project / "compose.yaml")
    command = services_of(resolve(compose_binary(), project))["vllm"]["command"]
    return [
        flag for name in ("--quantization", "--dtype") for flag in (name, flag_value(command, name))
    ]


@pytest.fixture(scope="module")
def bnb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerInfo]:
    flags = compose_quantization_flags(tmp_path_factory.mktemp("compose"))
    assert flags == ["--quantization", "bitsandbytes", "--dtype", "float16"]
    try:
        with running_server(
            model_dir=BNB_MODEL_DIR, extra_args=(*flags, "--enforce-eager")
        ) as server:
            yield server
    except ServerUnavailable as exc:
        _unavailable(exc)


def test_checkpoint_is_prequantized_like_the_default_model() -> None:
    config = json.loads((BNB_MODEL_DIR / "config.json").read_text(encoding="utf-8"))
    quant = config["quantization_config"]
    assert quant["quant_method"] == "bitsandbytes"
    assert quant["load_in_4bit"] is True
    assert quant["bnb_4bit_quant_type"] == "nf4"


def test_generate_through_a_bitsandbytes_model(bnb_server: ServerInfo, tmp_path: Path) -> None:
    log = bnb_server.log_path.read_text(encoding="utf-8", errors="replace")
    assert "quantization=bitsandbytes" in log
    assert "load_format=bitsandbytes" in log
    assert "BitsAndBytesModelLoader" in log
    # --no-judge: this is about the bitsandbytes path; the random model's grades would
    # turn every pair down.
    result = run_client(
        gen_args(
            bnb_server.base_url, tmp_path, "--no-judge", "--batches", "2", "--pairs-per-batch", "2"
        ),
        timeout=300,
        **NO_PAIR_CHECKS,
    )
    assert result.code == 0, result.stderr[-3000:]
    raw = sorted((tmp_path / "raw" / "r1").glob("batch_*.json"))
    assert len(raw) == 2
    dataset = json.loads((tmp_path / "processed" / "gyaru_dataset_r1.json").read_text("utf-8"))
    assert dataset["pairs"], "no pair survived from the bitsandbytes server"
