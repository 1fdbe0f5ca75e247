"""stats: the numbers about a dataset, and the command that prints them."""

from __future__ import annotations

import json
from pathlib import Path

from client.config import load_settings
from client.pairs.stats import Distribution, describe
from tests.cli_helpers import run_client
from tests.pairs.test_export import dataset


def test_distribution() -> None:
    d = Distribution.of([1, 2, 3, 4, 100])
    assert d is not None and (d.minimum, d.p50, d.maximum) == (1, 3, 100)
    assert Distribution.of([]) is None


def test_describe_counts_topics_lengths_quality_and_samples() -> None:
    pairs = [
        {"topic": "Tech", "standard": "あいう", "gyaru": "あーしあいう", "quality": 0.9},
        {"topic": "Tech", "standard": "あい", "gyaru": "うちあい", "quality": 0.1},
        {"topic": "Daily", "standard": "あ", "gyaru": "あーしあ"},
    ]
    report = describe(pairs, first_person="あーし", samples=2, seed=1)
    assert report.count == 3 and report.topics == {"Tech": 2, "Daily": 1}
    assert report.with_first_person == 2
    assert report.quality_histogram["0.8-1.0"] == 1 and report.quality_histogram["0.0-0.2"] == 1
    assert len(report.samples) == 2
    assert report.standard_chars is not None and report.standard_chars.maximum == 3


def test_cli_stats_reports_the_count(tmp_path: Path) -> None:
    source = dataset(tmp_path / "d.json", 20)
    result = run_client(
        ["stats", str(source), "--samples", "3", "--seed", "1", "--log-format", "json"]
    )
    assert result.code == 0, result.stderr
    assert "20 pairs" in result.stdout and "random pairs" in result.stdout
    as_json = run_client(["stats", str(source), "--json", "--log-format", "json"])
    data = json.loads(as_json.stdout)
    assert data["count"] == 20 and sum(data["topics"].values()) == 20
    diversity = data["diversity"]
    assert diversity["lines"] == 20 and 0 < diversity["distinct_1"] < diversity["distinct_2"] <= 1
    # With no config snapshot in the dataset, the default persona's markers are counted
    # (which pairs the corpus hands out depends on what the process drew before, so
    # the test holds only to the ！ every gyaru line of it has).
    assert set(diversity["style_markers"]) == set(load_settings().persona.style_markers)
    assert diversity["style_markers"]["！"] == 1.0
    assert diversity["near_duplicate_rate"] is None  # this dataset's summary does not say
    assert "diversity" in result.stdout and "distinct-2" in result.stdout


def test_describe_measures_the_persona_lines_diversity() -> None:
    pairs = [
        {"topic": "Daily", "standard": "眠いです。", "gyaru": "マジ眠いんだけど〜。あーし無理"},
        {"topic": "Daily", "standard": "暑いです。", "gyaru": "マジ暑いんだけど〜。あーし無理"},
    ]
    report = describe(
        pairs,
        first_person="あーし",
        samples=0,
        seed=1,
        markers=["マジ", "じゃん"],
        near_duplicates=2,
    )
    assert report.diversity is not None
    d = report.to_json()["diversity"]
    assert d["top_openings"] == [] and d["top_endings"] == [["けど無理", 2]]
    assert d["style_markers"] == {"マジ": 1.0, "じゃん": 0.0}
    assert d["near_duplicate_rate"] == 0.5


def test_describe_counts_pairs_graded_and_let_in_unjudged() -> None:
    pairs = [
        {"topic": "Tech", "standard": "あ", "gyaru": "あーしあ", "judge": {"meaning": 5}},
        {"topic": "Tech", "standard": "い", "gyaru": "あーしい", "unjudged": True},
        {"topic": "Tech", "standard": "う", "gyaru": "あーしう"},
    ]
    report = describe(pairs, first_person="あーし", samples=0, seed=1)
    assert (report.judged, report.unjudged) == (1, 1)
    assert report.to_json()["unjudged"] == 1
