"""The pieces the pair checks read Japanese with: clipped words, numerals, the first
person set aside before analysis, the persona's negation ねー, cut-short adjectives."""

from __future__ import annotations

import pytest

from client.pairs.checks.clipping import clipped
from client.pairs.checks.line import Line, analysed, exclamations, masked
from client.pairs.checks.numbers import read_number


@pytest.mark.parametrize(
    ("short", "word", "expected"),
    [
        ("コンビニ", "コンビニエンスストア", True),  # the front
        ("バイト", "アルバイト", True),  # the back
        ("スマホ", "スマートフォン", True),  # heads of the parts, フォ read as ホ
        ("ファミレス", "ファミリーレストラン", True),
        ("ゲーセン", "ゲームセンター", True),  # ー folded away
        ("スパチャ", "スーパーチャット", True),
        ("パス", "パスワード", True),
        ("スマホ", "スマートウォッチ", False),  # another device
        ("マジ", "マッサージ", False),  # two sounds are no clipping from the middle
        ("ゲーム", "ゲーム", False),  # the word itself, not clipped
        ("ス", "スマートフォン", False),
    ],
)
def test_clipped(short: str, word: str, expected: bool) -> None:
    assert clipped(short, word) is expected


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("三", 3), ("３", 3), ("3千", 3000), ("三千", 3000), ("十二万", 120000), ("12万", 120000),
        ("1万5千", 15000), ("一万五千", 15000), ("1.5万", 15000), ("3.5", 3.5), ("1,500", 1500),
        ("百", 100), ("二十", 20), ("万", 10000), ("何", None), ("1.2.3", None),
    ],
)  # fmt: skip
def test_read_number(text: str, value: float | None) -> None:
    assert read_number(text) == value


def test_the_first_person_is_analysed_as_a_plain_pronoun() -> None:
    # あーしめっちゃ would be あー + しめっ + ちゃ; わたしめっちゃ is a pronoun and an adverb.
    assert masked("あーしめっちゃ眠い", "あーし") == "わたしめっちゃ眠い"
    line = Line("あーしめっちゃ眠い", "あーし")
    assert [t.surface for t in line.words] == ["めっちゃ", "眠い"]
    assert all(line.text[t.begin : t.end] == t.surface for t in line.words)
    assert masked("わたくし眠いですわ", "わたくし") == "わたくし眠いですわ"
    assert masked("ボクは眠い", "ボクっ子ちゃん") == "ボクは眠い"


def test_negating_nee_is_read_as_nai_and_the_particle_stays() -> None:
    negation = analysed("意味わかんねー！")
    assert [(t.surface, t.lemma) for t in negation][1:3] == [("わかん", "わかる"), ("ない", "ない")]
    particle = analysed("すごいねー！")
    assert "ない" not in [t.lemma for t in particle]
    assert [t.surface for t in analysed("楽しかったねー")][-1] == "ねー"


def test_cut_short_adjectives() -> None:
    found = exclamations("外さむっ！やばっ、うまっ")
    assert [a.normalized for _, a in found] == ["寒い", "やばい", "旨い"]
    assert exclamations("昨日買った") == ()
    assert "寒い" in Line("外さむっ！あーし", "あーし").forms
