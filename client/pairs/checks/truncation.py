"""truncation: a line cut off before its predicate, read from its last morpheme.

A line is cut off when it ends
- on a word that always waits for more: a case or topic particle, a prefix, an
  adnominal (あの, 同じ), a stem waiting for its ending (買っ, 行か), a joining form
  (マジで, 暑く), a conjunction (それで), an open phrase (ような), or 、;
- on a word that ends a line only as an exclamation: a pronoun or an adverb
  (…、あいつ / あーしめっちゃ), unless the persona's exclamation marks close it
  (これ！, マジ〜);
- on a verb's conjunctive form after its arguments or after 、 (雑談とかもやり,
  …けど、ぶっちゃけ);
- on a bare noun phrase with no predicate that continues a sentence (after 、) or
  holds an argument particle (…、あーしの肩と腰 / 発売日まで毎日), again unless an
  exclamation mark closes it: あーし感動〜 and あーし金欠 are whole.
Every list is persona data (`checks.truncation`).
"""

from __future__ import annotations

from client.config.checks import TruncationRules
from client.pairs.analyzer import Token
from client.pairs.checks.line import Line, first_match

# Tokens that make a stretch of words a clause rather than a bare noun phrase.
_PREDICATE_POS = (
    "動詞", "形容詞", "形状詞", "助動詞", "助詞-終助詞", "助詞-接続助詞", "感動詞",
    "接尾辞-形状詞的", "接尾辞-形容詞的", "接尾辞-動詞的",
)  # fmt: skip
_BOUNDARY_POS = ("補助記号-句点", "補助記号-読点")


def _last_word(line: Line, closing: str) -> Token | None:
    for token in reversed(line.tokens):
        if token.pos.startswith(("補助記号", "空白")) or not token.surface.strip(closing):
            continue
        return token
    return None


def _exclamation(line: Line, last: Token) -> bool:
    """An adjective cut short with っ (うまっ, さむっ, やばっ) is an exclamation, however
    the analyzer split it."""
    return any(last.begin <= end < last.end for end, _ in line.exclamations)


def _segment(line: Line, last: Token) -> tuple[list[Token], bool]:
    """The words of the last clause up to `last`, and whether a comma opens it."""
    words: list[Token] = []
    for token in reversed(line.tokens):
        if token.begin > last.begin:
            continue
        if token.pos.startswith(_BOUNDARY_POS) or token.surface in "！!？?":
            return words[::-1], token.pos.startswith("補助記号-読点")
        if token.begin in line.word_starts and not token.pos.startswith(("補助記号", "空白")):
            words.append(token)
    return words[::-1], False


def _closed(text: str, rules: TruncationRules) -> bool:
    tail = text.rstrip(" 　。…‥.")
    return bool(tail) and tail[-1] in rules.exclamation_chars


def _bare_phrase(words: list[Token], comma: bool, rules: TruncationRules) -> bool:
    if any(w.pos.startswith(_PREDICATE_POS) for w in words):
        return False
    return comma or first_match(rules.argument_particles, words) is not None


def _conjunctive(words: list[Token], last: Token, comma: bool, rules: TruncationRules) -> bool:
    """A verb's conjunctive form after one of its arguments (雑談とかもやり) or opening a
    clause after 、 (…けど、ぶっちゃけ); alone after a full stop it is the persona's
    exclamation (あーし萎え)."""
    if first_match(rules.conjunctive, (last,)) is None:
        return False
    if len(words) < 2:
        return comma
    return words[-2].pos.startswith(("助詞", "名詞", "代名詞"))


def truncation(line: Line, rules: TruncationRules) -> str | None:
    text = line.text.rstrip()
    if text and text[-1] in rules.open_chars:
        return f"ends with {text[-1]!r}"
    core = text.rstrip(rules.closing_chars)
    if core.endswith(rules.complete_endings or ("\0",)):
        return None
    for phrase in rules.open_phrases:
        if core.endswith(phrase):
            return f"ends mid-phrase at {phrase!r}"
    last = _last_word(line, rules.closing_chars)
    if last is None or last.begin not in line.word_starts:
        return None  # nothing but symbols, or it ends with the first person: not cut off
    where = f"{last.surface!r} ({last.pos} {last.cform})".replace(" )", ")")
    if _exclamation(line, last):
        return None
    if first_match(rules.endings, (last,)) is not None:
        return f"ends mid-phrase at {where}"
    words, comma = _segment(line, last)
    if _conjunctive(words, last, comma, rules):
        return f"ends on a conjunctive form, {where}"
    if _closed(text, rules):
        return None
    if first_match(rules.open_endings, (last,)) is not None:
        return f"ends on {where}, with no predicate"
    if _bare_phrase(words, comma, rules):
        return f"ends on a bare noun phrase, {where}, with no predicate"
    return None
