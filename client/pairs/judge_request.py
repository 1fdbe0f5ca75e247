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

    @property
    def check_note(self) -> str | None:
        note = self.pair.get("check_note")
        return note if isinstance(note, str) else None


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


# Said once, with the instructions, when some pair carries a note from the rule checks.
CHECK_NOTE_HINT = (
    "check_note がある組は、規則による自動チェックが意味のずれを疑ったものの確信できなかった組です。"
    "その指摘が本当か、言い換え（略語・くだけた言い方）にすぎないかを確かめて meaning を付けてください。"
)


def _check_note(item: JudgedItem) -> str | None:
    # Labelled calibration items and older raw records carry no note.
    note = getattr(item, "check_note", None)
    return note if isinstance(note, str) and note else None


def user_message(items: Sequence[JudgedItem]) -> str:
    """The pairs to grade, numbered from 1, one JSON object a line (JSON so that quotes
    or line breaks inside a line cannot blur where one pair ends). A pair the rule
    checks were unsure of carries their note (`check_note`): the judge decides it."""
    notes = [_check_note(it) for it in items]
    # The instructions stay on the first line: every line after it is one pair.
    lines = [
        f"次の{len(items)}組を採点してください。"
        "pair の番号ごとに、grades に同じ番号で一つずつ、同じ順番で答えてください。"
        + (CHECK_NOTE_HINT if any(notes) else "")
    ]
    for n, (it, note) in enumerate(zip(items, notes, strict=True), start=1):
        row = {"pair": n, "topic": it.topic, "standard": it.standard, "persona": it.gyaru}
        lines.append(json.dumps(row | ({"check_note": note} if note else {}), ensure_ascii=False))
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
