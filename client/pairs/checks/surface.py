"""Checks that read a line's characters and words alone: unsafe, junk, mostly_latin,
repetition. Each returns what is wrong, or None."""

from __future__ import annotations

import re
from collections.abc import Sequence

from client.config.checks import RepetitionRules, ScriptRules
from client.pairs.checks.line import Line
from client.pairs.dedup import normalise

_LATIN_RE = re.compile(r"[A-Za-z]")
_LATIN_WORD_RE = re.compile(r"[A-Za-z]{2,}")
_VISIBLE_RE = re.compile(r"\S")


def unsafe(line: Line, words: Sequence[str]) -> str | None:
    # Short words match whole tokens only: カス is an insult, カスタム is not.
    for word in words:
        if word in line.forms or (len(word) > 2 and normalise(word) in line.normalised):
            return word
    return None


def junk(line: Line, rules: ScriptRules, placeholders: Sequence[re.Pattern[str]]) -> str | None:
    for pattern in placeholders:
        found = pattern.search(line.text)
        if found is not None:
            return f"placeholder text {found.group(0)!r}"
    if len(line.content) < rules.min_content_tokens:
        return "no words besides the first person and symbols"
    return None


def mostly_latin(line: Line, rules: ScriptRules) -> str | None:
    visible = len(_VISIBLE_RE.findall(line.text))
    latin = len(_LATIN_RE.findall(line.text))
    if visible and latin / visible > rules.max_latin_share:
        return f"{latin} of {visible} characters are Latin letters"
    words = _LATIN_WORD_RE.findall(line.text)
    if len(words) >= rules.max_latin_words:
        return f"{len(words)} Latin words ({' '.join(words[:4])}...)"
    return None


def _tandem(text: str, rules: RepetitionRules) -> str | None:
    # A piece repeated back to back: (.{n,}?)\1{k-1,}. The lines are short (a few
    # hundred characters at most), so the backtracking stays cheap.
    pattern = re.compile(rf"(.{{{rules.min_unit_chars},}}?)\1{{{rules.min_tandem - 1},}}")
    found = pattern.search(text)
    return None if found is None else found.group(1)


def _repeated_span(text: str, size: int) -> str | None:
    first_seen: dict[str, int] = {}
    for start in range(len(text) - size + 1):
        piece = text[start : start + size]
        seen = first_seen.setdefault(piece, start)
        if start - seen >= size:
            return piece
    return None


def repetition(line: Line, rules: RepetitionRules) -> str | None:
    text = line.normalised
    unit = _tandem(text, rules)
    if unit is not None:
        return f"{unit!r} repeated {rules.min_tandem}+ times in a row"
    span = _repeated_span(text, rules.min_span_chars)
    if span is not None:
        return f"{span!r} occurs twice"
    return None
