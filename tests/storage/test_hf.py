"""The hf export folder, read back by the library that consumes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from client.errors import UsageError
from client.pairs.card import hf_row
from client.pairs.stored import DatasetMetadata, StoredPair
from client.storage.hf import write_hf_dataset

datasets = pytest.importorskip("datasets")

RAW_PAIRS = [
    {
        "id": f"r-{i}",
        "topic": "Daily",
        "standard": f"文{i}です。",
        "gyaru": f"文{i}じゃん、あーし",
        "quality": 0.5,
        "batch": 1,
        "generated_at": "2026-12-01T00:00:00Z",
        "judge": {"meaning": 4 + i % 2},
    }
    for i in range(5)
]
PAIRS = [StoredPair.from_json(p) for p in RAW_PAIRS]


def splits() -> dict[str, list[dict[str, Any]]]:
    rows = [hf_row(p, system="SYS") for p in PAIRS]
    # A validation row without judge grades: the column is null there, same type.
    rows[4] = hf_row(PAIRS[4].changed(judge=None), system="SYS")
    return {"train": rows[:4], "validation": rows[4:]}


def test_load_from_disk_reads_both_splits_with_one_schema(tmp_path: Path) -> None:
    out = write_hf_dataset(tmp_path / "hf", splits(), "---\nlicense:\n---\n# card\n")
    loaded = datasets.load_from_disk(str(out))
    assert set(loaded) == {"train", "validation"}
    assert loaded["train"].num_rows == 4 and loaded["validation"].num_rows == 1
    assert loaded["train"].features == loaded["validation"].features
    first = loaded["train"][0]
    assert first["standard"] == "文0です。" and first["judge_meaning"] == 4
    assert first["messages"][1] == {"role": "user", "content": "文0です。"}
    assert loaded["validation"][0]["judge_meaning"] is None
    assert (out / "README.md").read_text(encoding="utf-8").startswith("---\nlicense:")


def test_the_parquet_files_load_as_the_card_declares(tmp_path: Path) -> None:
    from client.pairs.card import dataset_card, judge_stats

    metadata = DatasetMetadata({"persona": "p"})
    card = dataset_card(metadata, {"train": 4, "validation": 1}, judge_stats(PAIRS))
    out = write_hf_dataset(tmp_path / "hf", splits(), card)
    assert sorted(p.name for p in (out / "data").iterdir()) == [
        "train-00000-of-00001.parquet",
        "validation-00000-of-00001.parquet",
    ]
    loaded = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "cache"))
    assert loaded["train"].num_rows == 4 and loaded["validation"].num_rows == 1
    assert loaded["train"][3]["gyaru"] == "文3じゃん、あーし"


def test_an_earlier_export_is_replaced_but_another_folder_is_refused(tmp_path: Path) -> None:
    out = write_hf_dataset(tmp_path / "hf", splits(), "card")
    write_hf_dataset(out, {"train": splits()["train"][:2]}, "card 2")
    assert datasets.load_from_disk(str(out))["train"].num_rows == 2
    assert set(datasets.load_from_disk(str(out))) == {"train"}
    assert not list(tmp_path.glob(".hf.*"))
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(UsageError, match="not empty and not an earlier export"):
        write_hf_dataset(other, splits(), "card")
    assert (other / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_a_missing_datasets_library_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_datasets(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "datasets":
            raise ImportError("No module named 'datasets'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_datasets)
    with pytest.raises(UsageError, match=r"uv sync --extra hf"):
        write_hf_dataset(Path("unused"), splits(), "card")
