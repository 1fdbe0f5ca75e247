"""prompts: the shipped prompt's contents, placeholders, and the per-batch plan."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from client.errors import ConfigError
from client.pairs.extract import extract_items
from client.pairs.prompts import BatchPlan, PromptSet, read_prompt_file
from client.pairs.schema import PairRules
from client.pairs.validate import ValidationContext, validate_items
from tests.helpers import PROMPT

TOPICS = ("Tech", "Streaming", "Daily", "Gaming")


def load(path: Path = PROMPT, n: int = 30) -> PromptSet:
    return PromptSet.load(
        path, num_pairs=n, topics=TOPICS, first_person="あーし", persona_name="あーし系ギャル"
    )


def test_shipped_prompt_has_what_the_issue_lists() -> None:
    raw = read_prompt_file(PROMPT)
    for needle in (
        "シナリオライター",
        "AITuber",
        "あーし",
        "Tech",
        "Streaming",
        "Daily",
        "Gaming",
        "JSON",
        "${num_pairs}",
    ):
        assert needle in raw or needle in load().system, needle
    # No pair count is written into the template; it comes from the config.
    assert not re.search(r"\d+\s*組", raw.replace("${num_pairs}組", ""))
    assert "ちょうど17組" in load(n=17).system


def test_shipped_examples_are_eight_valid_pairs_over_all_topics() -> None:
    system = load().system
    start = system.index('{"pairs"')
    extracted = extract_items(system[start : system.index("]}", start) + 2])
    rules = PairRules(TOPICS, "あーし", 2, 120, 2, 160)
    accepted, rejected = validate_items(
        extracted.items,
        ctx=ValidationContext(rules, (), 0.0),
        run_id="p",
        batch=1,
        generated_at="t",
    )
    assert len(accepted) == 8 and not rejected, rejected
    assert {p.topic for p in accepted} == set(TOPICS)


def test_unknown_placeholder_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_text("${num_pairs} and ${nmu_pairs}", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown placeholder \$\{nmu_pairs\}"):
        load(path)


def test_missing_and_empty_prompt_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="system prompt file not found"):
        load(tmp_path / "nope.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n", encoding="utf-8")
    with pytest.raises(ConfigError, match="empty"):
        load(empty)


def test_plan_rotates_topics_and_gives_each_batch_its_own_seed() -> None:
    plan = BatchPlan(prompts=load(n=5), num_pairs=5, topics=TOPICS, base_seed=100, limit=8)
    specs = list(plan.specs())
    assert [s.index for s in specs] == list(range(1, 9))
    assert [s.topic_focus for s in specs] == [*TOPICS, *TOPICS]
    assert len({s.seed for s in specs}) == 8
    assert len({s.user_message for s in specs}) == 8
    assert all("ちょうど5組" in s.user_message for s in specs)
    # Resume: finished batches are skipped, the rest keep their seeds.
    again = list(plan.specs(done={1, 2, 5}))
    assert [s.index for s in again] == [3, 4, 6, 7, 8]
    assert again[0] == specs[2]
