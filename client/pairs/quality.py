"""A heuristic quality score in [0, 1] for one pair; see docs/dataset.md.

It rewards what makes a pair useful for style transfer and is cheap enough to run
on every pair. It is a ranking aid, not a judge: filtering on it is opt-in
(`validation.min_quality`).

| part | weight | full marks when |
| --- | --- | --- |
| persona markers | 0.30 | the persona line uses two or more style markers the standard line lacks |
| plain standard | 0.20 | the standard line ends politely (です/ます...) and has no persona markers |
| rewritten, not copied | 0.20 | the lines share between 20 % and 80 % of their distinct characters |
| length ratio | 0.15 | the persona line is 0.8 to 1.8 times as long as the standard line |
| Japanese script | 0.15 | at least 60 % of each line's visible characters are Japanese script |
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from client.pairs.schema import JAPANESE_CHAR

_POLITE_END_RE = re.compile(
    r"(です|ます|ました|ません|でした|ましょう|ください|ですか|ますか|ませんか|でしょう|でしょうか)"
    r"[。！？!?…、\s]*$"
)


_JAPANESE_RUNS_RE = re.compile(JAPANESE_CHAR + "+")
_SPACE_RE = re.compile(r"\s")


def _marker_part(standard: str, gyaru: str, markers: Sequence[str]) -> float:
    new = sum(1 for m in markers if m in gyaru and m not in standard)
    return 0.3 if new >= 2 else 0.15 if new == 1 else 0.0


def _plain_part(standard: str, markers: Sequence[str], first_person: str | None) -> float:
    score = 0.1 if _POLITE_END_RE.search(standard) else 0.0
    # Single characters (！, 〜, w) are fine in a plain line; words are not.
    casual = any(len(m) > 1 and m in standard for m in markers) or (
        first_person is not None and first_person in standard
    )
    return score + (0.0 if casual else 0.10)


def _rewrite_part(standard: str, gyaru: str) -> float:
    # Character sets, not n-grams: in Japanese single characters (kanji above all)
    # carry meaning, and a set of them costs a fraction of building bigrams.
    core = standard.rstrip("。！？!?…、 ")
    if core and core in gyaru:
        return 0.0  # the standard line copied in whole, with a word or two added
    a, b = set(standard), set(gyaru)
    if not a or not b:
        return 0.0
    overlap = len(a & b) / len(a | b)
    if overlap > 0.8:
        return 0.0
    return 0.2 if overlap >= 0.2 else 0.1


def _length_part(standard: str, gyaru: str) -> float:
    ratio = len(gyaru) / max(len(standard), 1)
    if 0.8 <= ratio <= 1.8:
        return 0.15
    if ratio < 0.8:
        return max(0.0, 0.15 * (ratio - 0.5) / 0.3)
    return max(0.0, 0.15 * (3.0 - ratio) / 1.2)


def japanese_share(text: str) -> float:
    visible = len(text) - len(_SPACE_RE.findall(text))
    if not visible:
        return 0.0
    return sum(map(len, _JAPANESE_RUNS_RE.findall(text))) / visible


def _script_part(standard: str, gyaru: str) -> float:
    # Validation only demands kana; a line that is mostly Latin still ranks lower.
    share = min(japanese_share(standard), japanese_share(gyaru))
    return 0.15 * min(share / 0.6, 1.0)


def quality_score(
    standard: str, gyaru: str, markers: Sequence[str], first_person: str | None
) -> float:
    total = (
        _marker_part(standard, gyaru, markers)
        + _plain_part(standard, markers, first_person)
        + _rewrite_part(standard, gyaru)
        + _length_part(standard, gyaru)
        + _script_part(standard, gyaru)
    )
    return round(min(total, 1.0), 2)
