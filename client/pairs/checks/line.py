"""One line as the checks see it: its text, its tokens, and where the first person is.

The analyzer reads a persona's coined first person badly: あーし is a filler and a
verb (あー + し), and it can swallow the next word (あーしめっちゃ is あー + しめっ +
ちゃ). So the line is analysed with the first person replaced by a plain pronoun of
the same length (わたし for あーし): the character offsets stay those of the real
text, the words around it are read as they are meant, and the pronoun's tokens are
set aside like the first person itself.

The persona's negation ねー (わかんねー, できねー) is read as ない where the analyzer,
given ない in its place, reads a verb's negative form; elsewhere ねー stays the
particle it is (すごいねー, だよねー). An adjective cut short with っ (さむっ, やばっ,
うまっ) is read as the adjective it exclaims.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import pairwise

from client.config.checks import TokenPattern
from client.pairs.analyzer import Token, analyse, outside, spans_of
from client.pairs.dedup import normalise

# Tokens that carry no word of their own: symbols, blanks, particles, auxiliaries.
FUNCTION_POS = ("補助記号", "空白", "助詞", "助動詞", "記号")
# A pronoun of each length the analyzer knows as one word.
_STAND_INS = {1: "私", 2: "自分", 3: "わたし", 4: "わたくし"}
_SLANG_NEGATION = re.compile(r"ね[ーぇえ]")
# A word cut short with っ that no kana continues: さむっ！, やばっ (not 買った).
_CUT_SHORT = re.compile(r"([ぁ-んァ-ヶ一-龥]{1,3})っ(?![ぁ-ん])")


@lru_cache(maxsize=4096)
def _exclaimed(stem: str) -> Token | None:
    """The adjective a stem cut short with っ stands for (さむ -> 寒い), if any: the
    shortest tail of the stem that, with い, is one adjective."""
    for size in range(1, len(stem) + 1):
        whole = analyse(stem[-size:] + "い")
        if len(whole) == 1 and whole[0].pos.startswith("形容詞"):
            return whole[0]
    return None


def exclamations(text: str) -> tuple[tuple[int, Token], ...]:
    """Where the text has an adjective cut short (its っ's offset), and the adjective."""
    found = []
    for m in _CUT_SHORT.finditer(text):
        adjective = _exclaimed(m.group(1))
        if adjective is not None:
            found.append((m.end() - 1, adjective))
    return tuple(found)


def matches(pattern: TokenPattern, token: Token) -> bool:
    if pattern.form is not None and not token.has_form(pattern.form):
        return False
    if pattern.pos and not token.pos.startswith(pattern.pos):
        return False
    if pattern.cform and not token.cform.startswith(pattern.cform):
        return False
    return token.surface not in pattern.except_surfaces


# Pattern lists live as long as the config: keyed by identity, since hashing pydantic
# models on every lookup costs more than the match itself.
_FORMS: dict[int, tuple[tuple[TokenPattern, ...], frozenset[str] | None]] = {}


def _forms(patterns: tuple[TokenPattern, ...]) -> frozenset[str] | None:
    """Every pattern's form, or None when some pattern has none (matches by pos only)."""
    known = _FORMS.get(id(patterns))
    if known is not None and known[0] is patterns:
        return known[1]
    forms = [p.form for p in patterns]
    found = None if None in forms else frozenset(f for f in forms if f is not None)
    if len(_FORMS) > 1024:
        _FORMS.clear()
    _FORMS[id(patterns)] = (patterns, found)
    return found


def first_match(patterns: tuple[TokenPattern, ...], tokens: Iterable[Token]) -> Token | None:
    # Most lists are words: a set lookup per token finds the few candidates.
    forms = _forms(patterns)
    for token in tokens:
        if forms is not None and not (
            token.surface in forms or token.normalized in forms or token.lemma in forms
        ):
            continue
        if any(matches(p, token) for p in patterns):
            return token
    return None


def masked(text: str, first_person: str | None) -> str:
    """The text with the first person as a plain pronoun of the same length."""
    if not first_person or first_person not in text:
        return text
    stand_in = _STAND_INS.get(len(first_person))
    return text if stand_in is None else text.replace(first_person, stand_in)


def _negates(tokens: tuple[Token, ...], start: int) -> bool:
    for before, token in pairwise(tokens):
        if token.begin == start:
            return (
                token.pos.startswith("助動詞")
                and token.lemma == "ない"
                and before.pos.startswith("動詞")
                and before.cform.startswith("未然形")
            )
    return False


def _with_negation(text: str, spots: list[int]) -> str:
    for start in spots:
        text = text[:start] + "ない" + text[start + 2 :]
    return text


def analysed(text: str) -> tuple[Token, ...]:
    """The text's tokens, with each ねー that negates a verb read as ない."""
    spots = [m.start() for m in _SLANG_NEGATION.finditer(text)]
    if not spots:
        return analyse(text)
    trial = analyse(_with_negation(text, spots))
    negating = [s for s in spots if _negates(trial, s)]
    if negating == spots:
        return trial
    return analyse(_with_negation(text, negating)) if negating else analyse(text)


@dataclass(frozen=True)
class Line:
    text: str
    first_person: str | None

    @cached_property
    def tokens(self) -> tuple[Token, ...]:
        return analysed(masked(self.text, self.first_person))

    @cached_property
    def normalised(self) -> str:
        return normalise(self.text)

    @cached_property
    def words(self) -> tuple[Token, ...]:
        """Tokens that are not part of the first person."""
        spans = spans_of(self.text, self.first_person)
        return tuple(t for t in self.tokens if outside(t, spans))

    @cached_property
    def word_starts(self) -> frozenset[int]:
        """Where each word begins: `token.begin in line.word_starts` is "a word"."""
        return frozenset(t.begin for t in self.words)

    @cached_property
    def content(self) -> tuple[Token, ...]:
        """Words that mean something: no symbols, particles, auxiliaries or fillers."""
        return tuple(w for w in self.words if not w.pos.startswith((*FUNCTION_POS, "感動詞")))

    @cached_property
    def exclamations(self) -> tuple[tuple[int, Token], ...]:
        return exclamations(self.text) if "っ" in self.text else ()

    @cached_property
    def forms(self) -> frozenset[str]:
        tokens = (*self.words, *(adjective for _, adjective in self.exclamations))
        return frozenset(f for t in tokens for f in (t.surface, t.normalized, t.lemma))
