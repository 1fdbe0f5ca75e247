"""dataset: finding a processed dataset by path or run id, and refusing what is not one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from client.errors import UsageError
from client.pairs.stored import StoredPair
from client.storage.dataset import load_dataset, resolve_source, save_dataset


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
    assert data.metadata.run_id == "x" and data.metadata.to_json() == {"run_id": "x"}
    assert data.pairs == [StoredPair(standard="a", gyaru="b")]
    # Lenient: what a pair does not say is empty.
    (pair,) = data.pairs
    assert (pair.id, pair.topic, pair.quality, pair.judge, pair.input) == (None,) * 5
    assert not pair.graded and not pair.unjudged and pair.extra == ()


def test_a_dataset_read_and_written_again_keeps_every_field(tmp_path: Path) -> None:
    """A dataset a newer version wrote (fields this one does not know, in pairs and
    metadata) goes through `client judge`'s writer unchanged but for what it sets."""
    pair = {
        "id": "r-b0001-000",
        "batch": 1,
        "topic": "Daily",
        "standard": "a",
        "gyaru": "b",
        "generated_at": "t",
        "quality": 1,
        "input": {"id": 3, "line": 4, "key": "k", "tied_by": "text", "sheet": "A"},
        "check_note": "unsure",
        "unjudged": True,
        "speaker": {"age": 17},
    }
    metadata = {"run_id": "r", "persona": "p", "config": {"persona": {}}, "seed_corpus": "x"}
    source = tmp_path / "d.json"
    source.write_text(json.dumps({"metadata": metadata, "pairs": [pair]}), encoding="utf-8")
    dataset = load_dataset(str(source), tmp_path)
    assert dataset.pairs[0].extra == (("speaker", {"age": 17}),)
    out = tmp_path / "out.json"
    save_dataset(out, dataset.metadata, dataset.pairs, fsync=False)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data == {"metadata": metadata, "pairs": [pair]}
    assert out.read_text(encoding="utf-8").count('"quality": 1,') == 1  # an int stays one
