"""Japanese-aware checks of one pair, each failure a reason code (docs/dataset.md):

unsafe, junk, mostly_latin, repetition, truncation, near_copy, register, meaning_drift

Pure: every rule comes from the persona's `checks:` config; the text is analysed with
SudachiPy (client.pairs.analyzer). `PairChecker.check` answers the first failure a
check is sure of; failing that, the first it is not sure of (`sure=False`), which
rejects nothing: the judge decides, with its detail as a note.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from client.config.checks import ChecksConfig
from client.pairs.checks.line import Line
from client.pairs.checks.meaning import Unsure, meaning_drift
from client.pairs.checks.register import near_copy, persona_register, standard_register
from client.pairs.checks.surface import junk, mostly_latin, repetition, unsafe
from client.pairs.checks.truncation import truncation

__all__ = ["CheckFailure", "PairChecker"]


@dataclass(frozen=True, slots=True)
class CheckFailure:
    reason: str  # one of client.config.checks.CHECK_CODES
    detail: str
    # False: the check is not sure; the pair is kept for the judge, with this as a note.
    sure: bool = True

    @property
    def note(self) -> str:
        return f"{self.reason}: {self.detail}"


Check = Callable[[Line, Line], str | Unsure | None]


class PairChecker:
    """The persona's checks, compiled once; `check` runs them in order on one pair."""

    def __init__(self, config: ChecksConfig, first_person: str | None) -> None:
        self.config = config
        self.first_person = first_person
        self._placeholders = [re.compile(p, re.IGNORECASE) for p in config.script.placeholders]
        # Persona word -> the standard word it stands for (スマホ -> スマートフォン).
        self._inverse = {
            variant: word
            for word, variants in config.meaning.equivalents.items()
            for variant in variants
        }
        self._checks: list[tuple[str, Check]] = [
            (code, check)
            for code, check in self._all_checks()
            if config.enabled and code not in config.disabled
        ]

    def _all_checks(self) -> list[tuple[str, Check]]:
        c = self.config

        def both(one: Callable[[Line], str | None]) -> Check:
            def run(standard: Line, persona: Line) -> str | None:
                for name, line in (("standard", standard), ("persona", persona)):
                    found = one(line)
                    if found is not None:
                        return f"{name} line: {found}"
                return None

            return run

        return [
            ("unsafe", both(lambda line: _unsafe_detail(unsafe(line, c.unsafe_words)))),
            ("junk", both(lambda line: junk(line, c.script, self._placeholders))),
            ("mostly_latin", both(lambda line: mostly_latin(line, c.script))),
            ("repetition", both(lambda line: repetition(line, c.repetition))),
            ("truncation", both(lambda line: truncation(line, c.truncation))),
            ("near_copy", lambda s, p: near_copy(s, p, c.near_copy)),
            (
                "register",
                lambda s, p: (
                    standard_register(s, c.voice, self.first_person) or persona_register(p, c.voice)
                ),
            ),
            ("meaning_drift", lambda s, p: meaning_drift(s, p, c.meaning, self._inverse)),
        ]

    def check(self, standard: str, persona: str) -> CheckFailure | None:
        lines = Line(standard, self.first_person), Line(persona, self.first_person)
        unsure: CheckFailure | None = None
        for code, run in self._checks:
            found = run(*lines)
            if isinstance(found, str):
                return CheckFailure(code, found)
            if found is not None and unsure is None:
                unsure = CheckFailure(code, found.detail, sure=False)
        return unsure


def _unsafe_detail(word: str | None) -> str | None:
    return None if word is None else f"holds {word!r}"
