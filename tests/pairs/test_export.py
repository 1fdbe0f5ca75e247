"""export: 20 pairs become 20 training examples in each format; splits and reverse."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from client.pairs.export import FORMATS, example, split
from tests.cli_helpers import run_client
from tests.fakeserver import make_pairs


def dataset(path: Path, n: int = 20) -> Path:
    pairs = [
        {"id": f"x-{i}", "batch": 1, **p, "generated_at": "2026-11-28T00:00:00Z", "quality": 0.5}
        for i, p in enumerate(make_pairs(n, "e"))
    ]
    path.write_text(
        json.dumps({"metadata": {"run_id": "x"}, "pairs": pairs}, ensure_ascii=False),
        encoding="utf-8",
    )
    return path


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


PAIR = {"standard": "眠いです。", "gyaru": "あーし眠い〜"}


def test_openai_chat_ends_with_user_then_assistant() -> None:
    ex = example(PAIR, "openai-chat", system="SYS")
    assert [m["role"] for m in ex["messages"]] == ["system", "user", "assistant"]
    assert (
        ex["messages"][1]["content"] == "眠いです。"
        and ex["messages"][2]["content"] == "あーし眠い〜"
    )


def test_alpaca_and_sharegpt_shapes() -> None:
    assert example(PAIR, "alpaca", system="SYS") == {
        "instruction": "SYS",
        "input": "眠いです。",
        "output": "あーし眠い〜",
    }
    turns = example(PAIR, "sharegpt", system="SYS")["conversations"]
    assert [t["from"] for t in turns] == ["system", "human", "gpt"]


def test_reverse_and_no_system() -> None:
    ex = example(PAIR, "openai-chat", system=None, reverse=True)
    assert ex["messages"] == [
        {"role": "user", "content": "あーし眠い〜"},
        {"role": "assistant", "content": "眠いです。"},
    ]


def test_split_is_reproducible_and_complete() -> None:
    pairs = [{"i": i} for i in range(20)]
    train, val = split(pairs, 0.1, seed=3)
    assert len(train) == 18 and len(val) == 2
    assert sorted(p["i"] for p in train + val) == list(range(20))
    assert split(pairs, 0.1, seed=3) == (train, val)


@pytest.mark.parametrize("fmt", FORMATS)
def test_cli_exports_20_pairs_to_20_lines(tmp_path: Path, fmt: str) -> None:
    source = dataset(tmp_path / "d.json")
    out = tmp_path / f"{fmt}.jsonl"
    result = run_client(
        ["export", str(source), "--format", fmt, "--out", str(out), "--log-format", "json"]
    )
    assert result.code == 0, result.stderr
    rows = lines(out)
    assert len(rows) == 20
    if fmt == "openai-chat":
        assert all([m["role"] for m in r["messages"]][-2:] == ["user", "assistant"] for r in rows)
        assert (
            rows[0]["messages"][0]["role"] == "system"
            and "あーし" in rows[0]["messages"][0]["content"]
        )


def test_cli_export_by_run_id_with_split_and_custom_system(tmp_path: Path) -> None:
    (tmp_path / "processed").mkdir()
    dataset(tmp_path / "processed" / "gyaru_dataset_run9.json")
    out = tmp_path / "sg.jsonl"
    result = run_client(
        [
            "export",
            "run9",
            "--output-dir",
            str(tmp_path),
            "--format",
            "sharegpt",
            "--out",
            str(out),
            "--val-fraction",
            "0.25",
            "--system",
            "カスタム",
            "--log-format",
            "json",
        ]
    )
    assert result.code == 0, result.stderr
    assert len(lines(out)) == 15 and len(lines(tmp_path / "sg.val.jsonl")) == 5
    assert lines(out)[0]["conversations"][0] == {"from": "system", "value": "カスタム"}


def test_cli_export_missing_source_is_exit_2(tmp_path: Path) -> None:
    result = run_client(
        [
            "export",
            str(tmp_path / "nope.json"),
            "--format",
            "alpaca",
            "--out",
            str(tmp_path / "o.jsonl"),
            "--log-format",
            "json",
        ]
    )
    assert (
        result.code == 2
        and "dataset not found" in result.stderr
        and "Traceback" not in result.stderr
    )


def test_export_uses_the_system_prompt_of_the_config_the_dataset_was_made_with(
    tmp_path: Path,
) -> None:
    from client.config import load_settings

    snapshot = load_settings().snapshot()
    snapshot["export"]["system_prompt"] = "データセット自身のシステム文"
    source = dataset(tmp_path / "d.json")
    data = json.loads(source.read_text(encoding="utf-8"))
    data["metadata"]["config"] = snapshot
    source.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "o.jsonl"
    result = run_client(
        ["export", str(source), "--format", "alpaca", "--out", str(out), "--log-format", "json"]
    )
    assert result.code == 0, result.stderr
    assert lines(out)[0]["instruction"] == "データセット自身のシステム文"
