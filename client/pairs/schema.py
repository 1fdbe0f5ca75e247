"""The shape of a batch reply, as one JSON schema for the server and one set of rules here.

The same regular expressions go into the JSON schema (so vLLM's guided decoding
cannot produce a line that breaks them) and into `validate` (so servers without
guided decoding are held to the same rules). What the grammar guarantees and what
validation checks are therefore one definition, not two that drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

# Japanese script: CJK punctuation (、。「」〜々), hiragana, katakana (incl. ー),
# CJK ideographs and extension A, and full/half-width forms (！？ＡＢ ｶﾅ).
JAPANESE_RANGES = r"\u3000-\u303f\u3040-\u309f\u30a0-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff01-\uff9f"
JAPANESE_CHAR = f"[{JAPANESE_RANGES}]"
# Kana: what tells Japanese from Chinese, which a Qwen model sometimes drifts into.
KANA_RANGES = r"\u3040-\u309f\u30a0-\u30ff\uff66-\uff9f"
KANA_CHAR = f"[{KANA_RANGES}]"
# What a line may hold: anything that stands inside a JSON string without an escape.
# Keeping `"`, `\` and control characters out of the grammar means guided decoding
# can never emit a string that needs escaping, so the reply is valid JSON however
# the model behaves. (Validation is looser: it accepts quotes, so what the grammar
# allows is a subset of what validation accepts.)
LINE_CHAR = '[^"\\\\\\u0000-\\u001f\\u007f-\\u009f]'
_KANA_RE = re.compile(KANA_CHAR)

SCHEMA_NAME = "gyaru_pairs"
ITEMS_KEY = "pairs"
_CONTROL_RE = re.compile(r"\s*[\u0000-\u001f\u007f-\u009f]+\s*")
_HAS_CONTROL = re.compile(r"[\u0000-\u001f\u007f-\u009f]").search


def clean_line(text: str) -> str:
    """Strip, and drop raw control characters (newlines, tabs) a model put inside a line:
    a space where they separated two Latin words, nothing between Japanese characters."""

    def join(match: re.Match[str]) -> str:
        before = match.string[match.start() - 1] if match.start() else ""
        after = match.string[match.end()] if match.end() < len(match.string) else ""
        return (
            " "
            if before.isascii() and after.isascii() and before.isalnum() and after.isalnum()
            else ""
        )

    if not _HAS_CONTROL(text):
        return text.strip()
    return _CONTROL_RE.sub(join, text).strip()


@dataclass(frozen=True)
class PairRules:
    """Everything that decides whether one generated item is acceptable."""

    topics: tuple[str, ...]
    first_person: str | None  # None: not required
    standard_min_chars: int
    standard_max_chars: int
    gyaru_min_chars: int
    gyaru_max_chars: int

    def _line_pattern(self, required: str) -> str:
        # The simplest form that says "contains X": vLLM's guidance backend must
        # intersect it with min/maxLength, and richer patterns (bounded runs of
        # Latin between Japanese characters, say) make it answer 400 "Unable to
        # determine if regex is empty" (docs/vllm-behaviour.md).
        return f"^{LINE_CHAR}*{required}{LINE_CHAR}*$"

    @cached_property
    def standard_pattern(self) -> str:
        return self._line_pattern(KANA_CHAR)

    @cached_property
    def gyaru_pattern(self) -> str:
        if self.first_person is None:
            return self.standard_pattern
        return self._line_pattern(re.escape(self.first_person))

    def japanese_problem(self, text: str) -> str | None:
        """Why `text` is not Japanese, or None: it must hold kana, which English, romaji,
        Korean and Chinese (which Qwen models drift into) do not. The grammar's
        patterns guarantee the same."""
        if not _KANA_RE.search(text):
            return "has no kana (English, Chinese or another language, not Japanese)"
        return None

    def item_schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                "topic": {"type": "string", "enum": list(self.topics)},
                "standard": {
                    "type": "string",
                    "minLength": self.standard_min_chars,
                    "maxLength": self.standard_max_chars,
                    "pattern": self.standard_pattern,
                },
                "gyaru": {
                    "type": "string",
                    "minLength": self.gyaru_min_chars,
                    "maxLength": self.gyaru_max_chars,
                    "pattern": self.gyaru_pattern,
                },
            },
            "required": ["topic", "standard", "gyaru"],
            "additionalProperties": False,
        }

    def batch_schema(self, num_pairs: int) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                ITEMS_KEY: {
                    "type": "array",
                    "minItems": num_pairs,
                    "maxItems": num_pairs,
                    "items": self.item_schema(),
                }
            },
            "required": [ITEMS_KEY],
            "additionalProperties": False,
            # vLLM's guidance backend (the one this schema gets) otherwise allows any
            # whitespace between JSON tokens, and a weak or unlucky model can spend its
            # whole token budget on it; compact JSON also costs fewer tokens.
            "x-guidance": {"whitespace_flexible": False},
        }

    def response_format(self, num_pairs: int) -> dict[str, Any]:
        return {
            "type": "json_schema",
            "json_schema": {
                "name": SCHEMA_NAME,
                "strict": True,
                "schema": self.batch_schema(num_pairs),
            },
        }
