"""hf and dpo exports of a real run on disk, read back by the library that consumes them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from client.pairs.export import split
from client.storage.batch_record import BatchRecord
from client.storage.dataset import load_dataset
from client.storage.exports import EXPORTS, ExportJob, export
from client.storage.processed import build_dataset
from client.storage.runstore import RunStore

datasets = pytest.importorskip("datasets")

SYSTEM = "あなたはギャルです。"
# TRL's preference types (trl/data_utils.py, apply_chat_template): explicit prompt.
TRL_PREFERENCE_KEYS = {"prompt", "chosen", "rejected"}


def pair(batch: int, i: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"r1-b{batch:04d}-{i:03d}",
        "batch": batch,
        "topic": "Daily",
        "standard": f"今日は{batch}-{i}番の話をします。",
        "gyaru": f"今日{batch}-{i}番の話しちゃうじゃん、あーし",
        "generated_at": "2026-12-01T00:00:00Z",
        "quality": 0.6,
        **extra,
    }


def make_run(tmp_path: Path) -> Path:
    store = RunStore(tmp_path / "outputs", "r1", fsync=False)
    store.prepare()
    for batch in (1, 2):
        accepted = [pair(batch, i, judge={"meaning": 4 + i % 2}) for i in range(4)]
        bad = {**pair(batch, 0), "gyaru": "今日は話をするよ。"}
        rejected = [
            {"index": 4, "reason": "missing_first_person", "detail": "", "item": bad},
            {"index": 5, "reason": "schema", "detail": "", "item": {"x": 1}},
        ]
        record = {"batch": batch, "status": "ok", "request": {"num_pairs": 6}}
        data = {**record, "accepted": accepted, "rejected": rejected}
        store.write_batch(batch, BatchRecord(data))
    _, path = build_dataset(
        store,
        key="pair",
        metadata={
            "run_id": "r1",
            "persona": "あーし系ギャル",
            "model": "m",
            "system_prompt_sha256": "h",
        },
    )
    return path


def test_hf_export_loads_from_disk_with_the_same_split_as_jsonl(tmp_path: Path) -> None:
    dataset = load_dataset(str(make_run(tmp_path)), tmp_path / "outputs")
    out = tmp_path / "hf"
    written = export("hf", ExportJob(dataset, out, SYSTEM, val_fraction=0.25, seed=7))
    assert written.files == {
        str(out / "data" / "train-00000-of-00001.parquet"): 6,
        str(out / "data" / "validation-00000-of-00001.parquet"): 2,
    }
    loaded = datasets.load_from_disk(str(tmp_path / "hf"))
    _, val = split(dataset.pairs, 0.25, seed=7)
    assert sorted(loaded["validation"]["id"]) == sorted(p["id"] for p in val)
    row = loaded["train"][0]
    assert row["messages"][0] == {"role": "system", "content": SYSTEM}
    assert row["judge_meaning"] in (4, 5)
    card = (tmp_path / "hf" / "README.md").read_text(encoding="utf-8")
    assert "| missing_first_person | 2 |" in card and "Judge grades (8 graded pairs)" in card


def test_dpo_export_has_trls_preference_columns_and_uses_the_runs_rejections(
    tmp_path: Path,
) -> None:
    dataset = load_dataset(str(make_run(tmp_path)), tmp_path / "outputs")
    out = tmp_path / "dpo.jsonl"
    written = export("dpo", ExportJob(dataset, out, SYSTEM, val_fraction=0.25, seed=7))
    assert written.files == {str(out): 6, str(tmp_path / "dpo.val.jsonl"): 2}
    assert written.details["rejected_sources"] == {
        "rejected_from_run": {"missing_first_person": 2},
        "rejected_is_standard_line": 6,
    }
    loaded = datasets.load_dataset(
        "json",
        data_files={"train": str(out), "validation": str(tmp_path / "dpo.val.jsonl")},
        cache_dir=str(tmp_path / "cache"),
    )
    assert set(loaded["train"].column_names) == TRL_PREFERENCE_KEYS
    rows = list(loaded["train"]) + list(loaded["validation"])
    for row in rows:
        # Conversational, as TRL's is_conversational checks: lists of role/content dicts.
        assert [m["role"] for m in row["prompt"]] == ["system", "user"]
        assert [m["role"] for m in row["chosen"]] == ["assistant"]
        assert [m["role"] for m in row["rejected"]] == ["assistant"]
        assert row["chosen"][0]["content"] != row["rejected"][0]["content"]
    by_prompt = {r["prompt"][1]["content"]: r["rejected"][0]["content"] for r in rows}
    assert by_prompt["今日は1-0番の話をします。"] == "今日は話をするよ。"
    assert by_prompt["今日は1-1番の話をします。"] == "今日は1-1番の話をします。"


def test_dpo_export_without_raw_files_falls_back_to_the_standard_line(tmp_path: Path) -> None:
    import shutil

    path = make_run(tmp_path)
    shutil.rmtree(tmp_path / "outputs" / "raw")
    dataset = load_dataset(str(path), tmp_path / "outputs")
    written = export("dpo", ExportJob(dataset, tmp_path / "d.jsonl", None))
    assert written.details["rejected_sources"] == {
        "rejected_from_run": {},
        "rejected_is_standard_line": 8,
    }


@pytest.mark.parametrize("name", ["openai-chat", "alpaca", "sharegpt"])
def test_every_jsonl_format_writes_the_same_split_as_the_others(tmp_path: Path, name: str) -> None:

    dataset = load_dataset(str(make_run(tmp_path)), tmp_path / "outputs")
    out = tmp_path / f"{name}.jsonl"
    written = export(name, ExportJob(dataset, out, SYSTEM, val_fraction=0.25, seed=7))
    assert written.files == {str(out): 6, str(tmp_path / f"{name}.val.jsonl"): 2}
    _, val = split(dataset.pairs, 0.25, seed=7)
    val_rows = (tmp_path / f"{name}.val.jsonl").read_text(encoding="utf-8").splitlines()
    text = "\n".join(val_rows)
    assert all(p["standard"] in text for p in val)


def test_the_registry_refuses_what_a_format_cannot_do(tmp_path: Path) -> None:
    from client.errors import UsageError

    dataset = load_dataset(str(make_run(tmp_path)), tmp_path / "outputs")
    reversible = sorted(name for name, f in EXPORTS.items() if f.reversible)
    assert reversible == ["alpaca", "openai-chat", "sharegpt"]
    assert [name for name, f in EXPORTS.items() if f.needs_raw] == ["dpo"]
    for name in ("dpo", "hf"):
        with pytest.raises(UsageError, match=r"^--reverse applies to openai-chat, alpaca"):
            export(name, ExportJob(dataset, tmp_path / "x", None, reverse=True))
    with pytest.raises(UsageError, match="unknown export format 'csv'"):
        export("csv", ExportJob(dataset, tmp_path / "x", None))
    assert not (tmp_path / "x").exists()
