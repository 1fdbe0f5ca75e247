"""pairs.stored: the records read back from the files, typed; every field round-trips,
fields this version does not know are kept, missing ones read as empty."""

from __future__ import annotations

import json
import pickle
import sys
from typing import Any

import pytest

from client.pairs.inputs import InputItem
from client.pairs.judge import Grades
from client.pairs.records import Pair, Rejection
from client.pairs.stored import DatasetMetadata, InputRef, SetAside, StoredPair, StoredRejection

GRADES = Grades(meaning=5, voice=4, naturalness=4, safety=5, topic_ok=True, reason="自然")
INPUT = InputItem(id=3, line=7, text="今日は晴れです。", key="ab" * 12)

# Every field a writer of this version puts on a pair, in the order the run writes them.
EVERY_FIELD: dict[str, Any] = {
    "id": "r-b0002-004",
    "batch": 2,
    "topic": "Daily",
    "standard": "今日は晴れです。",
    "gyaru": "今日マジ晴れ〜あーし最高",
    "generated_at": "2026-12-01T00:00:00Z",
    "quality": 0.75,
    "input": {"id": 3, "line": 7, "key": "ab" * 12, "tied_by": "text"},
    "judge": GRADES.to_json(),
    "check_note": "meaning_drift: unsure",
    "rescued_from": "register",
    "edited_from": "今日は晴れてるね。",
    "unjudged": True,
}


def test_every_field_of_a_pair_is_read_typed_and_written_back_the_same() -> None:
    pair = StoredPair.from_json(EVERY_FIELD)
    assert pair == StoredPair(
        id="r-b0002-004",
        batch=2,
        topic="Daily",
        standard="今日は晴れです。",
        gyaru="今日マジ晴れ〜あーし最高",
        generated_at="2026-12-01T00:00:00Z",
        quality=0.75,
        input=InputRef(id=3, line=7, key="ab" * 12, tied_by="text"),
        judge=GRADES,
        check_note="meaning_drift: unsure",
        rescued_from="register",
        edited_from="今日は晴れてるね。",
        unjudged=True,
    )
    assert pair.extra == () and pair.graded and pair.position == 4
    assert pair.input is not None and pair.input.tied_by_text
    written = pair.to_json()
    assert written == EVERY_FIELD and list(written) == list(EVERY_FIELD)


def test_what_the_run_writes_reads_back_as_the_same_pair() -> None:
    """The writer (records.Pair.to_json) and the reader agree, byte for byte."""
    made = Pair(
        id="r-b0001-000",
        batch=1,
        topic="Tech",
        standard="新しいパソコンを買いました。",
        gyaru="新しいパソコン買ったし！あーし最高",
        generated_at="t",
        quality=0.8,
        input=INPUT,
        tied_by_text=True,
        judge=GRADES,
        check_note="unsure",
    )
    written = made.to_json()
    read = StoredPair.from_json(json.loads(json.dumps(written)))
    assert json.dumps(read.to_json(), ensure_ascii=False) == json.dumps(written, ensure_ascii=False)
    assert (read.id, read.standard, read.gyaru, read.quality, read.judge) == (
        made.id,
        made.standard,
        made.gyaru,
        made.quality,
        made.judge,
    )
    assert read.input == InputRef(id=3, line=7, key=INPUT.key, tied_by="text")


def test_fields_this_version_does_not_know_are_kept_in_place() -> None:
    data = {
        "id": "x-1",
        "standard": "a",
        "gyaru": "b",
        "speaker": {"age": 17, "region": "渋谷"},
        "quality": 0.5,
        "tags": ["slang"],
        "input": {"id": 1, "line": 2, "key": "k", "sheet": "B"},
    }
    pair = StoredPair.from_json(data)
    assert pair.extra == (("speaker", {"age": 17, "region": "渋谷"}), ("tags", ["slang"]))
    assert pair.input is not None and pair.input.extra == (("sheet", "B"),)
    assert pair.to_json() == data
    # Still there after a change the tool makes (the judge keeps the pair).
    graded = pair.graded_by(GRADES).to_json()
    assert graded["speaker"] == {"age": 17, "region": "渋谷"} and graded["tags"] == ["slang"]
    assert graded["judge"] == GRADES.to_json()


def test_missing_fields_read_as_empty() -> None:
    pair = StoredPair.from_json({})
    assert (pair.standard, pair.gyaru) == ("", "")
    assert (pair.id, pair.batch, pair.topic, pair.generated_at, pair.quality) == (None,) * 5
    assert (pair.input, pair.judge, pair.check_note, pair.judge_json) == (None,) * 4
    assert not pair.graded and not pair.unjudged and pair.position == -1
    # Written back, a missing field stays missing (only the two lines are always there).
    assert StoredPair.from_json({"standard": "a", "gyaru": "b"}).to_json() == {
        "standard": "a",
        "gyaru": "b",
    }


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("quality", "0.8"),
        ("quality", None),
        ("batch", True),
        ("batch", "2"),
        ("topic", 5),
        ("id", 7),
        ("unjudged", False),
        ("input", "line 3"),
        ("check_note", None),
        ("standard", 12),
    ],
)
def test_a_value_this_version_cannot_read_is_kept_as_it_was(name: str, value: Any) -> None:
    data = {"standard": "a", "gyaru": "b", name: value}
    pair = StoredPair.from_json(data)
    assert pair.extra == ((name, value),)
    assert pair.to_json() == data


def test_grades_in_another_shape_stay_as_they_are_and_count_as_graded() -> None:
    odd = {"meaning": 5, "voice": 4, "keep": True}
    pair = StoredPair.from_json({"standard": "a", "gyaru": "b", "judge": odd})
    assert pair.judge is None and pair.graded and pair.judge_json == odd
    assert pair.to_json()["judge"] == odd
    # A grade written as a string is read (leniently) by the judge, but not rewritten.
    stringy = {**GRADES.to_json(), "meaning": "5"}
    kept = StoredPair.from_json({"standard": "a", "gyaru": "b", "judge": stringy})
    assert kept.judge is None and kept.to_json()["judge"] == stringy
    # Null grades: not graded, and null written back.
    none = StoredPair.from_json({"standard": "a", "gyaru": "b", "judge": None})
    assert not none.graded and none.to_json() == {"standard": "a", "gyaru": "b", "judge": None}


def test_a_change_replaces_what_was_kept_of_that_field() -> None:
    pair = StoredPair.from_json({"standard": "a", "gyaru": "b", "judge": {"keep": 1}})
    assert pair.changed(judge=None).to_json() == {"standard": "a", "gyaru": "b"}
    edited = pair.changed(gyaru="c", edited_from=pair.gyaru)
    assert (edited.gyaru, edited.edited_from, edited.judge_json) == ("c", "b", {"keep": 1})
    assert pair.gyaru == "b", "the pair itself is unchanged"


def test_a_rejection_round_trips_with_its_item_and_input() -> None:
    made = Rejection(
        index=2,
        reason="register",
        detail="persona line uses 'ます'",
        item={"id": 9, "standard": "x", "gyaru": "yます", "topic": "Daily"},
        input=INPUT,
    )
    written = made.to_json()
    read = StoredRejection.from_json(written)
    assert (read.index, read.reason, read.detail, read.item) == (
        2,
        "register",
        made.detail,
        made.item,
    )
    assert read.input == InputRef(id=3, line=7, key=INPUT.key)
    assert read.to_json() == written and list(read.to_json()) == list(written)
    item = read.item_pair
    assert item is not None and (item.standard, item.gyaru, item.topic) == ("x", "yます", "Daily")
    # An item that was not an object is kept as the model wrote it, null included.
    for raw in (["<b>x</b>"], None, 5):
        odd = StoredRejection.from_json({"index": 0, "reason": "schema", "item": raw})
        assert odd.item == raw and odd.item_pair is None
        assert odd.to_json() == {"index": 0, "reason": "schema", "item": raw}


def test_a_rejection_keeps_unknown_fields_and_reads_missing_ones_as_empty() -> None:
    data = {"reason": "topic", "item": {}, "severity": "high", "index": "3"}
    read = StoredRejection.from_json(data)
    assert (read.index, read.detail, read.input) == (None, None, None)
    assert read.extra == (("severity", "high"), ("index", "3"))
    assert read.to_json() == data


def test_a_set_aside_pair_round_trips() -> None:
    data = {
        "reason": "judge",
        "detail": "judge: meaning 1/5 (min 4)",
        "judge": GRADES.to_json(),
        "pair": {"id": "p", "standard": "a", "gyaru": "b", "unjudged": True, "mood": "x"},
        "reviewer": "k",
    }
    entry = SetAside.from_json(data)
    assert entry is not None and entry.judge == GRADES and entry.pair.unjudged
    assert entry.judge_json == GRADES.to_json()
    assert entry.to_json() == data
    assert SetAside.from_json({"reason": "judge"}) is None
    assert SetAside.from_json("x") is None
    # Grades only on the pair: those are the set-aside's grades.
    on_pair = SetAside.from_json({"pair": {"standard": "a", "gyaru": "b", "judge": {"keep": 1}}})
    assert on_pair is not None and on_pair.judge_json == {"keep": 1}


def test_dataset_metadata_reads_what_the_commands_need_and_keeps_the_rest() -> None:
    data = {
        "run_id": "r1",
        "created_at": "t",
        "model": "m",
        "persona": "あーし系ギャル",
        "topics": ["Daily"],
        "system_prompt_sha256": "abc",
        "endpoints": ["http://x"],
        "config": {"persona": {"name": "あーし系ギャル"}},
        "summary": {"near_duplicates": 3, "pairs_unique": 10},
        "future_field": 1,
    }
    metadata = DatasetMetadata.from_json(data)
    assert (metadata.run_id, metadata.model, metadata.persona, metadata.created_at) == (
        "r1",
        "m",
        "あーし系ギャル",
        "t",
    )
    assert metadata.system_prompt_sha256 == "abc" and metadata.near_duplicates == 3
    assert metadata.config == {"persona": {"name": "あーし系ギャル"}}
    assert metadata.review is None and metadata.to_json() == data
    judged = metadata.with_fields(judged_at="t2", judge={"kept": 1})
    assert list(judged.to_json()) == [*data, "judged_at", "judge"]
    assert metadata.to_json() == data, "the metadata itself is unchanged"


@pytest.mark.parametrize("raw", [None, [], "x", {"run_id": 5, "summary": "no", "config": []}])
def test_metadata_this_version_cannot_read_is_empty(raw: Any) -> None:
    metadata = DatasetMetadata.from_json(raw)
    assert (metadata.run_id, metadata.config, metadata.near_duplicates) == (None, None, None)
    assert metadata.summary == {}


def test_a_stored_pair_is_smaller_than_the_dict_it_replaces_and_pickles() -> None:
    """A run reads back tens of thousands of pairs (issue 24's 300 MB budget)."""
    data = {k: v for k, v in EVERY_FIELD.items() if k not in ("rescued_from", "edited_from")}
    pair = StoredPair.from_json(data)
    assert sys.getsizeof(pair) < sys.getsizeof(data) / 2
    assert pickle.loads(pickle.dumps(pair)) == pair
