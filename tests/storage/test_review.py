"""storage.review: the review file beside a dataset, and the run's rejected items."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from client.errors import UsageError
from client.pairs.review import Decision, Review, RunDecision, fingerprint
from client.storage.dataset import load_dataset
from client.storage.review import (
    ReviewFile,
    rejections,
    review_path,
    reviewed_dataset,
    run_rejections,
)
from tests.web.demo import write_demo


def test_review_file_sits_beside_the_dataset() -> None:
    path = Path("outputs/processed/gyaru_dataset_r1.json")
    assert review_path(path) == Path("outputs/processed/gyaru_dataset_r1.review.json")


def test_round_trip_and_no_file_means_no_decisions(tmp_path: Path) -> None:
    review = ReviewFile.beside(tmp_path / "d.json")
    assert review.load() == Review()
    decisions = Review(
        {
            "a": Decision("rejected", "f1", "t1"),
            "b": Decision("edited", "f2", "t2", "あーし直したし"),
        }
    )
    review.save(decisions, now="2026-12-01T00:00:00Z")
    assert review.load() == decisions
    document = json.loads(review.path.read_text(encoding="utf-8"))
    assert document["format"] == 1
    assert "run_rejected" not in document, "a file without rescues reads as before"
    assert document["dataset"] == "d.json"
    assert document["updated_at"] == "2026-12-01T00:00:00Z"
    assert [p.name for p in tmp_path.iterdir()] == ["d.review.json"], "no temporary file left"


def test_a_failed_write_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    review = ReviewFile.beside(tmp_path / "d.json")
    review.save(Review({"a": Decision("accepted", "f", "t")}), now="t")
    before = review.path.read_bytes()

    def disk_gone(fd: int) -> None:
        raise OSError(5, "Input/output error")

    # The new file is written in full to a temporary name; the failure comes before
    # the rename, as when the machine dies there.
    monkeypatch.setattr("os.fsync", disk_gone)
    with pytest.raises(OSError, match="Input/output"):
        review.save(Review({"a": Decision("rejected", "f", "t2")}), now="t2")
    assert review.path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["d.review.json"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{broken", "not valid JSON"),
        ('{"format": 1}', "no 'decisions' mapping"),
        (
            '{"decisions": {"a": {"decision": "maybe", "lines": "f"}}}',
            "decision for 'a' is invalid",
        ),
        ('{"decisions": {"a": {"decision": "rejected"}}}', "decision for 'a' is invalid"),
        ('{"decisions": {}, "run_rejected": []}', "'run_rejected' is not a mapping"),
        (
            '{"decisions": {}, "run_rejected": {"x": {"decision": "accepted", "lines": "f"}}}',
            "decision on the run's item 'x' is invalid",
        ),
        (
            '{"decisions": {}, "run_rejected": {"x": {"decision": "accepted", "lines": "f",'
            ' "item": {"id": "x", "standard": "a", "gyaru": 1, "reason": "judge"}}}}',
            "decision on the run's item 'x' is invalid",
        ),
    ],
)
def test_a_damaged_review_file_is_an_error_not_an_empty_review(
    tmp_path: Path, content: str, message: str
) -> None:
    review = ReviewFile.beside(tmp_path / "d.json")
    review.path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError, match=message):
        review.load()


def test_run_rejections_come_from_the_raw_batch_files(tmp_path: Path) -> None:
    demo = write_demo(tmp_path / "outputs", pairs=120, per_batch=30)
    raw = sorted((tmp_path / "outputs" / "raw" / demo.run_id).glob("batch_*.json"))
    expected = [
        (int(p.stem.split("_")[1]), r)
        for p in raw
        for r in json.loads(p.read_text(encoding="utf-8"))["rejected"]
    ]
    items = run_rejections(demo.dataset, {"run_id": demo.run_id})
    assert len(items) == len(expected) > 0
    for item, (batch, rejection) in zip(items, expected, strict=True):
        assert item.batch == batch
        assert item.reason == rejection["reason"]
        assert item.standard == rejection["item"]["standard"]
        assert item.id == f"{demo.run_id}-b{batch:04d}-x{rejection['index']:03d}"


def test_run_rejections_keep_the_judge_and_odd_items(tmp_path: Path) -> None:
    demo = write_demo(tmp_path / "outputs", pairs=1)
    raw_dir = tmp_path / "outputs" / "raw" / demo.run_id
    grades = {
        "meaning": 1,
        "voice": 5,
        "naturalness": 4,
        "safety": 5,
        "topic_ok": True,
        "reason": "意味が逆",
    }
    record = {
        "status": "ok",
        "accepted": [],
        "rejected": [
            {
                "index": 0,
                "reason": "judge",
                "detail": "意味が逆",
                "item": {"standard": "a", "gyaru": "b", "judge": grades},
            },
            {"index": 1, "reason": "schema", "detail": "not an object", "item": ["<b>x</b>"]},
            # Every `missing` input of a batch has the position -1: ids stay apart.
            {"index": -1, "reason": "missing", "detail": "", "item": {"standard": "一"}},
            {"index": -1, "reason": "missing", "detail": "", "item": {"standard": "二"}},
        ],
    }
    (raw_dir / "batch_0099.json").write_text(json.dumps(record), encoding="utf-8")
    items = [i for i in rejections(demo.dataset, {"run_id": demo.run_id}) if i.batch == 99]
    assert items[0].judge is not None and items[0].judge.to_json() == grades
    assert items[1].standard == '["<b>x</b>"]' and not items[1].rescuable
    assert [i.id for i in items[2:]] == [
        f"{demo.run_id}-b0099-x-01",
        f"{demo.run_id}-b0099-x-01.2",
    ]


@pytest.mark.parametrize("metadata", [{}, {"run_id": "../etc"}, {"run_id": 5}, {"run_id": "gone"}])
def test_no_run_folder_means_no_rejections(tmp_path: Path, metadata: dict[str, object]) -> None:
    demo = write_demo(tmp_path / "outputs", pairs=1)
    assert run_rejections(demo.dataset, metadata) == []


def test_reviewed_dataset_applies_the_file_and_says_so(tmp_path: Path) -> None:
    demo = write_demo(tmp_path / "outputs", pairs=5)
    dataset = load_dataset(str(demo.dataset), demo.output_dir)
    same, nothing = reviewed_dataset(dataset)
    assert same is dataset and nothing.reviewed == 0
    first, second = demo.pairs[0], demo.pairs[1]
    ReviewFile.beside(demo.dataset).save(
        Review(
            {
                first["id"]: Decision(
                    "rejected", fingerprint(first["standard"], first["gyaru"]), "t"
                ),
                second["id"]: Decision(
                    "edited", fingerprint(second["standard"], second["gyaru"]), "t", "あーし直した"
                ),
            }
        ),
        now="t",
    )
    reviewed, result = reviewed_dataset(dataset)
    assert [p["id"] for p in reviewed.pairs] == [p["id"] for p in demo.pairs[1:]]
    assert reviewed.pairs[0]["gyaru"] == "あーし直した"
    assert reviewed.metadata["review"] == {
        "file": demo.dataset.stem + ".review.json",
        "reviewed": 2,
        "accepted": 0,
        "rejected": 1,
        "edited": 1,
        "rescued": 0,
        "rejection_confirmed": 0,
        "stale": 0,
    }
    assert reviewed.metadata["run_id"] == demo.run_id
    assert result.counts["rejected"] == 1


def test_a_rescue_is_kept_whole_in_the_review_file(tmp_path: Path) -> None:
    demo = write_demo(tmp_path / "outputs", pairs=30)
    item = next(i for i in run_rejections(demo.dataset, {"run_id": demo.run_id}) if i.rescuable)
    decision = Decision("accepted", fingerprint(item.standard, item.gyaru), "t")
    review = ReviewFile.beside(demo.dataset)
    review.save(Review(run_items={item.id: RunDecision(decision, item)}), now="t")
    assert review.load().run_items[item.id].item == item
    # The run's raw files are gone (moved, cleaned up): the rescue is not.
    for raw in (tmp_path / "outputs" / "raw" / demo.run_id).iterdir():
        raw.unlink()
    dataset = load_dataset(str(demo.dataset), demo.output_dir)
    reviewed, result = reviewed_dataset(dataset)
    assert reviewed.pairs[-1]["id"] == item.id and reviewed.pairs[-1]["gyaru"] == item.gyaru
    assert len(reviewed.pairs) == len(demo.pairs) + 1 and result.rescued == 1
    assert reviewed.metadata["review"]["rescued"] == 1
    assert json.loads(demo.dataset.read_text(encoding="utf-8"))["pairs"] == demo.pairs, (
        "the dataset file is untouched"
    )
