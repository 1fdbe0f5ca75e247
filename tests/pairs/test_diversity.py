from __future__ import annotations

import random

import pytest

from client.pairs.diversity import distinct_n, diversity, near_duplicate_rate, words_without


def test_distinct_n_counts_unique_ngrams() -> None:
    lines = [["マジ", "眠い"], ["マジ", "眠い"], ["マジ", "暑い"]]
    assert distinct_n(lines, 1) == pytest.approx(3 / 6)
    assert distinct_n(lines, 2) == pytest.approx(2 / 3, abs=1e-4)
    assert distinct_n([], 2) is None


def test_words_leave_out_symbols_and_the_first_person() -> None:
    assert words_without("あーし")("あーし、マジ眠いんだけど〜！") == [
        "マジ",
        "眠い",
        "ん",
        "だ",
        "けど",
    ]


def test_report_names_repeated_openings_endings_and_marker_shares() -> None:
    lines = [
        "マジ眠いんだけど〜。あーしマジ無理",
        "マジ眠いし〜！あーし寝る",
        "てか雨じゃん！あーしマジ無理",
        "新作のゲーム買った〜。あーしガチ勢",
    ]
    report = diversity(
        lines, markers=["マジ", "じゃん", "〜"], first_person="あーし", near_duplicates=1
    )
    assert report.top_openings == [["マジ眠い", 2]]
    assert report.top_endings == [["マジ無理", 2]]
    assert report.style_markers == {"マジ": 0.75, "〜": 0.75, "じゃん": 0.25}
    assert report.near_duplicate_rate == pytest.approx(1 / 5)
    assert report.to_json()["lines"] == 4
    assert report.distinct_1 is not None and 0 < report.distinct_1 < 1


def test_rate_without_pairs_is_none() -> None:
    assert near_duplicate_rate(0, 0) is None


def test_tally_line_by_line_matches_counting_the_whole_list() -> None:
    """The streamed tally (hashed n-grams) gives what distinct-n over every line gives."""
    import json
    from pathlib import Path

    from client.pairs.diversity import DiversityTally

    labels = Path(__file__).resolve().parents[2] / "personas" / "gyaru" / "labels.jsonl"
    lines = [json.loads(row)["gyaru"] for row in labels.read_text("utf-8").splitlines() if row]
    words = words_without("あーし")
    tally = DiversityTally(markers=["マジ", "じゃん"], first_person="あーし")
    for line in lines:
        tally.add(line)
    report = tally.report(near_duplicates=3)
    tokenised = [words(line) for line in lines]
    assert report.lines == len(lines) > 100
    assert report.distinct_1 == distinct_n(tokenised, 1)
    assert report.distinct_2 == distinct_n(tokenised, 2)
    assert report.style_markers["マジ"] == round(sum("マジ" in s for s in lines) / len(lines), 4)
    assert report.near_duplicate_rate == near_duplicate_rate(3, len(lines))


def test_past_its_budgets_the_tally_estimates_and_says_so() -> None:
    from client.pairs.diversity import DiversityTally

    rng = random.Random(11)
    openings = ["マジ", "てか", "ねえ"]
    # Three openings, thousands of distinct endings and n-grams.
    lines = [
        f"{rng.choice(openings)} の話 {rng.randrange(10**5)} 番 {rng.randrange(10**5)}"
        for _ in range(3000)
    ]

    def words(line: str) -> list[str]:
        return line.split()

    exact = DiversityTally(markers=["じゃん"], first_person=None, words=words)
    small = DiversityTally(
        markers=["じゃん"], first_person=None, words=words, distinct_budget=500, edge_budget=50
    )
    for line in lines:
        exact.add(line)
        small.add(line)
    want, got = exact.report(), small.report()
    assert want.exact and "estimated" not in want.to_json()
    assert not got.exact and "HyperLogLog" in got.to_json()["estimated"]
    for n in ("distinct_1", "distinct_2"):
        assert getattr(got, n) == pytest.approx(getattr(want, n), rel=0.03)
    # The heavy hitters keep their place; their counts are lower bounds.
    assert [t for t, _ in got.top_openings] == [t for t, _ in want.top_openings]
    assert len(want.top_openings) == 3
    for (_, low), (_, true) in zip(got.top_openings, want.top_openings, strict=True):
        assert true - len(lines) / 50 <= low <= true


def test_words_are_worked_out_once_for_a_line_asked_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    import client.pairs.diversity as diversity_module

    calls: list[str] = []
    real = diversity_module.analyse

    def counting(text: str) -> object:
        calls.append(text)
        return real(text)

    monkeypatch.setattr(diversity_module, "analyse", counting)
    words = words_without("わたし")  # a first person no other test here uses: a fresh memo
    assert words is words_without("わたし")
    first = words("わたし、マジ眠いんだけど〜！")
    first.append("changed by the caller")
    assert words("わたし、マジ眠いんだけど〜！") == ["マジ", "眠い", "ん", "だ", "けど"]
    assert words("てか雨じゃん") and calls == ["わたし、マジ眠いんだけど〜！", "てか雨じゃん"]
