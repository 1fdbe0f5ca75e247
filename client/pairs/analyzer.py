"""Japanese morphological analysis for the pair checks: SudachiPy with sudachidict-core.

Chosen over fugashi + unidic-lite by measurement (docs/dataset.md): it keeps the
persona's slang whole (ランクマ, アプデ, エモかった, 女子力, ホラゲ), it has half as
many unknown words on the labelled set, and its normalised forms fold spellings
(やばい/ヤバい, あったかい/あたたかい). It costs about 0.1 ms per pair.

Pure given the text: the dictionary is loaded once, on first use, per thread (a
Sudachi tokenizer keeps state between calls and must not be shared across threads).
"""

from __future__ import annotations

import threading
from typing import NamedTuple

from sudachipy.sudachipy import Dictionary, Morpheme, SplitMode, Tokenizer

# Mode A, the shortest units: 三連勝 is 三 + 連勝, so numbers and the word that
# carries the meaning are seen apart.
_MODE = SplitMode.A
_local = threading.local()
_dictionary_lock = threading.Lock()
_dictionary: Dictionary | None = None


class Token(NamedTuple):
    """A word as the analyser cut it. A named tuple: a dataset's checks make millions,
    and a tuple is made at C speed where a frozen dataclass sets each field in Python."""

    surface: str
    pos: str  # the part-of-speech path without blanks: 名詞-普通名詞-一般
    cform: str  # conjugation form (連用形-促音便), "" for words that do not conjugate
    normalized: str  # spelling folded: マジ -> まじ, スマホ -> スマホ, 三 -> 三
    lemma: str  # dictionary form: 買っ -> 買う
    begin: int  # character offsets into the analysed text
    end: int

    def has_form(self, form: str) -> bool:
        return form in (self.surface, self.normalized, self.lemma)


# A part-of-speech id of the dictionary -> (pos, cform) as Token has them: a few
# hundred ids, each worked out once instead of for every word.
_POS: dict[int, tuple[str, str]] = {}


def _pos(morpheme: Morpheme) -> tuple[str, str]:
    pos_id = morpheme.part_of_speech_id()
    found = _POS.get(pos_id)
    if found is None:
        pos = morpheme.part_of_speech()
        found = _POS[pos_id] = ("-".join(p for p in pos[:4] if p != "*"), _cform(pos[5]))
    return found


def _cform(form: str) -> str:
    return "" if form == "*" else form


def _tokenizer() -> Tokenizer:
    global _dictionary
    tokenizer: Tokenizer | None = getattr(_local, "tokenizer", None)
    if tokenizer is None:
        with _dictionary_lock:
            if _dictionary is None:
                _dictionary = Dictionary(dict="core")
            tokenizer = _dictionary.tokenizer(_MODE)
        _local.tokenizer = tokenizer
    return tokenizer


def analyse(text: str) -> tuple[Token, ...]:
    return tuple(
        [
            Token(
                m.surface(), *_pos(m), m.normalized_form(), m.dictionary_form(), m.begin(), m.end()
            )
            for m in _tokenizer().tokenize(text)
        ]
    )


def spans_of(text: str, needle: str | None) -> tuple[tuple[int, int], ...]:
    """Where `needle` occurs in `text`. The analyzer splits the first person あーし into
    あー + し (a filler and a verb), so it is found in the text and every token that
    overlaps it is set aside."""
    if not needle:
        return ()
    spans, start = [], text.find(needle)
    while start >= 0:
        spans.append((start, start + len(needle)))
        start = text.find(needle, start + 1)
    return tuple(spans)


def outside(token: Token, spans: tuple[tuple[int, int], ...]) -> bool:
    return not any(token.begin < end and begin < token.end for begin, end in spans)
