"""Each persona's rewrite prompt: it renders, and its own example passes alignment and checks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from client.config import load_settings
from client.errors import ConfigError
from client.pairs.align import align
from client.pairs.inputs import InputItem
from client.pairs.rewrite import RewritePrompts
from client.pairs.validate import validate_item
from client.run import job as pipeline

REPO = Path(__file__).resolve().parents[2]
PERSONAS = ["gyaru", "ojousama"]


def load(name: str) -> tuple[RewritePrompts, object]:
    settings = load_settings(persona=name)
    persona = settings.persona
    assert settings.prompt.rewrite_prompt_path.name == "rewrite_prompt.txt"
    prompts = RewritePrompts.load(
        settings.prompt.rewrite_prompt_path,
        topics=persona.topics,
        first_person=persona.first_person,
        persona_name=persona.name,
    )
    return prompts, settings


@pytest.mark.parametrize("name", PERSONAS)
def test_the_prompts_own_example_is_aligned_and_valid(name: str) -> None:
    prompts, settings = load(name)
    assert "${" not in prompts.system
    text = prompts.system
    inputs_block = text.split("例（入力）：\n", 1)[1].split("\n\n", 1)[0]
    inputs = [
        InputItem(d["id"], d["id"], d["standard"], "")
        for d in map(json.loads, inputs_block.splitlines())
    ]
    reply = json.loads(re.search(r"例（出力）：\n(\{.*\]\})", text, re.S).group(1))  # type: ignore[union-attr]
    result = align(inputs, reply["pairs"])
    assert len(result.tied) == len(inputs) and not result.untied and not result.missing
    rules = pipeline.pair_rules(settings)  # type: ignore[arg-type]
    ctx = pipeline.validation_context(settings, rules)  # type: ignore[arg-type]
    for tied in result.tied:
        outcome = validate_item(
            0, tied.item, ctx=ctx, pair_id="x", batch=1, generated_at="2026-01-01T00:00:00Z"
        )
        assert not hasattr(outcome, "reason"), outcome


def test_the_user_message_lists_the_inputs() -> None:
    prompts, _ = load(PERSONAS[0])
    items = [InputItem(3, 9, "今日は晴れです。", ""), InputItem(4, 10, 'a "$x" です', "")]
    message = prompts.user_message(items)
    assert message.startswith("次の2個の文を、それぞれあーし系ギャルの話し方に書き換えてください。")
    assert message.splitlines()[1:] == [
        '{"id": 3, "standard": "今日は晴れです。"}',
        '{"id": 4, "standard": "a \\"$x\\" です"}',
    ]


def test_a_broken_user_template_fails_when_loaded() -> None:
    with pytest.raises(ConfigError, match=r"unknown placeholder \$\{inptus\}"):
        RewritePrompts.load(
            REPO / "personas" / PERSONAS[0] / "rewrite_prompt.txt",
            topics=("Tech",),
            first_person="あーし",
            persona_name="p",
            user_template="${inptus}",
        )
