"""pairs.worddiff: the review page's word diff, on known pairs of both personas and on
every labelled pair (lines it was not written against)."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pytest

from client.config import load_settings
from client.pairs.worddiff import VoiceWords, voice_words, word_diff

REPO = Path(__file__).resolve().parents[2]
GYARU = voice_words(load_settings(REPO / "config" / "generation_config.yaml"))
OJOUSAMA = voice_words(load_settings(persona="ojousama"))


def runs(segments: object) -> list[tuple[str, str]]:
    return [(s.text, s.mark) for s in segments]  # type: ignore[attr-defined]


def test_a_known_pair_word_by_word() -> None:
    diff = word_diff(
        "今日は新しいスマートフォンの設定をしていました。",
        "あーし今日ずっと新しいスマホの設定してたんだけど、マジ終わんなくてウケる〜",
        GYARU,
    )
    assert runs(diff.standard) == [
        ("今日", "same"),
        ("は", "voice"),
        ("新しい", "same"),
        ("スマートフォン", "voice"),  # the persona's word for it is スマホ
        ("の設定", "same"),
        ("を", "voice"),
        ("して", "same"),
        ("いまし", "voice"),
        ("た", "same"),
        ("。", "voice"),
    ]
    assert runs(diff.persona) == [
        ("あーし", "voice"),  # one word, though the analyser cuts it in two
        ("今日", "same"),
        ("ずっと", "content"),  # added meaning: what a reviewer checks
        ("新しい", "same"),
        ("スマホ", "voice"),
        ("の設定してた", "same"),
        ("んだけど、マジ", "voice"),
        ("終わんなく", "content"),  # a verb and a negation: never the persona's voice
        ("てウケる〜", "voice"),
    ]


def test_a_changed_meaning_is_content_and_whole_words() -> None:
    diff = word_diff(
        "マリオカートのランクマッチで三連勝しました。",
        "マリオカートのランクマで三連敗したんだけど！あーし天才じゃね？w",
        GYARU,
    )
    assert ("連勝", "content") in runs(diff.standard)
    assert ("連敗", "content") in runs(diff.persona)
    assert ("ランクマッチ", "voice") in runs(diff.standard)
    assert ("ランクマ", "voice") in runs(diff.persona)


def test_the_other_personas_endings_are_its_voice() -> None:
    diff = word_diff("紅茶を飲みました。", "わたくし、お紅茶をいただきましたわ。", OJOUSAMA)
    marks = dict(runs(diff.persona))
    assert marks["わたくし、お"] == "voice"
    assert marks["いただき"] == "voice"  # a humble helper verb, not a new word
    assert marks["わ"] == "voice"
    assert runs(diff.standard)[-2:] == [("飲み", "content"), ("ました。", "same")]


def test_slang_is_voice_only_when_the_persona_says_so() -> None:
    standard, persona = "今日は雨です。", "マジ今日雨じゃん"
    assert runs(word_diff(standard, persona, GYARU).persona)[0] == ("マジ", "voice")
    # Another persona's config does not know マジ: a word like any other.
    assert runs(word_diff(standard, persona, VoiceWords()).persona) == [
        ("マジ", "content"),
        ("今日雨", "same"),
        ("じゃん", "voice"),
    ]


def labelled() -> list[tuple[str, str, VoiceWords]]:
    found = []
    for name, words in (("gyaru", GYARU), ("ojousama", OJOUSAMA)):
        labels = REPO / "personas" / name / "labels.jsonl"
        for line in labels.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            found.append((item["standard"], item["gyaru"], words))
    return found


@pytest.mark.parametrize("case", [labelled()], ids=["every labelled pair"])
def test_the_segments_are_the_lines_and_the_same_words_match(
    case: list[tuple[str, str, VoiceWords]],
) -> None:
    assert len(case) > 100
    for standard, persona, words in case:
        diff = word_diff(standard, persona, words)
        assert "".join(s.text for s in diff.standard) == standard
        assert "".join(s.text for s in diff.persona) == persona
        # What is not marked is what both lines share, in order.
        same = ["".join(s.text for s in side if s.mark == "same") for side in diff.to_lines()]
        assert same[0] == same[1], (standard, persona)
        for side in (diff.standard, diff.persona):
            assert all(s.text for s in side)
            assert all(a.mark != b.mark for a, b in pairwise(side))
