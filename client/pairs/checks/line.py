"""One line as the checks see it: its text, its tokens, and where the first person is."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache

from client.config.checks import TokenPattern
from client.pairs.analyzer import Token, analyse, outside, spans_of
from client.pairs.dedup import normalise

# Tokens that carry no word of their own: symbols, blanks, particles, auxiliaries.
FUNCTION_POS = ("補助記号", "空白", "助詞", "助動詞", "記号")


def matches(pattern: TokenPattern, token: Token) -> bool:
    if pattern.form is not None and not token.has_form(pattern.form):
        return False
    if pattern.pos and not token.pos.startswith(pattern.pos):
        return False
    if pattern.cform and not token.cform.startswith(pattern.cform):
        return False
    return token.surface not in pattern.except_surfaces


@lru_cache(maxsize=256)
def _forms(patterns: tuple[TokenPattern, ...]) -> frozenset[str] | None:
    """Every pattern's form, or None when some pattern has none (matches by pos only)."""
    forms = [p.form for p in patterns]
    return None if None in forms else frozenset(f for f in forms if f is not None)


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


@dataclass(frozen=True)
class Line:
    text: str
    first_person: str | None

    @cached_property
    def tokens(self) -> tuple[Token, ...]:
        return analyse(self.text)

    @cached_property
    def normalised(self) -> str:
        return normalise(self.text)

    @cached_property
    def words(self) -> tuple[Token, ...]:
        """Tokens that are not part of the first person."""
        spans = spans_of(self.text, self.first_person)
        return tuple(t for t in self.tokens if outside(t, spans))

    @cached_property
    def content(self) -> tuple[Token, ...]:
        """Words that mean something: no symbols, particles, auxiliaries or fillers."""
        return tuple(w for w in self.words if not w.pos.startswith((*FUNCTION_POS, "感動詞")))

    @cached_property
    def forms(self) -> frozenset[str]:
        return frozenset(f for t in self.tokens for f in (t.surface, t.normalized, t.lemma))
