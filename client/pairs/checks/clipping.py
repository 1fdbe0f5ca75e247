"""Clipped words: the persona's short forms of the standard line's words.

Japanese shortens loanwords from the back (コンビニ for コンビニエンスストア), the
front (バイト for アルバイト) or by taking the head of each part (スマホ for
スマートフォン, ファミレス for ファミリーレストラン, スパチャ for スーパーチャット),
and kanji compounds by the first character of each word (同接 for 同時接続). A
standard word that survives only in such a form is kept, not gone. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise

from client.pairs.analyzer import Token

_KATAKANA_RUN = re.compile(r"[ァ-ヺー]{2,}")
_KANJI_RUN = re.compile(r"[一-龥々]{2,}")
# Spellings of one sound, folded before comparing: フォン and ホン, ティ and チ.
_FOLD = (
    ("ファ", "ハ"), ("フィ", "ヒ"), ("フェ", "ヘ"), ("フォ", "ホ"), ("ティ", "チ"),
    ("ディ", "ジ"), ("ヴァ", "バ"), ("ヴィ", "ビ"), ("ヴェ", "ベ"), ("ヴォ", "ボ"),
    ("ウィ", "イ"), ("ウェ", "エ"), ("ウォ", "オ"), ("ヴ", "ブ"), ("ー", ""), ("ッ", ""),
)  # fmt: skip


def _fold(word: str) -> str:
    for spelling, sound in _FOLD:
        word = word.replace(spelling, sound)
    return word


def _subsequence(short: str, long: str) -> bool:
    rest = iter(long)
    return all(char in rest for char in short)


def clipped(short: str, word: str) -> bool:
    """Whether `short` is a clipping of the katakana `word`: its front (2+ sounds),
    its back (2+), or the heads of its parts (3+ sounds, starting where it starts)."""
    s, w = _fold(short), _fold(word)
    if len(s) < 2 or len(s) >= len(w):
        return False
    if w.startswith(s) or w.endswith(s):
        return True
    return len(s) >= 3 and s[0] == w[0] and _subsequence(s[1:], w[1:])


def _covered_katakana(standard: str, persona: str) -> set[int]:
    runs = [m.group(0) for m in _KATAKANA_RUN.finditer(persona)]
    covered: set[int] = set()
    if not runs:
        return covered
    for found in _KATAKANA_RUN.finditer(standard):
        word = found.group(0)
        if word in persona or any(clipped(run, word) for run in runs):
            covered.update(range(found.start(), found.end()))
    return covered


def _covered_kanji(words: Sequence[Token], persona: str) -> set[int]:
    """Offsets of consecutive nouns whose first characters spell a word of the persona
    line (同時 + 接続 -> 同接, 就職 + 活動 -> 就活)."""
    covered: set[int] = set()
    if not _KANJI_RUN.search(persona):
        return covered
    for i in range(len(words)):
        for size in range(2, min(4, len(words) - i) + 1):
            run = words[i : i + size]
            nouns = all(t.pos.startswith("名詞") for t in run)
            if not nouns or any(t.end != n.begin for t, n in pairwise(run)):
                break
            short = "".join(t.surface[0] for t in run)
            if _KANJI_RUN.fullmatch(short) and short in persona:
                covered.update(range(run[0].begin, run[-1].end))
    return covered


def covered_by_clipping(standard: str, words: Sequence[Token], persona: str) -> set[int]:
    """Offsets of the standard line whose words the persona line holds clipped."""
    return _covered_katakana(standard, persona) | _covered_kanji(words, persona)
