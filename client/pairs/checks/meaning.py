"""meaning_drift: what rules can see of a rewrite that changed the meaning.

Numbers must be the same (3千, 三千 and 3000 are one number), a negation must not be
lost or added to a word of the standard line, no word may turn into its opposite,
and the standard line's words must mostly survive: a drift score weighs each word
by how much it carries (a noun more than a verb the persona swaps for its own, a
one-character noun little), and a word survives as itself, in another spelling,
clipped (スマホ, バイト, 同接) or as one of the persona's equivalents (確認する ->
見る). Negative forms inside fixed expressions (思わず, やむを得ず, しかない) negate
nothing.

Where a rule is sure (a number changed, a negation flipped on a word both lines
hold, most of the weight gone) it answers a string and the pair is rejected. Where
it is not (some of the weight gone, a negation lost with its word, a stray 一), it
answers `Unsure`: the judge decides, with the note in its prompt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from client.config.checks import MeaningRules
from client.pairs.analyzer import Token
from client.pairs.checks.clipping import covered_by_clipping
from client.pairs.checks.line import FUNCTION_POS, Line, first_match
from client.pairs.checks.numbers import numbers, numeral_spans


@dataclass(frozen=True, slots=True)
class Unsure:
    """A finding a rule is not sure of: a note for the judge, not a rejection."""

    detail: str


def _canonical(token: Token, inverse: Mapping[str, str]) -> str:
    for form in (token.surface, token.normalized, token.lemma):
        if form in inverse:
            return inverse[form]
    return token.normalized


def _rhetorical(tokens: tuple[Token, ...], index: int, rules: MeaningRules) -> bool:
    following = "".join(t.surface for t in tokens[index + 1 : index + 4])
    return any(following.startswith(q) or q in following[:3] for q in rules.question_marks)


def _is_negation(token: Token, rules: MeaningRules) -> bool:
    return first_match(rules.negations, (token,)) is not None


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


def _phrase_spans(text: str, phrases: tuple[str, ...]) -> list[tuple[int, int]]:
    spans = []
    for phrase in phrases:
        start = text.find(phrase)
        while start >= 0:
            spans.append((start, start + len(phrase)))
            start = text.find(phrase, start + 1)
    return spans


def _within(token: Token, spans: list[tuple[int, int]]) -> bool:
    return any(b <= token.begin < e for b, e in spans)


def polarity(
    line: Line, rules: MeaningRules, inverse: Mapping[str, str]
) -> tuple[set[str], set[str]]:
    """(negated words, all words) of a line, by canonical form; "" stands for a
    negation whose word was not found."""
    tokens = line.words
    negated: set[str] = set()
    fixed: list[tuple[int, int]] | None = None
    for i, token in enumerate(tokens):
        if not _is_negation(token, rules):
            continue
        if fixed is None:
            # Obligations and fixed expressions: their negative forms negate nothing.
            fixed = _phrase_spans(line.text, (*rules.not_negations, *rules.fixed_expressions))
        if _within(token, fixed):
            continue
        if _rhetorical(tokens, i, rules):
            continue
        if _existential(tokens, i):
            negated.add(_EXIST)
            continue
        predicate = _predicate_before(tokens, i, rules)
        negated.add("" if predicate is None else _canonical(predicate, inverse))
    return negated, {_canonical(t, inverse) for t in line.content}


def negation_drift(
    standard: Line, persona: Line, rules: MeaningRules, inverse: Mapping[str, str]
) -> str | Unsure | None:
    """Sure when a word both lines hold is negated in one only; unsure when the
    negated word itself is gone (the persona may say it another way: お金がない ->
    金欠)."""
    s_neg, s_all = polarity(standard, rules, inverse)
    p_neg, p_all = polarity(persona, rules, inverse)
    flipped = sorted(((s_neg - p_neg) & p_all) | (p_neg & s_all - s_neg))
    if flipped:
        return f"{flipped[0]!r} is negated in one line and not the other"
    lost = sorted(w for w in s_neg - p_neg if w)
    if lost and not p_neg:
        return Unsure(f"the negation of {lost[0]!r} is gone with its word")
    return None


def _covered(standard: Line, persona: Line, equivalents: Mapping[str, tuple[str, ...]]) -> set[int]:
    """Offsets of the standard line covered by an equivalent in the persona line
    (誕生日プレゼント -> 誕プレ covers both words; 話しました -> 喋った, by dictionary
    form)."""
    covered: set[int] = set()
    for word, variants in equivalents.items():
        if not any(v in persona.text or v in persona.forms for v in variants):
            continue
        start = standard.text.find(word)
        if start >= 0:
            covered.update(range(start, start + len(word)))
        for t in standard.words:
            if word in (t.lemma, t.normalized):
                covered.update(range(t.begin, t.end))
    return covered


def weight(token: Token, rules: MeaningRules) -> float:
    """How much a word carries: by the longest matching part of speech, halved for a
    one-character word (量, 数, 中)."""
    best, value = -1, 1.0
    for pos, w in rules.weights.items():
        if token.pos.startswith(pos) and len(pos) > best:
            best, value = len(pos), w
    return value * (0.5 if len(token.surface) == 1 else 1.0)


def drift(standard: Line, persona: Line, rules: MeaningRules) -> tuple[float, list[str]]:
    """The share of the standard line's word weight gone from the persona line, and
    the words gone."""
    covered = _covered(standard, persona, rules.equivalents)
    # A fixed expression is one idiom, said in the persona's own (知らないうちに ->
    # 気づいたら): its words are not weighed one by one.
    # Nor are the pieces of a numeral the analyzer cut badly (1万5 + 千歩).
    apart = [*_phrase_spans(standard.text, rules.fixed_expressions), *numeral_spans(standard)]
    words = [
        t for t in standard.content if t.pos.startswith(rules.content_pos) and not _within(t, apart)
    ]
    if rules.clipping and words:
        covered |= covered_by_clipping(standard.text, words, persona.text)
    total = gone = 0.0
    missing = []
    for t in words:
        w = weight(t, rules)
        total += w
        kept = (
            t.begin in covered
            or t.surface in persona.text
            or t.normalized in persona.forms
            or t.lemma in persona.forms
        )
        if not kept:
            gone += w
            missing.append(t.surface)
    return (gone / total if total else 0.0), missing


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


def number_drift(standard: Line, persona: Line, rules: MeaningRules) -> str | Unsure | None:
    s_num = numbers(standard, rules.equivalents, persona.text)
    p_num = numbers(persona, rules.equivalents, standard.text)
    if s_num == p_num:
        return None
    detail = f"numbers {sorted(s_num)} became {sorted(p_num)}"
    # 一 is as often a word (一発, 一気) as the number one.
    return Unsure(detail) if (s_num ^ p_num) == {1} else detail


def meaning_drift(
    standard: Line, persona: Line, rules: MeaningRules, inverse: Mapping[str, str]
) -> str | Unsure | None:
    unsure: Unsure | None = None
    found: str | Unsure | None
    for found in (
        number_drift(standard, persona, rules) if rules.numbers else None,
        opposite(standard, persona, rules),
        negation_drift(standard, persona, rules, inverse),
    ):
        if isinstance(found, str):
            return found
        unsure = unsure or found
    share, missing = drift(standard, persona, rules)
    if missing and share >= rules.note_missing_share:
        detail = (
            f"{share:.0%} of the standard line's word weight is gone"
            f" (at most {rules.max_missing_share:.0%}): {', '.join(missing)}"
        )
        return detail if share > rules.max_missing_share else Unsure(detail)
    return unsure
