"""pairs.judge_request: the judge's prompts (both personas), user message and schema."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest

from client.config import DEFAULT_JUDGE_PROMPT, load_settings
from client.errors import ConfigError
from client.pairs.judge import read_reply
from client.pairs.judge_request import (
    CHECK_NOTE_HINT,
    SCHEMA_NAME,
    DictPair,
    JudgePrompt,
    max_tokens,
    reply_schema,
    response_format,
    user_message,
)
from tests.helpers import REPO
from tests.judgefake import good_grades, judge_content, judged_pairs

GYARU_TOPICS = ("Tech", "Streaming", "Daily", "Gaming")
OJOUSAMA_PROMPT = REPO / "personas" / "ojousama" / "judge_prompt.txt"


@dataclass(frozen=True)
class Item:
    topic: str
    standard: str
    gyaru: str


ITEMS = [
    Item(
        "Gaming", "ランクマッチで三連勝しました。", "ランクマで三連勝とかマジ神！あーし天才かも〜"
    ),
    Item("Daily", "「雨」と書いて\nください。", 'あーし的には "雨" ってマジ萎える〜'),
]


def load_gyaru(path: Path = REPO / DEFAULT_JUDGE_PROMPT) -> JudgePrompt:
    return JudgePrompt.load(
        path, persona_name="あーし系ギャル", first_person="あーし", topics=GYARU_TOPICS
    )


def test_the_schema_is_valid_json_schema_and_pins_each_pair_number() -> None:
    schema = reply_schema(3, reason_max_chars=40)
    jsonschema.Draft202012Validator.check_schema(schema)
    items = schema["properties"]["grades"]["prefixItems"]
    assert [it["properties"]["pair"]["const"] for it in items] == [1, 2, 3]
    assert (
        schema["properties"]["grades"]["minItems"]
        == schema["properties"]["grades"]["maxItems"]
        == 3
    )
    assert items[0]["properties"]["reason"]["maxLength"] == 40
    # The reason comes first among what the judge writes: it grades what it just said.
    assert list(items[0]["properties"])[:2] == ["pair", "reason"]


def test_a_good_fake_reply_is_valid_under_the_schema_and_anything_else_is_not() -> None:
    schema = reply_schema(2, reason_max_chars=40)
    body = {"messages": [{"role": "user", "content": user_message(ITEMS)}]}
    text, _ = judge_content("ok", body)
    jsonschema.validate(json.loads(text), schema)
    for action in ("short", "outofrange", "strings", "reversed"):
        broken = json.loads(judge_content(action, body)[0])
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema)
    too_long = json.loads(text)
    too_long["grades"][0]["reason"] = "あ" * 41
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(too_long, schema)


def test_response_format_names_the_judge_schema() -> None:
    fmt = response_format(2, reason_max_chars=30)
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == SCHEMA_NAME
    assert fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"] == reply_schema(2, reason_max_chars=30)


def test_the_reply_budget_grows_with_the_batch() -> None:
    assert max_tokens(30, per_pair=100) == 32 + 3000
    assert max_tokens(1, per_pair=100) < max_tokens(2, per_pair=100)


def test_the_user_message_numbers_the_pairs_as_json_lines() -> None:
    text = user_message(ITEMS)
    first, *lines = text.splitlines()
    assert first.startswith("次の2組を採点してください。")
    # Quotes and a line break inside a line stay inside its JSON string.
    assert len(lines) == 2
    assert [json.loads(line) for line in lines] == [
        {"pair": 1, "topic": "Gaming", "standard": ITEMS[0].standard, "persona": ITEMS[0].gyaru},
        {"pair": 2, "topic": "Daily", "standard": ITEMS[1].standard, "persona": ITEMS[1].gyaru},
    ]


@dataclass(frozen=True)
class NotedItem(Item):
    check_note: str | None = None


def test_a_pair_the_checks_were_unsure_of_carries_their_note() -> None:
    note = "meaning_drift: 37% of the standard line's word weight is gone: 予定"
    items = [
        NotedItem(*dataclasses.astuple(ITEMS[0])),
        NotedItem(*dataclasses.astuple(ITEMS[1]), note),
    ]
    first, *lines = user_message(items).splitlines()
    assert CHECK_NOTE_HINT in first
    rows = [json.loads(line) for line in lines]
    assert "check_note" not in rows[0] and rows[1]["check_note"] == note
    # Without notes the message is as before, and a stored pair's note is read back.
    assert CHECK_NOTE_HINT not in user_message(ITEMS)
    stored = DictPair({"topic": "Daily", "standard": "s", "gyaru": "g", "check_note": note})
    assert json.loads(user_message([stored]).splitlines()[1])["check_note"] == note


def test_what_the_fake_judge_reads_is_what_was_sent() -> None:
    body = {"messages": load_gyaru().messages(ITEMS)}
    assert [p["standard"] for p in judged_pairs(body)] == [i.standard for i in ITEMS]
    reading = read_reply(judge_content("ok", body, good_grades)[0], 2)
    assert reading.complete


def test_the_gyaru_judge_prompt_renders_with_the_persona() -> None:
    system = load_gyaru().system
    assert "${" not in system
    for needle in (
        "あーし系ギャル",
        "「あーし」",
        "Tech / Streaming / Daily / Gaming",
        "meaning",
        "voice",
        "naturalness",
        "safety",
        "topic_ok",
        "三連勝が三連敗",  # meaning drift, the first example
        "敬語",  # keigo is wrong for this persona
        '{"grades": [',
    ):
        assert needle in system, needle


def test_the_ojousama_judge_prompt_holds_her_opposite_rule() -> None:
    settings = load_settings(persona="ojousama")
    persona = settings.persona
    system = JudgePrompt.load(
        OJOUSAMA_PROMPT,
        persona_name=persona.name,
        first_person=persona.first_person,
        topics=persona.topics,
    ).system
    assert "${" not in system
    assert "「わたくし」" in system and "Tea / Streaming / Daily / Gaming" in system
    # Polite speech is her voice; gyaru slang is what is wrong.
    assert "丁寧な言葉づかいは" in system and "voice を下げない" in system
    assert "ギャル語" in system
    assert "あーし" not in system


@pytest.mark.parametrize("path", [REPO / DEFAULT_JUDGE_PROMPT, OJOUSAMA_PROMPT])
def test_the_prompt_examples_are_valid_replies(path: Path) -> None:
    # The worked examples in each prompt are what the model imitates: they must be
    # the reply shape this client reads.
    system = load_gyaru(path).system
    examples = [line[2:] for line in system.splitlines() if line.startswith("→ ")]
    assert len(examples) >= 3
    for line in examples:
        assert read_reply(json.dumps({"grades": [json.loads(line)]}), 1).complete


def test_a_missing_or_broken_judge_prompt_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_gyaru(tmp_path / "nope.txt")
    bad = tmp_path / "judge.txt"
    bad.write_text("${persona} を審査", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown placeholder \$\{persona\}"):
        load_gyaru(bad)
