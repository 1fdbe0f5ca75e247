"""meaning_drift: what rules can see of a rewrite that changed the meaning. Numbers must
be the same, a negation must not be lost or added to a word of the standard line, the
standard line's words must mostly survive, and no word may turn into its opposite."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from client.config.checks import MeaningRules
from client.pairs.analyzer import Token
from client.pairs.checks.line import FUNCTION_POS, Line, matches

_KANJI_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0, "两": 2}
_KANJI_UNITS = {"十": 10, "百": 100, "千": 1000}
_KANJI_BIG = {"万": 10_000, "億": 100_000_000}


def _kanji_number(text: str) -> int | None:
    total = section = digit = 0
    for char in text:
        if char in _KANJI_DIGITS:
            digit = digit * 10 + _KANJI_DIGITS[char]
        elif char in _KANJI_UNITS:
            section += (digit or 1) * _KANJI_UNITS[char]
            digit = 0
        elif char in _KANJI_BIG:
            total += (section + digit or 1) * _KANJI_BIG[char]
            section = digit = 0
        else:
            return None
    return total + section + digit


def _number(token: Token) -> int | None:
    text = unicodedata.normalize("NFKC", token.surface).replace(",", "")
    return int(text) if text.isdigit() else _kanji_number(text)


def numbers(line: Line) -> frozenset[int]:
    """The values of the line's numerals (三 and 3 are one number; 何, 数 are none)."""
    found = (_number(t) for t in line.tokens if t.pos.startswith("名詞-数詞"))
    return frozenset(n for n in found if n is not None)


def _canonical(token: Token, inverse: Mapping[str, str]) -> str:
    for form in (token.surface, token.normalized, token.lemma):
        if form in inverse:
            return inverse[form]
    return token.normalized


def _rhetorical(tokens: tuple[Token, ...], index: int, rules: MeaningRules) -> bool:
    following = "".join(t.surface for t in tokens[index + 1 : index + 4])
    return any(following.startswith(q) or q in following[:3] for q in rules.question_marks)


def _is_negation(token: Token, rules: MeaningRules) -> bool:
    return any(matches(p, token) for p in rules.negations)


def _light(tokens: tuple[Token, ...], index: int) -> bool:
    """A verb that only carries the one before it: 掃除し, 得意ではあり, 寝てい."""
    if "非自立" not in tokens[index].pos or index == 0:
        return False
    before = tokens[index - 1]
    return before.pos.startswith(("名詞", "助動詞", "助詞-接続助詞", "助詞-係助詞"))


def _predicate_before(tokens: tuple[Token, ...], index: int, rules: MeaningRules) -> Token | None:
    """The word a negation negates, within its sentence; None for a second negation
    (なければなりません) or none found."""
    for i in range(index - 1, -1, -1):
        token = tokens[i]
        if _is_negation(token, rules) or token.pos.startswith(("補助記号-句点", "補助記号-読点")):
            return None
        if token.pos.startswith(FUNCTION_POS) or _light(tokens, i):
            continue
        return token
    return None


# ない after a noun or particle is "there is no" (時間がない), the negation of ある
# (時間がありません), not of the noun.
_EXIST = "有る"


def _existential(tokens: tuple[Token, ...], index: int) -> bool:
    token = tokens[index]
    if not token.pos.startswith("形容詞") or index == 0:
        return False
    before = tokens[index - 1]
    return not (before.cform.startswith("連用形") or before.pos.startswith("助詞-係助詞"))


def _in_obligation(line: Line, token: Token, rules: MeaningRules) -> bool:
    for phrase in rules.not_negations:
        start = line.text.find(phrase)
        while start >= 0:
            if start <= token.begin < start + len(phrase):
                return True
            start = line.text.find(phrase, start + 1)
    return False


def polarity(
    line: Line, rules: MeaningRules, inverse: Mapping[str, str]
) -> tuple[set[str], set[str]]:
    """(negated words, all words) of a line, by canonical form; "" stands for a
    negation whose word was not found."""
    tokens = line.words
    negated: set[str] = set()
    for i, token in enumerate(tokens):
        if not _is_negation(token, rules) or _in_obligation(line, token, rules):
            continue
        if _rhetorical(tokens, i, rules):
            continue
        if _existential(tokens, i):
            negated.add(_EXIST)
            continue
        predicate = _predicate_before(tokens, i, rules)
        if predicate is not None:
            negated.add(_canonical(predicate, inverse))
    return negated, {_canonical(t, inverse) for t in line.content}


def negation_drift(
    standard: Line, persona: Line, rules: MeaningRules, inverse: Mapping[str, str]
) -> str | None:
    s_neg, s_all = polarity(standard, rules, inverse)
    p_neg, p_all = polarity(persona, rules, inverse)
    if s_neg and not p_neg:
        return f"the negation of {sorted(s_neg)[0]!r} is lost"
    flipped = sorted((s_neg & p_all - p_neg) | (p_neg & s_all - s_neg))
    if flipped:
        return f"{flipped[0]!r} is negated in one line and not the other"
    return None


def _covered(standard: Line, persona: Line, equivalents: Mapping[str, tuple[str, ...]]) -> set[int]:
    """Offsets of the standard line covered by an equivalent in the persona line
    (誕生日プレゼント -> 誕プレ covers both words)."""
    covered: set[int] = set()
    for word, variants in equivalents.items():
        start = standard.text.find(word)
        if start >= 0 and any(v in persona.text for v in variants):
            covered.update(range(start, start + len(word)))
    return covered


def missing_words(standard: Line, persona: Line, rules: MeaningRules) -> tuple[list[str], int]:
    """The standard line's content words absent from the persona line, and how many
    content words it has."""
    covered = _covered(standard, persona, rules.equivalents)
    words = [t for t in standard.content if t.pos.startswith(rules.content_pos)]
    missing = [
        t.surface
        for t in words
        if t.begin not in covered
        and t.surface not in persona.text
        and not (t.normalized in persona.forms or t.lemma in persona.forms)
    ]
    return missing, len(words)


def opposite(standard: Line, persona: Line, rules: MeaningRules) -> str | None:
    for a, b in rules.opposites:
        for x, y in ((a, b), (b, a)):
            if (
                x in standard.text
                and x not in persona.text
                and y in persona.text
                and y not in standard.text
            ):
                return f"{x!r} became {y!r}"
    return None


def meaning_drift(
    standard: Line, persona: Line, rules: MeaningRules, inverse: Mapping[str, str]
) -> str | None:
    if rules.numbers:
        s_num, p_num = numbers(standard), numbers(persona)
        if s_num != p_num:
            return f"numbers {sorted(s_num)} became {sorted(p_num)}"
    found = opposite(standard, persona, rules) or negation_drift(standard, persona, rules, inverse)
    if found is not None:
        return found
    missing, total = missing_words(standard, persona, rules)
    if missing and len(missing) > rules.max_missing_share * total:
        return (
            f"{len(missing)} of {total} words of the standard line are gone: {', '.join(missing)}"
        )
    return None
