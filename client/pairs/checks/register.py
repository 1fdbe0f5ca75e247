"""Checks of how a line is said: truncation, register, near_copy. Each returns what is
wrong, or None."""

from __future__ import annotations

from client.config.checks import NearCopyRules, RegisterRules, TruncationRules
from client.pairs.analyzer import Token, analyse
from client.pairs.checks.line import Line, first_match
from client.pairs.dedup import normalise


def _last_word(line: Line, closing: str) -> Token | None:
    for token in reversed(line.tokens):
        if token.pos.startswith(("補助記号", "空白")) or not token.surface.strip(closing):
            continue
        return token
    return None


def _exclamation(token: Token) -> bool:
    """An adjective cut short with っ (うまっ, さむっ, やばっ) is an exclamation."""
    if not token.surface.endswith("っ") or len(token.surface) < 2:
        return False
    whole = analyse(token.surface[:-1] + "い")
    return len(whole) == 1 and whole[0].pos.startswith("形容詞")


def truncation(line: Line, rules: TruncationRules) -> str | None:
    text = line.text.rstrip()
    if text and text[-1] in rules.open_chars:
        return f"ends with {text[-1]!r}"
    if text.rstrip(rules.closing_chars).endswith(rules.complete_endings or ("\0",)):
        return None
    last = _last_word(line, rules.closing_chars)
    if last is None or last not in line.words:
        return None  # nothing but symbols, or it ends with the first person: not cut off
    if first_match(rules.endings, (last,)) is not None and not _exclamation(last):
        return f"ends mid-phrase at {last.surface!r} ({last.pos} {last.cform})".rstrip()
    return None


def persona_register(line: Line, rules: RegisterRules) -> str | None:
    found = first_match(rules.persona_forbidden, line.words)
    if found is not None:
        return f"persona line uses {found.surface!r}, not the persona's register"
    for phrase in rules.persona_forbidden_phrases:
        if phrase in line.text:
            return f"persona line uses {phrase!r}, not the persona's register"
    if rules.persona_required and first_match(rules.persona_required, line.words) is None:
        return "persona line has none of the persona's register words"
    return None


def standard_register(line: Line, rules: RegisterRules, first_person: str | None) -> str | None:
    if first_person and first_person in line.text:
        return f"standard line holds the persona's first person {first_person!r}"
    found = first_match(rules.standard_forbidden, line.tokens)
    if found is not None:
        return f"standard line uses the persona's {found.surface!r}"
    for phrase in rules.standard_forbidden_phrases:
        if phrase in line.text:
            return f"standard line uses the persona's {phrase!r}"
    return None


def _skeleton(line: Line, rules: NearCopyRules) -> str:
    return normalise(
        "".join(w.surface for w in line.words if not w.pos.startswith(rules.ignore_pos))
    )


def near_copy(standard: Line, persona: Line, rules: NearCopyRules) -> str | None:
    if any(m in persona.text and m not in standard.text for m in rules.rewrite_markers):
        return None
    skeleton = _skeleton(persona, rules)
    if skeleton and skeleton == _skeleton(standard, rules):
        return "persona line is the standard line with only the first person, particles or endings changed"
    return None
