"""The manifest remembers what a run rewrites: an input file's fingerprint, or no file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from client.pairs.fingerprint import FREE, InputFingerprint, RecordedInput
from client.storage.manifest import Manifest, ManifestWriter, RunFacts

FINGERPRINT = InputFingerprint("in.txt", 60, "d" * 32)


def facts(recorded: RecordedInput | None) -> RunFacts:
    return RunFacts(
        run_id="r1",
        model="m",
        max_model_len=8192,
        endpoints=["http://127.0.0.1:8000/v1"],
        prompt_path="prompts/system_prompt.txt",
        prompt_sha="0" * 64,
        base_seed=7,
        plan={"batches": 3},
        config={},
        input=recorded,
    )


def written(tmp_path: Path, manifest: Manifest) -> Manifest:
    """The manifest as a later session reads it back from disk."""
    path = tmp_path / "manifest.json"
    ManifestWriter(path, manifest, fsync=False).write()
    read = Manifest.read(path)
    assert read is not None
    return read


@pytest.mark.parametrize(
    ("recorded", "stored"),
    [(FINGERPRINT, FINGERPRINT.to_json()), (FREE, None)],
)
def test_the_input_a_run_rewrites_is_recorded_and_read_back(
    tmp_path: Path, recorded: RecordedInput, stored: object
) -> None:
    manifest = written(tmp_path, Manifest.start(None, facts(recorded), now="t0"))
    assert manifest.data["input"] == stored
    assert manifest.input == recorded


def test_a_session_that_does_not_say_keeps_what_an_earlier_one_recorded(tmp_path: Path) -> None:
    first = written(tmp_path, Manifest.start(None, facts(FINGERPRINT), now="t0"))
    later = Manifest.start(first, facts(None), now="t1")
    assert later.input == FINGERPRINT and len(later.data["sessions"]) == 2
    # A run from before manifests recorded their input: nothing to compare with.
    old = Manifest.start(None, facts(None), now="t0")
    assert "input" not in old.data and old.input is None


def test_a_malformed_record_is_no_record(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"input": {"file": "in.txt"}}), encoding="utf-8")
    manifest = Manifest.read(path)
    assert manifest is not None and manifest.input is None
