"""A word-level diff of a pair's two lines, for the review page. Pure.

The lines are cut into words by the project's analyser (SudachiPy, client.pairs.analyzer)
and matched word by word, so a changed word is highlighted whole (スマートフォン ->
スマホ), never a character inside it. Every word the rewrite added (persona line) or
dropped (standard line) is one of two kinds:

| kind | what | example |
| --- | --- | --- |
| `voice` | the persona's voice: its first person, style and rewrite markers, slang and its equivalents, endings (particles, auxiliaries, symbols) | あーし, マジ, じゃん, 〜, スマホ for スマートフォン, ですわ, dropped です/ます |
| `content` | a word that carries meaning: what a reviewer checks for drift | an added ずっと, a changed 三連敗, a negation なく |

Words both lines share are `same`. Negations count as content even though they are
auxiliaries: a line that gains one says the opposite.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

from client.config import Settings
from client.config.checks import TokenPattern
from client.pairs.analyzer import Token, analyse, spans_of
from client.pairs.checks.line import matches

Mark = Literal["same", "voice", "content"]
Span = tuple[int, int]

# Words that carry grammar, not meaning: changing them changes how a line sounds.
FUNCTION_POS = ("補助記号", "空白", "助詞", "助動詞", "記号", "接尾辞", "接頭辞", "感動詞")
# Verbs that only help another one (して*い*ました, 食べて*しまう*): register, not content.
HELPER_VERBS = frozenset(
    {"いる", "居る", "ある", "有る", "おる", "おく", "置く", "しまう", "仕舞う",
     "くる", "来る", "いく", "行く", "みる", "見る", "する", "為る", "いただく", "頂く", "くださる", "下さる"}
)  # fmt: skip


@dataclass(frozen=True)
class VoiceWords:
    """What the persona adds to a line (voice_words: from its config)."""

    first_person: str | None = None
    # Substrings: style markers, rewrite markers, slang phrases.
    phrases: tuple[str, ...] = ()
    # Slang words matched on the analyser's forms (まじ matches マジ).
    slang: tuple[TokenPattern, ...] = ()
    # Standard word -> the persona's words for it (スマートフォン -> スマホ).
    equivalents: tuple[tuple[str, tuple[str, ...]], ...] = ()
    negations: tuple[TokenPattern, ...] = ()


def voice_words(settings: Settings) -> VoiceWords:
    """The persona's words from its config: `persona` (first person, style markers)
    and `checks` (rewrite markers, slang, equivalents, negations)."""
    persona, checks = settings.persona, settings.checks
    return VoiceWords(
        first_person=persona.first_person,
        phrases=(
            *persona.style_markers,
            *checks.near_copy.rewrite_markers,
            *checks.voice.standard_forbidden_phrases,
        ),
        slang=checks.voice.standard_forbidden,
        equivalents=tuple(checks.meaning.equivalents.items()),
        negations=checks.meaning.negations,
    )


@dataclass(frozen=True, slots=True)
class Segment:
    text: str
    mark: Mark

    def to_json(self) -> list[str]:
        return [self.text, self.mark]


@dataclass(frozen=True, slots=True)
class WordDiff:
    standard: tuple[Segment, ...]
    persona: tuple[Segment, ...]

    def to_lines(self) -> tuple[tuple[Segment, ...], tuple[Segment, ...]]:
        return self.standard, self.persona

    def to_json(self) -> dict[str, list[list[str]]]:
        return {
            "standard": [s.to_json() for s in self.standard],
            "gyaru": [s.to_json() for s in self.persona],
        }


def _overlaps(token: Token, spans: Iterable[Span], *, half: bool = False) -> bool:
    """Whether a span covers part of the token (with half: at least half of it, so the
    marker w does not claim the word Switch)."""
    for begin, end in spans:
        shared = min(end, token.end) - max(begin, token.begin)
        if shared > 0 and (not half or 2 * shared >= token.end - token.begin):
            return True
    return False


def _phrase_spans(text: str, phrases: Iterable[str]) -> list[Span]:
    return [span for phrase in phrases for span in spans_of(text, phrase)]


def _equivalent_spans(
    standard: str, persona: str, words: VoiceWords
) -> tuple[list[Span], list[Span]]:
    """Where a standard word and the persona's word for it stand (スマートフォン, スマホ)."""
    in_standard: list[Span] = []
    in_persona: list[Span] = []
    for word, variants in words.equivalents:
        used = [v for v in variants if v in persona]
        if word in standard and used:
            in_standard += spans_of(standard, word)
            in_persona += _phrase_spans(persona, used)
    return in_standard, in_persona


def _is_function(token: Token, words: VoiceWords) -> bool:
    if any(matches(p, token) for p in words.negations):
        return False
    if token.pos.startswith(FUNCTION_POS):
        return True
    return token.pos.startswith("動詞-非自立可能") and token.lemma in HELPER_VERBS


def _mark(token: Token, voice_spans: Sequence[Span], words: VoiceWords) -> Mark:
    if _overlaps(token, voice_spans, half=True):
        return "voice"
    if any(matches(p, token) for p in words.slang) or _is_function(token, words):
        return "voice"
    return "content"


def _changed(
    a: Sequence[Token], b: Sequence[Token], apart: Sequence[Span]
) -> tuple[set[int], set[int]]:
    """The positions of the words of a and of b that the other line does not share;
    the words of b under `apart` (the first person) are never shared."""
    keys_b = ["\0" if _overlaps(t, apart) else t.surface for t in b]
    matcher = SequenceMatcher(None, [t.surface for t in a], keys_b, autojunk=False)
    same_a: set[int] = set()
    same_b: set[int] = set()
    for block in matcher.get_matching_blocks():
        same_a.update(range(block.a, block.a + block.size))
        same_b.update(range(block.b, block.b + block.size))
    return set(range(len(a))) - same_a, set(range(len(b))) - same_b


def _segments(text: str, tokens: Sequence[Token], marks: Sequence[Mark]) -> tuple[Segment, ...]:
    """The line cut into runs of one mark; the runs put together are the line itself."""
    out: list[Segment] = []
    position = 0
    for token, mark in zip(tokens, marks, strict=True):
        # Anything the analyser skipped between words belongs to the word after it.
        piece = text[position : token.end]
        position = token.end
        if out and out[-1].mark == mark:
            out[-1] = Segment(out[-1].text + piece, mark)
        elif piece:
            out.append(Segment(piece, mark))
    if position < len(text):
        rest = text[position:]
        if out and out[-1].mark == "same":
            out[-1] = Segment(out[-1].text + rest, "same")
        else:
            out.append(Segment(rest, "same"))
    return tuple(out)


def word_diff(standard: str, persona: str, words: VoiceWords) -> WordDiff:
    a, b = analyse(standard), analyse(persona)
    # The first person is one word to a reader (Sudachi cuts あーし into あー + し),
    # and always the persona's: its pieces never match a word of the standard line.
    first_person = spans_of(persona, words.first_person)
    gone, added = _changed(a, b, first_person)
    equivalent_a, equivalent_b = _equivalent_spans(standard, persona, words)
    voice_b = [*first_person, *_phrase_spans(persona, words.phrases), *equivalent_b]
    marks_a: list[Mark] = [
        _mark(t, equivalent_a, words) if i in gone else "same" for i, t in enumerate(a)
    ]
    marks_b: list[Mark] = [
        _mark(t, voice_b, words) if i in added else "same" for i, t in enumerate(b)
    ]
    return WordDiff(_segments(standard, a, marks_a), _segments(persona, b, marks_b))
