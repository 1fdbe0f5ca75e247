"""dataset: finding a processed dataset by path or run id, and refusing what is not one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from client.errors import UsageError
from client.storage.dataset import load_dataset, resolve_source


def test_run_id_or_path(tmp_path: Path) -> None:
    assert (
        resolve_source("20261128-101500-a1b2", tmp_path)
        == tmp_path / "processed" / "gyaru_dataset_20261128-101500-a1b2.json"
    )
    assert resolve_source("some/file.json", tmp_path) == Path("some/file.json")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON"),
        ('{"metadata": {}}', "no 'pairs' list"),
        ('{"pairs": [{"standard": 1}]}', "pair 0 lacks"),
    ],
)
def test_bad_datasets_are_usage_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "d.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError, match=message):
        load_dataset(str(path), tmp_path)


def test_loads_pairs_and_metadata(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(
        json.dumps({"metadata": {"run_id": "x"}, "pairs": [{"standard": "a", "gyaru": "b"}]}),
        encoding="utf-8",
    )
    data = load_dataset(str(path), tmp_path)
    assert data.metadata == {"run_id": "x"} and data.pairs == [{"standard": "a", "gyaru": "b"}]
