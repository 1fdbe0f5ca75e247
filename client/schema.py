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
# Anything else that may stand inside a JSON string without an escape. Keeping `"`,
# `\` and control characters out means guided decoding can never emit a string
# that needs escaping, so the reply is valid JSON however the model behaves.
OTHER_CHAR = f'[^"\\\\\\u0000-\\u001f{JAPANESE_RANGES}]'
LINE_CHAR = '[^"\\\\\\u0000-\\u001f]'

SCHEMA_NAME = "gyaru_pairs"
ITEMS_KEY = "pairs"


@dataclass(frozen=True)
class PairRules:
    """Everything that decides whether one generated item is acceptable."""

    topics: tuple[str, ...]
    first_person: str | None  # None: not required
    standard_min_chars: int
    standard_max_chars: int
    gyaru_min_chars: int
    gyaru_max_chars: int
    max_non_japanese_run: int

    @cached_property
    def standard_pattern(self) -> str:
        run = self.max_non_japanese_run
        return f"^(?:{OTHER_CHAR}{{0,{run}}}{JAPANESE_CHAR})+{OTHER_CHAR}{{0,{run}}}$"

    @cached_property
    def gyaru_pattern(self) -> str:
        if self.first_person is None:
            return self.standard_pattern
        run = self.max_non_japanese_run
        unit = f"(?:{OTHER_CHAR}{{0,{run}}}{JAPANESE_CHAR})*"
        tail = f"{OTHER_CHAR}{{0,{run}}}"
        marker = re.escape(self.first_person)
        return f"^{unit}{tail}{marker}{unit}{tail}$"

    @cached_property
    def standard_re(self) -> re.Pattern[str]:
        return re.compile(self.standard_pattern)

    @cached_property
    def gyaru_re(self) -> re.Pattern[str]:
        return re.compile(self.gyaru_pattern)

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
