"""The LLM judge's request: its system prompt (judge_prompt.txt in the persona folder), the
pairs as the user message, and the JSON schema its reply must follow. Pure.

The system prompt is a template like the generation prompt (`${name}` placeholders:
persona_name, first_person, topics) and holds nothing that varies per batch, so the
server's prefix cache serves it once for every batch.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from client.pairs.judge import CRITERIA, GRADE_MAX, GRADE_MIN, GRADES_KEY
from client.pairs.prompts import read_prompt_file, render
from client.pairs.schema import LINE_CHAR

SCHEMA_NAME = "gyaru_judge"
# Room in the reply budget for `{"grades":[` and `]}`.
REPLY_OVERHEAD_TOKENS = 32


class JudgedItem(Protocol):
    """What the judge sees of a pair (a Pair, a labelled calibration item...)."""

    @property
    def topic(self) -> str: ...
    @property
    def standard(self) -> str: ...
    @property
    def gyaru(self) -> str: ...


@dataclass(frozen=True)
class DictPair:
    """A pair read back from a file (a raw record, a dataset) as the judge sees it."""

    pair: dict[str, Any]

    @property
    def topic(self) -> str:
        return str(self.pair.get("topic", ""))

    @property
    def standard(self) -> str:
        return str(self.pair["standard"])

    @property
    def gyaru(self) -> str:
        return str(self.pair["gyaru"])


def _item_schema(number: int, reason_max_chars: int) -> dict[str, Any]:
    grade = {"type": "integer", "enum": list(range(GRADE_MIN, GRADE_MAX + 1))}
    return {
        "type": "object",
        "properties": {
            "pair": {"type": "integer", "const": number},
            # The line pattern generation uses: no quote, backslash or control character,
            # so the reason never needs escaping. A pattern with length bounds also sends
            # the schema to vLLM's guidance backend, the one that honours x-guidance below.
            "reason": {
                "type": "string",
                "minLength": 1,
                "maxLength": reason_max_chars,
                "pattern": f"^{LINE_CHAR}*$",
            },
            **dict.fromkeys(CRITERIA, grade),
            "topic_ok": {"type": "boolean"},
        },
        "required": ["pair", "reason", *CRITERIA, "topic_ok"],
        "additionalProperties": False,
    }


def reply_schema(num_pairs: int, *, reason_max_chars: int) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            GRADES_KEY: {
                "type": "array",
                "prefixItems": [_item_schema(n, reason_max_chars) for n in range(1, num_pairs + 1)],
                "items": False,
                "minItems": num_pairs,
                "maxItems": num_pairs,
            }
        },
        "required": [GRADES_KEY],
        "additionalProperties": False,
        # As for generation (schema.py): no free whitespace for a weak model to spend tokens on.
        "x-guidance": {"whitespace_flexible": False},
    }


def response_format(num_pairs: int, *, reason_max_chars: int) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {
            "name": SCHEMA_NAME,
            "strict": True,
            "schema": reply_schema(num_pairs, reason_max_chars=reason_max_chars),
        },
    }


def max_tokens(num_pairs: int, *, per_pair: int) -> int:
    return REPLY_OVERHEAD_TOKENS + num_pairs * per_pair


def user_message(items: Sequence[JudgedItem]) -> str:
    """The pairs to grade, numbered from 1, one JSON object a line (JSON so that quotes
    or line breaks inside a line cannot blur where one pair ends)."""
    lines = [
        f"次の{len(items)}組を採点してください。"
        "pair の番号ごとに、grades に同じ番号で一つずつ、同じ順番で答えてください。"
    ]
    lines += [
        json.dumps(
            {"pair": n, "topic": it.topic, "standard": it.standard, "persona": it.gyaru},
            ensure_ascii=False,
        )
        for n, it in enumerate(items, start=1)
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class JudgePrompt:
    system: str

    @classmethod
    def load(
        cls, path: Path, *, persona_name: str, first_person: str, topics: Sequence[str]
    ) -> JudgePrompt:
        values = {
            "persona_name": persona_name,
            "first_person": first_person,
            "topics": " / ".join(topics),
        }
        return cls(
            system=render(read_prompt_file(path, what="judge prompt"), values, source=str(path))
        )

    def messages(self, items: Sequence[JudgedItem]) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": self.system},
            {"role": "user", "content": user_message(items)},
        ]
