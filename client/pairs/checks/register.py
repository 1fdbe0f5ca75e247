"""Checks of how a line is said: register and near_copy. Each returns what is wrong,
or None.

near_copy is about the persona's register, not about shared words: a faithful
rewrite often keeps every word of the standard line and changes only the endings
(朝から頭が痛いです。 -> あーし朝から頭痛いんだけど〜). A persona line is a near
copy when, the first person, particles, auxiliaries and symbols set aside, it is
(nearly: `near_copy.ratio`) the standard line, and it holds none of the persona's
own markers (`near_copy.rewrite_markers`: んだけど, じゃん, 〜 for the gyaru; ですわ
for the お嬢様) that the standard line lacks.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from client.config.checks import NearCopyRules, RegisterRules
from client.pairs.checks.line import Line, first_match
from client.pairs.dedup import normalise


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


def similarity(a: str, b: str) -> float:
    """How much of two skeletons is the same (difflib's ratio: 1.0 for equal ones)."""
    if a == b:
        return 1.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def copy_similarity(standard: Line, persona: Line, rules: NearCopyRules) -> float | None:
    """How alike the two lines' skeletons are; None when the persona line is in its own
    register (a marker the standard line lacks) or has no words to compare."""
    if any(m in persona.text and m not in standard.text for m in rules.rewrite_markers):
        return None
    skeleton = _skeleton(persona, rules)
    return similarity(skeleton, _skeleton(standard, rules)) if skeleton else None


def near_copy(standard: Line, persona: Line, rules: NearCopyRules) -> str | None:
    ratio = copy_similarity(standard, persona, rules)
    if ratio is not None and ratio >= rules.ratio:
        same = "the standard line" if ratio == 1.0 else f"{ratio:.0%} the standard line"
        return f"persona line is {same} with only the first person, particles or endings changed"
    return None
