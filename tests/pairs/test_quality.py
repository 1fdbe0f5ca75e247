"""quality: the score rewards what the docs say it rewards."""

from __future__ import annotations

import pytest

from client.pairs.quality import quality_score

MARKERS = ("マジ", "じゃん", "ウケる", "〜")


def test_a_good_pair_scores_high() -> None:
    score = quality_score(
        "新しいパソコンを買いました。",
        "あーし新しいパソコン買ったんだけど！マジ最高じゃん〜",
        MARKERS,
        "あーし",
    )
    assert score >= 0.85


def test_a_copied_line_scores_low() -> None:
    line = "新しいパソコンを買いました。"
    assert quality_score(line, line + "あーし", MARKERS, "あーし") < 0.6


def test_casual_standard_line_loses_points() -> None:
    polite = quality_score("眠いです。", "あーしマジ眠いじゃん〜", MARKERS, "あーし")
    casual = quality_score("マジ眠いじゃん", "あーしマジ眠いじゃん〜", MARKERS, "あーし")
    assert casual < polite


def test_length_ratio_matters() -> None:
    short = quality_score(
        "今日はとても良い天気なので、公園まで散歩に行ってきました。",
        "あーし散歩〜",
        MARKERS,
        "あーし",
    )
    fair = quality_score(
        "今日はとても良い天気なので、公園まで散歩に行ってきました。",
        "今日マジいい天気だから、あーし公園まで散歩してきた〜",
        MARKERS,
        "あーし",
    )
    assert short < fair


def test_score_is_bounded_and_rounded() -> None:
    score = quality_score("です。", "あーしマジじゃんウケる〜", MARKERS, "あーし")
    assert 0.0 <= score <= 1.0 and round(score, 2) == score


@pytest.mark.parametrize(
    ("standard", "gyaru", "score"),
    [
        ("新しいパソコンを買いました。", "あーし新しいパソコン買ったんだけど！マジ最高〜", 1.0),
        ("今日は雨です。", "あーし的に雨とか無理〜！ガチで萎える", 0.8),
        ("眠いです。", "眠いです。あーし", 0.5),
    ],
)
def test_the_examples_in_the_docs(standard: str, gyaru: str, score: float) -> None:
    from client.config import load_settings

    assert quality_score(standard, gyaru, load_settings().persona.style_markers, "あーし") == score
