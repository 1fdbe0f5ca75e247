"""`client calibrate` through the real CLI: the shipped labelled sets, and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli_helpers import run_client
from tests.helpers import REPO

GYARU_LABELS = REPO / "personas" / "gyaru" / "labels.jsonl"
OJOUSAMA_LABELS = REPO / "personas" / "ojousama" / "labels.jsonl"


@pytest.mark.parametrize("split", ["tuning", "held-out"])
def test_shipped_gyaru_set_before_and_after_the_checks(split: str) -> None:
    result = run_client(
        ["calibrate", str(GYARU_LABELS), "--split", split, "--json", "--log-format", "json"],
        cwd=REPO,
    )
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["split"] == split
    by_name = {s["name"]: s for s in report["sources"]}
    before = by_name["validation without the pair checks"]
    after = by_name["validation with the pair checks"]
    assert before["rule_visible_bad_rejected"]["rate"] < 0.2  # most bad let through
    # The bar, on each part: good kept >= 97 %, rule-visible bad rejected >= 90 %.
    assert after["good_kept"]["rate"] >= 0.97
    assert after["rule_visible_bad_rejected"]["rate"] >= 0.90
    assert after["kappa"] > 0.7 > before["kappa"]
    # Each rate has its Wilson interval around it, kappa its bootstrap one, and the size.
    for rate in (after["good_kept"], after["rule_visible_bad_rejected"]):
        low, high = rate["interval_95"]
        assert low <= rate["rate"] <= high and high - low > 0.01
    low, high = after["kappa_interval_95"]
    assert low <= after["kappa"] <= high
    assert (
        after["n"]
        == report["items"]
        == sum(after["confusion"][k][v] for k in ("good", "bad") for v in ("accepted", "rejected"))
    )
    assert any(name.startswith("quality score >= ") for name in by_name)


def test_ojousama_set_with_her_persona_prints_the_tables() -> None:
    result = run_client(
        ["calibrate", str(OJOUSAMA_LABELS), "--persona", "ojousama", "--min-quality", "0.5"],
        cwd=REPO,
    )
    assert result.code == 0, result.stderr
    out = result.stdout
    assert "validation with the pair checks" in out and "Cohen's kappa" in out
    assert "good kept 24/24 = 100.0% [86.2%-100.0%]" in out
    assert "(95 % intervals: Wilson, bootstrap; n = 48)" in out
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


def test_the_personas_own_set_by_split() -> None:
    """`--split` works on the default labels: the persona folder's split set."""
    result = run_client(
        ["calibrate", "--persona", "ojousama", "--split", "held-out", "--json"], cwd=REPO
    )
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert Path(report["labels"]).resolve() == OJOUSAMA_LABELS
    assert (report["split"], report["items"]) == ("held-out", 17)
    with_checks = next(
        s for s in report["sources"] if s["name"] == "validation with the pair checks"
    )
    assert with_checks["n"] == 17 and with_checks["good_kept"]["interval_95"][1] == 1.0


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
