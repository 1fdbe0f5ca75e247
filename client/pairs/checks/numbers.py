"""The numbers a line states, as values: 三, 3 and ３ are one number, and so are
三千, 3千 and 3000, 十二万 and 12万, 1万5千 and 15000. Pure.

A numeral is found where the analyzer tags one and read on through the text (the
analyzer may split 1万5千歩 as 1万5 + 千歩), in digits, kanji or both. A numeral inside one of the persona's equivalents (一発
for 一度) is a word, not a number, and is left out.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from client.pairs.analyzer import Token
from client.pairs.checks.line import Line

_DIGITS = {c: str(i) for i, c in enumerate("〇一二三四五六七八九")} | {"零": "0", "两": "2"}
_DIGITS |= {str(i): str(i) for i in range(10)} | {".": "."}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_BIG = {"万": 10_000, "億": 100_000_000, "兆": 1_000_000_000_000}
_NUMERAL_CHARS = frozenset(_DIGITS) | frozenset(_UNITS) | frozenset(_BIG) | {","}


def _number(value: float) -> float | int:
    return int(value) if value == int(value) else value


def read_number(text: str) -> float | int | None:
    """The value of a numeral in digits, kanji or both (1万5千 = 15000, 1.5万 = 15000,
    十二 = 12); None if it is not one."""
    text = unicodedata.normalize("NFKC", text).replace(",", "")
    total = section = 0.0
    digits = ""
    try:
        for char in text:
            if char in _DIGITS:
                digits += _DIGITS[char]
            elif char in _UNITS:
                section += (float(digits) if digits else 1) * _UNITS[char]
                digits = ""
            elif char in _BIG:
                total += ((section + float(digits or 0)) or 1) * _BIG[char]
                section, digits = 0.0, ""
            else:
                return None
        return _number(total + section + float(digits or 0)) if text else None
    except ValueError:  # 1.2.3
        return None


def _numeral(text: str, token: Token) -> str:
    """The numeral that starts at the token, read on through the text: the analyzer
    may cut 1万5千歩 into 1万5 and 千歩."""
    end = token.end
    while end < len(text) and unicodedata.normalize("NFKC", text[end]) in _NUMERAL_CHARS:
        end += 1
    return text[token.begin : end]


def numeral_spans(line: Line) -> list[tuple[int, int]]:
    """Where the line's numerals are, each read on through the text."""
    spans: list[tuple[int, int]] = []
    for token in line.tokens:
        if token.pos.startswith("名詞-数詞") and not (spans and token.begin < spans[-1][1]):
            spans.append((token.begin, token.begin + len(_numeral(line.text, token))))
    return spans


def _spans(text: str, words: Mapping[str, tuple[str, ...]], other: str) -> list[tuple[int, int]]:
    """Where the line holds a word of an equivalence the other line answers: the
    standard word when the other line holds a variant, a variant when it holds the word."""
    spans = []
    for word, variants in words.items():
        for here, there in ((word, v) for v in variants):
            for a, b in ((here, there), (there, here)):
                start = text.find(a) if b in other else -1
                if start >= 0:
                    spans.append((start, start + len(a)))
    return spans


def numbers(
    line: Line, equivalents: Mapping[str, tuple[str, ...]], other: str
) -> frozenset[float | int]:
    """The values of the line's numerals (何, 数 are none), leaving out those inside an
    equivalent the other line answers."""
    found = [t for t in line.tokens if t.pos.startswith("名詞-数詞")]
    if not found:
        return frozenset()
    spans = _spans(line.text, equivalents, other)
    values: set[float | int] = set()
    read_to = -1
    for token in found:
        if token.begin < read_to or any(b <= token.begin < e for b, e in spans):
            continue
        numeral = _numeral(line.text, token)
        read_to = token.begin + len(numeral)
        value = read_number(numeral)
        if value is not None:
            values.add(value)
    return frozenset(values)
