"""`client calibrate --suggest [--write]` through the real CLI: from a review's labels to
gates, to a run that keeps what the reviewer would keep."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from client.config import load_settings
from client.pairs.review import Decision, Review, fingerprint
from client.storage.review import ReviewFile
from tests.cli_helpers import gen_args, run_client
from tests.fakeserver import FakeServer
from tests.helpers import REPO

# The loopback server rewrites an input by changing its ending and adding a tag line
# (tests.fakeserver.rewrite): on a one-word input the persona line is mostly the tag,
# and the quality score says so (0.75 against 0.9 and more for a full sentence).
SHORT = ["眠いです。", "暑いです。", "雨です。", "寒いです。", "暇です。", "晴れです。"]
LONG = [
    "週末は友達と映画を見に行く予定です。",
    "朝から頭が痛いです。",
    "駅前のカフェはいつも静かです。",
    "新しいイヤホンの音はとてもきれいです。",
    "このゲームのボスはかなり強いです。",
    "来週の土曜日は友達の誕生日です。",
]
SHORT_LATER = ["眩しいです。", "辛いです。", "甘いです。", "静かです。"]
LONG_LATER = [
    "駅までの道はとても暗いです。",
    "今日の夕飯はカレーです。",
    "明日の朝は早いです。",
    "妹の部屋はとても広いです。",
]


def generate(tmp_path: Path, lines: list[str], run_id: str, *extra: str) -> dict[str, Any]:
    """An --input run of `lines` without the judge; its dataset."""
    source = tmp_path / f"{run_id}.txt"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    with FakeServer() as server:
        args = gen_args(
            server.base_url, out, "--input", str(source), "--no-judge", *extra, run_id=run_id
        )
        result = run_client(args, cwd=REPO)
    assert result.code == 0, result.stderr
    path = out / "processed" / f"gyaru_dataset_{run_id}.json"
    return dict(json.loads(path.read_text(encoding="utf-8")))


def review(dataset: Path, pairs: list[dict[str, Any]], keep: set[str]) -> None:
    """Decide every pair as the review page would: accepted if its input is in `keep`."""
    decisions = {
        p["id"]: Decision(
            "accepted" if p["standard"] in keep else "rejected",
            fingerprint(p["standard"], p["gyaru"]),
            "2026-12-01T00:00:00Z",
        )
        for p in pairs
    }
    ReviewFile.beside(dataset).save(
        Review(decisions=decisions), now="2026-12-01T00:00:00Z", fsync=False
    )


@pytest.mark.loopback
def test_review_labels_to_gates_to_a_run_that_keeps_what_the_reviewer_keeps(
    tmp_path: Path,
) -> None:
    first = generate(tmp_path, SHORT + LONG, "first")
    assert len(first["pairs"]) == 12  # today's gates keep every one
    dataset = tmp_path / "out" / "processed" / "gyaru_dataset_first.json"
    review(dataset, first["pairs"], keep=set(LONG))
    labels = tmp_path / "labels.jsonl"
    exported = run_client(["review", str(dataset), "--export-labels", str(labels)], cwd=REPO)
    assert exported.code == 0, exported.stderr

    gates = tmp_path / "gates.yaml"
    suggested = run_client(
        ["calibrate", str(labels), "--suggest", "--write", str(gates), "--json"], cwd=REPO
    )
    assert suggested.code == 0, suggested.stderr
    report = json.loads(suggested.stdout)["suggest"]
    assert report["today"]["validation.min_quality"] == 0.0
    assert 0.75 < report["suggested"]["validation.min_quality"] <= 0.9
    learned = report["learned_from"]
    assert learned["n"] == 12 and report["held_out"] is None  # a review has no split
    assert learned["today"]["kappa"] == 0.0 and learned["suggested"]["kappa"] == 1.0
    overlay = yaml.safe_load(gates.read_text(encoding="utf-8"))
    # The overlay names the persona the labels are of, so `--config` alone picks her.
    assert overlay["persona"] == "gyaru"
    assert overlay["validation"]["min_quality"] == report["suggested"]["validation.min_quality"]

    # New inputs of both kinds: without the overlay all are kept; with it, the kind the
    # reviewer turned down is rejected and the kind they kept is kept.
    later = SHORT_LATER + LONG_LATER
    plain = generate(tmp_path, later, "plain")
    gated = generate(tmp_path, later, "gated", "--config", str(gates))
    assert sorted(p["standard"] for p in plain["pairs"]) == sorted(later)
    assert sorted(p["standard"] for p in gated["pairs"]) == sorted(LONG_LATER)
    rejections = gated["metadata"]["summary"]["rejections"]
    assert rejections == {"low_quality": len(SHORT_LATER)}


def test_suggest_prints_the_gates_next_to_todays_and_writes_her_overlay(tmp_path: Path) -> None:
    """The お嬢様's own labels (her folder's, the default): the overlay names her, and
    carries the --config file calibrated with under the gates."""
    mine = tmp_path / "mine.yaml"
    mine.write_text("generation: {temperature: 0.6}\n", encoding="utf-8")
    gates = tmp_path / "gates.yaml"
    result = run_client(
        ["calibrate", "--persona", "ojousama", "--config", str(mine), "--suggest",
         "--write", str(gates)],
        cwd=REPO,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    out = result.stdout
    assert "gates learned from 31 labelled items (the tuning part)" in out
    for key in (
        "checks.meaning.max_missing_share",
        "checks.near_copy.ratio",
        "validation.min_quality",
    ):
        assert key in out
    assert "on the 17 held-out items (n = 17):" in out and "kappa" in out

    text = gates.read_text(encoding="utf-8")
    assert "merge the sections below `persona:` into personas/ojousama/persona.yaml" in text
    overlay = yaml.safe_load(text)
    assert overlay["persona"] == "ojousama"
    settings = load_settings(gates)  # no --persona: the overlay picks her
    hers = load_settings(persona="ojousama")
    assert settings.persona == hers.persona
    assert settings.checks.meaning.equivalents == hers.checks.meaning.equivalents
    assert settings.generation.temperature == 0.6  # what it was calibrated with
    for key, value in overlay["checks"]["meaning"].items():
        assert getattr(settings.checks.meaning, key) == value
    assert settings.validation.min_quality == overlay["validation"]["min_quality"]


def test_write_needs_suggest_and_a_writable_place(tmp_path: Path) -> None:
    labels = str(REPO / "personas" / "gyaru" / "labels.jsonl")
    result = run_client(["calibrate", labels, "--write", str(tmp_path / "g.yaml"),
                         "--log-format", "json"], cwd=REPO)  # fmt: skip
    assert result.code == 2 and result.error == "--write needs --suggest"
    target = tmp_path / "missing" / "g.yaml"
    result = run_client(["calibrate", labels, "--suggest", "--write", str(target),
                         "--log-format", "json"], cwd=REPO)  # fmt: skip
    assert result.code == 2 and result.error.startswith(f"cannot write {target}")
    assert "Traceback" not in result.stderr


def test_a_persona_outside_the_personas_folders_is_named_by_its_path(tmp_path: Path) -> None:
    folder = shutil.copytree(REPO / "personas" / "ojousama", tmp_path / "lady")
    gates = tmp_path / "gates.yaml"
    result = run_client(
        ["calibrate", "--persona", str(folder), "--suggest", "--write", str(gates)], cwd=REPO
    )
    assert result.code == 0, result.stderr
    assert yaml.safe_load(gates.read_text(encoding="utf-8"))["persona"] == str(folder.resolve())
    assert load_settings(gates).persona.name == "お嬢様"
