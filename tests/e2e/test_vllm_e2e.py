"""The client against a real vLLM 0.32 OpenAI server (CPU, tiny random model).

The model writes nonsense; these tests are about the pipeline: whatever the real
server returns is parsed, or recorded as rejected or failed with a reason, and
never crashes the run. What the server does here is written up in
docs/vllm-behaviour.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from client.config import load_settings
from client.pairs.schema import PairRules
from client.pairs.validate import ValidationContext, validate_item
from tests.cli_helpers import gen_args, run_client
from tests.e2e.conftest import API_KEY, NO_PAIR_CHECKS
from tests.e2e.vllm_server import ServerInfo

pytestmark = pytest.mark.e2e


def generate(
    server: ServerInfo, out: Path, *args: str, run_id: str = "r1", key: str | None = API_KEY
) -> Any:
    extra = {"VLLM_API_KEY": key} if key else {}
    extra.update(NO_PAIR_CHECKS)
    # --no-judge: these tests are about generation; the random model's grades would
    # make their counts chance (the judge has its own tests, test_judge_e2e.py).
    return run_client(
        gen_args(server.base_url, out, "--no-judge", *args, run_id=run_id), timeout=300, **extra
    )


def records(out: Path, run_id: str = "r1") -> list[dict[str, Any]]:
    return [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((out / "raw" / run_id).glob("batch_*.json"))
    ]


def rules() -> ValidationContext:
    s = load_settings()
    v = s.validation
    pair_rules = PairRules(
        s.persona.topics,
        s.persona.first_person,
        v.standard_min_chars,
        v.standard_max_chars,
        v.gyaru_min_chars,
        v.gyaru_max_chars,
    )
    return ValidationContext(pair_rules, s.persona.style_markers, 0.0)


def test_default_config_4_batches_at_concurrency_4(vllm: ServerInfo, tmp_path: Path) -> None:
    result = generate(
        vllm, tmp_path, "--batches", "4", "--pairs-per-batch", "3", "--concurrency", "4"
    )
    assert result.code == 0, result.stderr
    raw = records(tmp_path)
    assert len(raw) == 4
    assert all(r["request"]["structured_output"] for r in raw)
    # Guided decoding kept every reply valid JSON with exactly the items asked for.
    assert all(
        r["extraction"] == "json" and len(r["accepted"]) + len(r["rejected"]) == 3
        for r in raw
        if r["status"] == "ok"
    )
    pairs = json.loads(
        (tmp_path / "processed" / "gyaru_dataset_r1.json").read_text(encoding="utf-8")
    )["pairs"]
    assert len(pairs) >= 6
    ctx = rules()
    for pair in pairs:
        assert "あーし" in pair["gyaru"]
        item = {k: pair[k] for k in ("topic", "standard", "gyaru")}
        assert (
            validate_item(
                0, item, ctx=ctx, pair_id="x", batch=1, generated_at="t"
            ).__class__.__name__
            == "Pair"
        )


def test_check_says_ready(vllm: ServerInfo) -> None:
    result = run_client(
        ["check", "--base-url", vllm.base_url, "--log-format", "json"], VLLM_API_KEY=API_KEY
    )
    assert result.code == 0, result.stderr + result.stdout
    assert "tiny-qwen2" in result.stdout and "4096" in result.stdout
    assert "ok (" in result.stdout  # structured output with the project's schema


def test_replies_cut_at_max_tokens(vllm: ServerInfo, tmp_path: Path) -> None:
    # Roughly one complete pair fits in 300 tokens of this model's output.
    cut = generate(
        vllm,
        tmp_path,
        "--batches",
        "2",
        "--pairs-per-batch",
        "3",
        "--max-new-tokens",
        "300",
        run_id="cut",
    )
    raw = records(tmp_path, "cut")
    assert all(r["reply"]["finish_reason"] == "length" for r in raw)
    assert all(r["status"] in ("truncated", "failed") for r in raw)
    kept = [r for r in raw if r["status"] == "truncated"]
    assert all(r["extraction"] == "salvaged" for r in kept)
    assert cut.code == (0 if len(kept) == 2 else 1), cut.stderr

    tiny = generate(
        vllm,
        tmp_path,
        "--batches",
        "1",
        "--pairs-per-batch",
        "3",
        "--max-new-tokens",
        "20",
        run_id="tiny",
    )
    assert tiny.code == 1
    (record,) = records(tmp_path, "tiny")
    assert record["status"] == "failed" and record["error"]["reason"] == "no_json"
    assert "cut at max tokens" in record["error"]["message"]
    assert record["attempts"] == 3  # bounded content retries


def test_without_structured_output_nonsense_is_recorded_not_crashed(
    vllm: ServerInfo, tmp_path: Path
) -> None:
    result = generate(
        vllm,
        tmp_path,
        "--batches",
        "1",
        "--max-new-tokens",
        "64",
        "--no-structured-output",
        run_id="free",
    )
    assert result.code == 1
    assert "Traceback" not in result.stderr
    (record,) = records(tmp_path, "free")
    assert record["status"] == "failed" and record["reply"]["text"]
    assert "response_format" not in json.dumps(record["request"])


def test_wrong_model_fails_in_seconds(vllm: ServerInfo, tmp_path: Path) -> None:
    result = generate(vllm, tmp_path, "--model", "Qwen/Qwen2.5-32B-Instruct", run_id="wm")
    assert result.code == 2
    assert (
        "'Qwen/Qwen2.5-32B-Instruct' is not served" in result.stderr
        and "tiny-qwen2" in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_request_the_server_rejects_with_400_is_not_retried(
    vllm: ServerInfo, tmp_path: Path
) -> None:
    # A sampling parameter only the server checks, passed through generation.extra_body.
    result = run_client(
        gen_args(vllm.base_url, tmp_path, "--no-judge", "--batches", "2", run_id="400"),
        timeout=300,
        VLLM_API_KEY=API_KEY,
        GYARU_GENERATION__EXTRA_BODY=json.dumps({"top_k": -5}),
    )
    assert result.code == 1
    assert "HTTP 400" in result.stderr and "top_k" in result.stderr
    assert all(
        r["status"] == "failed" and r["attempts"] == 1 and r["error"]["status"] == 400
        for r in records(tmp_path, "400")
    )


def test_max_new_tokens_beyond_the_context_fails_before_any_batch(
    vllm: ServerInfo, tmp_path: Path
) -> None:
    result = generate(vllm, tmp_path, "--batches", "2", "--max-new-tokens", "100000", run_id="ctx")
    assert result.code == 2
    assert "max_new_tokens 100000 is not below the model's max_model_len 4096" in result.stderr
    assert not (tmp_path / "raw" / "ctx").exists()


def test_api_key_required(vllm: ServerInfo, tmp_path: Path) -> None:
    ok = generate(vllm, tmp_path, "--batches", "1", "--pairs-per-batch", "2", run_id="k1")
    assert ok.code == 0, ok.stderr
    assert API_KEY not in ok.stderr + ok.stdout
    assert API_KEY not in (tmp_path / "raw" / "k1" / "manifest.json").read_text(encoding="utf-8")
    missing = generate(vllm, tmp_path, "--batches", "1", run_id="k2", key=None)
    assert missing.code == 2
    assert "rejected the API key (HTTP 401)" in missing.stderr and "VLLM_API_KEY" in missing.stderr
    wrong = generate(vllm, tmp_path, "--batches", "1", run_id="k3", key="sk-wrong")
    assert wrong.code == 2 and "HTTP 401" in wrong.stderr


def test_prompt_length_is_checked_against_the_context(vllm: ServerInfo, tmp_path: Path) -> None:
    """vLLM's /tokenize says how long the prompt is: too little room is reported up front."""
    result = generate(
        vllm,
        tmp_path,
        "--batches",
        "1",
        "--pairs-per-batch",
        "1",
        "--max-new-tokens",
        "3000",
        run_id="room",
    )
    warning = next(e for e in result.events if e["event"].startswith("replies will be cut short"))
    assert warning["max_model_len"] == 4096 and 0 < warning["prompt_tokens"] < 4096
    assert warning["room_for_reply"] == 4096 - warning["prompt_tokens"]
