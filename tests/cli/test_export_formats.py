"""client export --format dpo|hf through the real CLI, read back by the library that
consumes each: Hugging Face datasets (load_from_disk, and the parquet files as the
card declares them), and TRL's preference columns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_helpers import gen_args, run_client
from tests.fakeserver import FakeServer

pytestmark = pytest.mark.loopback
datasets = pytest.importorskip("datasets")

# TRL's preference types (trl/data_utils.py): prompt, chosen, rejected, each a list of
# {"role", "content"} messages in the conversational format.
TRL_PREFERENCE_KEYS = {"prompt", "chosen", "rejected"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run whose first batch drops あーし from three lines (rejected) and whose second
    repeats the first batch's lines with it (accepted): those have a rejected twin."""
    out = tmp_path_factory.mktemp("export")
    with FakeServer(script=["noash", "repeat"]) as server:
        args = gen_args(server.base_url, out, "--batches", "2", "--pairs-per-batch", "5",
                        "--concurrency", "1")  # fmt: skip
        result = run_client(args)
    assert result.code == 0, result.stderr
    return out


def export(run_dir: Path, *args: str) -> None:
    result = run_client(["export", "r1", "--output-dir", str(run_dir), "--log-format", "json",
                         *args])  # fmt: skip
    assert result.code == 0, result.stderr


def test_dpo_rows_are_trl_preference_rows_with_the_runs_rejected_lines(
    run_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "dpo.jsonl"
    export(run_dir, "--format", "dpo", "--out", str(out), "--val-fraction", "0.2")
    files = {"train": str(out), "validation": str(tmp_path / "dpo.val.jsonl")}
    loaded = datasets.load_dataset("json", data_files=files, cache_dir=str(tmp_path / "c"))
    assert set(loaded["train"].column_names) == TRL_PREFERENCE_KEYS
    rows = [*loaded["train"], *loaded["validation"]]
    assert len(rows) == 5 and len(loaded["validation"]) == 1
    from_run = [r for r in rows if "うち" in r["rejected"][0]["content"]]
    assert len(from_run) == 3
    for row in rows:
        assert [m["role"] for m in row["prompt"]] == ["system", "user"]
        assert [m["role"] for m in row["chosen"]] == ["assistant"]
        assert "あーし" in row["chosen"][0]["content"]
        if row not in from_run:
            assert row["rejected"][0]["content"] == row["prompt"][1]["content"]


def test_hf_folder_loads_from_disk_and_as_parquet_with_its_card(
    run_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "hf"
    export(run_dir, "--format", "hf", "--out", str(out), "--val-fraction", "0.2", "--seed", "3")
    loaded = datasets.load_from_disk(str(out))
    assert {name: split.num_rows for name, split in loaded.items()} == {
        "train": 4,
        "validation": 1,
    }
    processed = json.loads(
        (run_dir / "processed" / "gyaru_dataset_r1.json").read_text(encoding="utf-8")
    )
    assert sorted([*loaded["train"]["id"], *loaded["validation"]["id"]]) == sorted(
        p["id"] for p in processed["pairs"]
    )
    assert loaded["train"][0]["messages"][2]["role"] == "assistant"
    parquet = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "c"))
    assert parquet["validation"]["id"] == loaded["validation"]["id"]
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "| model | fake-model |" in card and "| missing_first_person | 3 |" in card
    assert "license:\n" in card
    # The judge grades every kept pair (on by default): statistics in the card, columns in rows.
    assert "## Judge grades (5 graded pairs)" in card and "| meaning |" in card
    assert loaded["train"][0]["judge_meaning"] in range(1, 6)


def test_reverse_is_refused_for_dpo_and_hf(run_dir: Path, tmp_path: Path) -> None:
    result = run_client(["export", "r1", "--output-dir", str(run_dir), "--format", "dpo",
                         "--out", str(tmp_path / "x.jsonl"), "--reverse",
                         "--log-format", "json"])  # fmt: skip
    assert result.code == 2 and "--reverse applies to" in result.error
