"""store: atomic writes, what counts as finished, run ids, the streamed dataset file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from client.errors import ConfigError, OutputDirError
from client.pairs.records import BatchResult, BatchSpec
from client.storage.atomic import atomic_write_json, dump_chunks, dumps
from client.storage.batch_record import BatchRecord
from client.storage.layout import check_run_id, new_run_id
from client.storage.manifest import Manifest, ManifestWriter
from client.storage.runstore import RunStore


def test_atomic_write_leaves_no_temporary_file_and_replaces_whole(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    atomic_write_json(path, {"a": 1}, fsync=True)
    atomic_write_json(path, {"a": "二"}, fsync=False)
    assert json.loads(path.read_text(encoding="utf-8")) == {"a": "二"}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_dump_chunks_is_dumps_in_pieces_of_bounded_size() -> None:
    data = {"batches": {str(i): {"status": "ok", "topic": "日常", "seed": i} for i in range(3000)}}
    chunks = dump_chunks(data)
    assert "".join(chunks) == dumps(data)
    assert len(chunks) > 10
    # A piece closes once it passes 16 KB, at the end of one JSON token.
    assert max(len(c) for c in chunks) < 16_384 + 1_000
    assert dump_chunks({}) == ["{}"]


def test_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    atomic_write_json(path, {"old": True}, fsync=False)
    with pytest.raises(TypeError):
        atomic_write_json(path, {"bad": object()}, fsync=False)
    assert json.loads(path.read_text(encoding="utf-8")) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_finished_ignores_failed_broken_and_temporary_files(tmp_path: Path) -> None:
    store = RunStore(tmp_path, "r1", fsync=False)
    store.prepare()
    store.write_batch(1, BatchRecord({"status": "ok"}))
    store.write_batch(2, BatchRecord({"status": "truncated"}))
    store.write_batch(3, BatchRecord({"status": "failed"}))
    store.batch_path(4).write_text('{"status": "ok", "accep', encoding="utf-8")  # half a file
    (store.raw_dir / ".batch_0005.json.123.tmp").write_text("{}", encoding="utf-8")
    assert {i: r.status for i, r in store.finished_records()} == {1: "ok", 2: "truncated"}
    assert [i for i, r in store.iter_records() if r is None] == [4]
    store.prepare()  # a new run cleans up temporary files a killed one left
    assert not list(store.raw_dir.glob(".*.tmp"))


@pytest.mark.parametrize("run_id", ["../x", "a/b", "", ".hidden", "a..b", "x" * 200, "スペース"])
def test_run_ids_must_stay_inside_the_output_dir(run_id: str) -> None:
    with pytest.raises(ConfigError):
        check_run_id(run_id)


def test_new_run_ids_are_valid_and_distinct() -> None:
    ids = {new_run_id() for _ in range(20)}
    assert len(ids) > 1 and all(check_run_id(i) for i in ids)


def test_unwritable_output_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(OutputDirError, match="not writable"):
        RunStore(blocker / "out", "r1").prepare()


def test_processed_file_is_one_pair_per_line_and_valid_json(tmp_path: Path) -> None:
    store = RunStore(tmp_path, "r1", fsync=False)
    store.prepare()
    lines = [json.dumps({"id": i, "standard": "です"}, ensure_ascii=False) for i in range(3)]
    path = store.write_processed({"run_id": "r1"}, iter(lines))
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data == {
        "metadata": {"run_id": "r1"},
        "pairs": [{"id": i, "standard": "です"} for i in range(3)],
    }
    assert (
        sum(
            1
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.startswith('  {"id"')
        )
        == 3
    )


def result(index: int) -> BatchResult:
    spec = BatchSpec(index=index, num_pairs=5, topic_focus="Tech", seed=index, user_message="")
    return BatchResult(spec=spec, status="ok", attempts=1, started_at="s", finished_at="f")


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_manifest_writer_coalesces(tmp_path: Path) -> None:
    store = RunStore(tmp_path, "r1", fsync=False)
    store.prepare()
    writer = ManifestWriter(
        store.manifest_path, Manifest({"status": "running"}), fsync=False, interval_s=3600
    )
    assert not writer.due()
    writer.set_batch(result(1))
    assert writer.due()  # never written yet
    writer.write()
    writer.set_batch(result(2))
    assert not writer.due()  # written less than interval_s ago
    writer.write()
    batches = json.loads(store.manifest_path.read_text(encoding="utf-8"))["batches"]
    assert {i: b["status"] for i, b in batches.items()} == {"1": "ok", "2": "ok"}
    assert os.path.getsize(store.manifest_path) > 0


def test_a_manifest_never_written_is_due_on_a_clock_that_starts_near_zero(tmp_path: Path) -> None:
    # time.monotonic() counts from boot: on a machine up for 5 s, "last written at 0.0"
    # would read as "written 5 s ago", not due for another hour.
    clock = FakeClock(5.0)
    writer = ManifestWriter(
        tmp_path / "manifest.json", Manifest({}), fsync=False, interval_s=3600, clock=clock
    )
    writer.set_batch(result(1))
    assert writer.due()
    writer.write()
    writer.set_batch(result(2))
    clock.now += 3599
    assert not writer.due()
    clock.now += 1
    assert writer.due()
    text = writer.render()
    assert not writer.due()
    writer.write_text(text)
    assert set(json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))["batches"]) == {
        "1",
        "2",
    }
