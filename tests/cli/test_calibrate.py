"""`client calibrate` through the real CLI: the shipped labelled sets, and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli_helpers import run_client
from tests.helpers import REPO

GYARU_LABELS = REPO / "tests" / "data" / "labels_gyaru.jsonl"
OJOUSAMA_LABELS = REPO / "tests" / "data" / "labels_ojousama.jsonl"


def test_shipped_gyaru_set_before_and_after_the_checks() -> None:
    result = run_client(
        ["calibrate", str(GYARU_LABELS), "--json", "--log-format", "json"], cwd=REPO
    )
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    by_name = {s["name"]: s for s in report["sources"]}
    before = by_name["validation without the pair checks"]
    after = by_name["validation with the pair checks"]
    assert before["confusion"]["bad"]["accepted"] > 30  # what the issue found: most bad let through
    assert after["kappa"] > 0.85 > before["kappa"]
    assert after["recall_accepted"] >= 0.95
    # What the rules cannot see is left to the judge, and listed.
    assert {d["kind"] for d in after["disagreements"]} == {"wrong_topic"}
    assert 0.5 < report["score_auc"] < 0.9
    assert any(name.startswith("quality score >= ") for name in by_name)


def test_ojousama_set_with_her_persona_prints_the_tables() -> None:
    result = run_client(
        ["calibrate", str(OJOUSAMA_LABELS), "--persona", "ojousama", "--min-quality", "0.5"],
        cwd=REPO,
    )
    assert result.code == 0, result.stderr
    out = result.stdout
    assert "validation with the pair checks" in out and "Cohen's kappa" in out
    assert "quality score >= 0.50 (the given threshold)" in out
    assert "disagreements:" in out and "right by kind:" in out


def test_a_labels_file_of_another_persona_names_the_line() -> None:
    result = run_client(["calibrate", str(OJOUSAMA_LABELS), "--log-format", "json"], cwd=REPO)
    assert result.code == 2
    assert result.error.startswith(f"{OJOUSAMA_LABELS}:1: persona 'お嬢様'")
    assert "--persona" in result.error


def test_without_labels_the_personas_own_set_is_read(tmp_path: Path) -> None:
    """A persona folder's labels.jsonl is what `client calibrate --persona` reads."""
    folder = shutil.copytree(REPO / "personas" / "ojousama", tmp_path / "lady")
    shutil.copy(OJOUSAMA_LABELS, folder / "labels.jsonl")
    result = run_client(["calibrate", "--persona", str(folder), "--json"], cwd=REPO)
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["labels"] == str(folder / "labels.jsonl")
    assert report["items"] == sum(
        1 for line in OJOUSAMA_LABELS.open(encoding="utf-8") if line.strip()
    )

    (folder / "labels.jsonl").unlink()
    result = run_client(["calibrate", "--persona", str(folder), "--log-format", "json"], cwd=REPO)
    assert result.code == 2
    assert result.error == (
        f"no LABELS file given, and the persona 'lady' has no labels.jsonl in {folder}"
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            '{"standard": "雨です。", "gyaru": "あーし雨", "topic": "Daily", "label": "good"}\n{oops\n',
            ":2: not valid JSON",
        ),
        (
            '{"standard": "雨です。", "gyaru": "あーし雨", "topic": "Daily", "label": "maybe"}\n',
            ":1: label must be 'good' or 'bad'",
        ),
        (
            '{"standard": "雨です。", "topic": "Daily", "label": "good"}\n',
            ":1: field 'gyaru' is missing",
        ),
        ("", ": no labelled items"),
    ],
)
def test_malformed_labels_exit_2_with_one_line(tmp_path: Path, content: str, expected: str) -> None:
    labels = tmp_path / "labels.jsonl"
    labels.write_text(content, encoding="utf-8")
    result = run_client(["calibrate", str(labels), "--log-format", "json"], cwd=REPO)
    assert result.code == 2 and result.stdout == ""
    assert result.error == f"{labels}{expected}" or result.error.startswith(f"{labels}{expected}")
    assert "Traceback" not in result.stderr


def test_missing_labels_file(tmp_path: Path) -> None:
    result = run_client(
        ["calibrate", str(tmp_path / "none.jsonl"), "--log-format", "json"], cwd=REPO
    )
    assert result.code == 2 and result.error == f"labels file not found: {tmp_path / 'none.jsonl'}"
