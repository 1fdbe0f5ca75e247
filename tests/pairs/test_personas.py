"""A persona is data: the お嬢様 example is a prompt file and a config file, no code change.

What is checked: config/ojousama.yaml loads and its prompt renders; the prompt's
few-shot examples pass this persona's own rules; the JSON schema the client sends
requires わたくし and lists this persona's topics; and the real CLI, run against the
loopback fake server with nothing but `--config config/ojousama.yaml`, writes an
お嬢様 dataset and exports it with the お嬢様 system prompt. The default persona's
config is checked to be untouched by all this.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from client.config import (
    DEFAULT_TOPICS,
    ExportConfig,
    PersonaConfig,
    Settings,
    load_settings,
    read_yaml,
)
from client.pairs.extract import extract_items
from client.pairs.prompts import BatchPlan
from client.pairs.records import Pair
from client.pairs.validate import validate_items
from client.run.job import pair_rules, prompt_set, request_params, validation_context
from tests import pair_corpus
from tests.cli_helpers import Result, run_client
from tests.fakeserver import FakeServer

REPO = Path(__file__).resolve().parents[2]
# Relative, as a user would write them: the CLI tests run the client from the repo root.
OJOUSAMA_CONFIG = Path("config/ojousama.yaml")
DEFAULT_CONFIG = Path("config/generation_config.yaml")
OJOUSAMA_PROMPT = Path("prompts/ojousama_system_prompt.txt")

NAME = "お嬢様"
FIRST_PERSON = "わたくし"
TOPICS = ("Tea", "Streaming", "Daily", "Gaming")
PLACEHOLDER_RE = re.compile(r"\$\{?\w")


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    # Paths in the config files are relative to the working directory.
    monkeypatch.chdir(REPO)


def ojousama(**overrides: dict[str, Any]) -> Settings:
    return load_settings(OJOUSAMA_CONFIG, overrides or None)


def few_shot_items(system: str) -> list[Any]:
    """The example pairs inside a rendered system prompt, as the client would extract them."""
    start = system.index('{"pairs"')
    return extract_items(system[start : system.index("]}", start) + 2]).items


def validate(settings: Settings, items: list[Any]) -> tuple[list[Pair], list[Any]]:
    ctx = validation_context(settings, pair_rules(settings))
    return validate_items(items, ctx=ctx, run_id="persona", batch=1, generated_at="t")


# -- (a) the config loads and the prompt renders ---------------------------------------


def test_ojousama_config_loads_with_its_own_persona() -> None:
    settings = ojousama()
    persona = settings.persona
    assert (persona.name, persona.first_person, persona.topics) == (NAME, FIRST_PERSON, TOPICS)
    assert settings.prompt.system_prompt_path == OJOUSAMA_PROMPT
    assert settings.validation.require_ash is True
    for marker in ("ですわ", "ですの", "ますわ", "かしら", "おほほ", "ごきげんよう", "まあ"):
        assert marker in persona.style_markers, marker
    assert len(persona.scenes) >= 8
    assert FIRST_PERSON in settings.export.system_prompt
    assert "お嬢様" in settings.export.reverse_system_prompt


def test_nothing_of_the_default_persona_leaks_in_through_a_default() -> None:
    """Every persona and export setting is set by the file, none left at the gyaru default."""
    settings = ojousama()
    for section, defaults in (("persona", PersonaConfig()), ("export", ExportConfig())):
        ours = getattr(settings, section)
        for name in type(defaults).model_fields:
            assert getattr(ours, name) != getattr(defaults, name), f"{section}.{name}"
    assert "あーし" not in settings.export.system_prompt + settings.export.reverse_system_prompt
    assert "ギャル" not in settings.export.system_prompt + settings.export.reverse_system_prompt


def test_ojousama_config_sets_every_key_the_default_config_sets() -> None:
    """The two files have the same shape: a new persona is a copy with other values."""
    ours, default = read_yaml(OJOUSAMA_CONFIG), read_yaml(DEFAULT_CONFIG)
    assert ours.keys() == default.keys() | {"export"}
    for section, keys in default.items():
        assert ours[section].keys() == keys.keys(), section


def test_ojousama_prompt_renders_with_no_placeholder_left() -> None:
    prompts = prompt_set(ojousama(generation={"num_pairs_per_batch": 17}))
    system = prompts.system
    assert not PLACEHOLDER_RE.search(system), PLACEHOLDER_RE.search(system)
    for needle in ("シナリオライター", "AITuber", NAME, FIRST_PERSON, "JSON", "ちょうど17組"):
        assert needle in system, needle
    for word in ("ですわ", "かしら", "おほほ", "ごきげんよう", "まあ"):
        assert word in system, word
    assert f"topic は次のどれか一つ：{' / '.join(TOPICS)}" in system
    for topic in TOPICS:
        # Each topic the config lists has a description line in the prompt.
        assert re.search(rf"^- {topic}：\S", system, re.MULTILINE), topic
    # The pair count comes from the config, never from the template.
    raw = OJOUSAMA_PROMPT.read_text(encoding="utf-8")
    assert "${num_pairs}" in raw
    assert not re.search(r"\d+\s*組", raw.replace("${num_pairs}組", ""))
    # The gyaru persona's first person is named only to be forbidden.
    assert all("使わない" in line for line in raw.splitlines() if "あーし" in line)


def test_ojousama_user_messages_render_per_batch() -> None:
    settings = ojousama()
    plan = BatchPlan(
        prompts=prompt_set(settings),
        num_pairs=6,
        topics=settings.persona.topics,
        base_seed=7,
        limit=4,
        scenes=settings.persona.scenes,
    )
    specs = list(plan.specs())
    assert [s.topic_focus for s in specs] == list(TOPICS)
    for spec in specs:
        message = spec.user_message
        assert not PLACEHOLDER_RE.search(message), message
        assert f"バッチ番号は{spec.index}" in message
        assert "ちょうど30組" in message
        assert f"「{spec.topic_focus}」" in message
        assert f"{NAME}らしい" in message
        assert any(scene in message for scene in settings.persona.scenes), message


def test_default_persona_config_is_unchanged() -> None:
    """The gyaru persona still loads from its file with its own prompt, topics and rules."""
    settings = load_settings(DEFAULT_CONFIG)
    assert settings.persona == PersonaConfig()
    assert settings.export == ExportConfig()
    assert settings.persona.first_person == "あーし"
    assert settings.persona.topics == DEFAULT_TOPICS
    assert settings.prompt.system_prompt_path == Path("prompts/system_prompt.txt")
    assert settings.prompt.user_template is None
    system = prompt_set(settings).system
    assert "あーし" in system
    assert FIRST_PERSON not in system
    accepted, rejected = validate(settings, few_shot_items(system))
    assert not rejected, rejected
    assert len(accepted) == 8


# -- (b) the few-shot examples pass this persona's rules ----------------------------------


def test_ojousama_examples_are_eight_valid_pairs_over_all_topics() -> None:
    settings = ojousama()
    items = few_shot_items(prompt_set(settings).system)
    accepted, rejected = validate(settings, items)
    assert not rejected, rejected
    assert len(items) == len(accepted) == 8
    assert {p.topic for p in accepted} == set(TOPICS)
    markers = settings.persona.style_markers
    for pair in accepted:
        assert FIRST_PERSON in pair.gyaru, pair
        assert FIRST_PERSON not in pair.standard, pair
        # The examples teach the contrast: persona markers only on the persona side.
        assert not [m for m in markers if m in pair.standard], pair.standard
        assert sum(m in pair.gyaru for m in markers) >= 2, pair.gyaru
        assert (pair.quality or 0.0) >= 0.85, pair


def test_rules_come_from_the_config_not_the_code() -> None:
    """The gyaru examples fail the お嬢様 rules, and the お嬢様 examples fail the gyaru rules."""
    ours, default = ojousama(), load_settings(DEFAULT_CONFIG)
    _, rejected = validate(ours, few_shot_items(prompt_set(default).system))
    assert len(rejected) == 8
    # Tech is not an お嬢様 topic; the other gyaru lines lack わたくし.
    assert {r.reason for r in rejected} == {"topic", "missing_first_person"}
    _, rejected = validate(default, few_shot_items(prompt_set(ours).system))
    assert len(rejected) == 8
    assert {r.reason for r in rejected} == {"topic", "missing_first_person"}


# -- (c) the JSON schema sent to the server ------------------------------------------------


def item_schema(response_format: dict[str, Any]) -> dict[str, Any]:
    pairs: dict[str, Any] = response_format["json_schema"]["schema"]["properties"]["pairs"]
    return pairs


def test_schema_requires_watakushi_and_lists_the_persona_topics() -> None:
    settings = ojousama()
    rules = pair_rules(settings)
    response_format = rules.response_format(5)
    assert request_params(settings, rules)["response_format"] == rules.response_format(
        settings.generation.num_pairs_per_batch
    )
    pairs = item_schema(response_format)
    assert pairs["minItems"] == pairs["maxItems"] == 5
    props = pairs["items"]["properties"]
    assert props["topic"]["enum"] == list(TOPICS)
    pattern = props["gyaru"]["pattern"]
    assert FIRST_PERSON in pattern
    assert "あーし" not in pattern
    assert re.search(pattern, "ごきげんよう。わたくし、本日もお紅茶をいただきますわ。")
    assert not re.search(pattern, "ごきげんよう。私、本日もお紅茶をいただきますわ。")
    assert not re.search(pattern, "あーし、今日も紅茶飲むし！")
    json.dumps(response_format, ensure_ascii=False)  # what goes over the wire


# -- (d) the real CLI against the loopback fake server ---------------------------------------


@dataclass
class PersonaServer(FakeServer):
    """The fake server, replying in a persona's voice to what the request's schema asks for:
    that many pairs, over the topics the schema's enum lists, each persona line holding
    `first_person` (like guided decoding would, unless `first_person` is another persona's)."""

    first_person: str = FIRST_PERSON
    _tags: Iterator[int] = field(default_factory=itertools.count)

    def _content(self, name: str, body: dict[str, Any]) -> tuple[str, str]:
        if name != "ok":
            return super()._content(name, body)
        n = self._requested_pairs(body)
        topics = item_schema(body["response_format"])["items"]["properties"]["topic"]["enum"]
        tag = f"{self.port}x{next(self._tags)}"
        pairs = []
        for i in range(n):
            standard, line = pair_corpus.lady_pair(tag, i, self.first_person)
            pairs.append({"topic": topics[i % len(topics)], "standard": standard, "gyaru": line})
        return json.dumps({"pairs": pairs}, ensure_ascii=False), "stop"


def generate(server: FakeServer, out: Path, run_id: str, *extra: str) -> Result:
    return run_client(
        [
            "generate", "--config", str(OJOUSAMA_CONFIG), "--base-url", server.base_url,
            "--output-dir", str(out), "--run-id", run_id, "--log-format", "json", "--no-progress",
            *extra,
        ],
        cwd=REPO,
    )  # fmt: skip


def dataset(out: Path, run_id: str) -> dict[str, Any]:
    path = out / "processed" / f"gyaru_dataset_{run_id}.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@pytest.mark.loopback
def test_cli_generates_an_ojousama_dataset_from_config_alone(tmp_path: Path) -> None:
    settings = ojousama()
    with PersonaServer() as server:
        result = generate(server, tmp_path, "o1", "--batches", "3", "--pairs-per-batch", "4")
    assert result.code == 0, result.stderr
    assert result.event("run finished")["status"] == "complete"

    data = dataset(tmp_path, "o1")
    pairs = data["pairs"]
    assert len(pairs) == 12
    assert len({p["id"] for p in pairs}) == 12
    assert all(FIRST_PERSON in p["gyaru"] for p in pairs)
    assert {p["topic"] for p in pairs} <= set(TOPICS)
    metadata = data["metadata"]
    assert (metadata["persona"], metadata["topics"]) == (NAME, list(TOPICS))
    assert metadata["summary"]["rejections"] == {}
    assert metadata["config"]["persona"]["first_person"] == FIRST_PERSON

    bodies = [r.body for r in server.chat_requests]
    assert len(bodies) == 3
    expected_system = prompt_set(ojousama(generation={"num_pairs_per_batch": 4})).system
    focuses: list[str] = []
    for body in bodies:
        pairs_schema = item_schema(body["response_format"])
        assert pairs_schema["minItems"] == 4
        props = pairs_schema["items"]["properties"]
        assert FIRST_PERSON in props["gyaru"]["pattern"]
        assert props["topic"]["enum"] == list(settings.persona.topics)
        system, user = body["messages"][0], body["messages"][1]
        assert system == {"role": "system", "content": expected_system}
        assert f"{NAME}らしい上品な言い回し" in user["content"]  # the config's user_template
        focuses += [t for t in TOPICS if f"トピック「{t}」を中心に" in user["content"]]
    # Batches 1-3 lean on the persona's first three topics in turn.
    assert sorted(focuses) == sorted(TOPICS[:3])

    # Export and stats read the same config: the お嬢様 system turn, わたくし counted.
    train = tmp_path / "train.jsonl"
    exported = run_client(
        [
            "export", "o1", "--output-dir", str(tmp_path), "--config", str(OJOUSAMA_CONFIG),
            "--format", "openai-chat", "--out", str(train), "--log-format", "json",
        ],
        cwd=REPO,
    )  # fmt: skip
    assert exported.code == 0, exported.stderr
    examples = [json.loads(line) for line in train.read_text(encoding="utf-8").splitlines()]
    assert len(examples) == 12
    assert {e["messages"][0]["content"] for e in examples} == {settings.export.system_prompt}
    assert all(FIRST_PERSON in e["messages"][2]["content"] for e in examples)
    stats = run_client(
        ["stats", "o1", "--output-dir", str(tmp_path), "--config", str(OJOUSAMA_CONFIG), "--json"],
        cwd=REPO,
    )
    assert stats.code == 0, stats.stderr
    # with_first_person counts the config's first person: わたくし, not the default あーし.
    assert json.loads(stats.stdout)["with_first_person"] == 12


@pytest.mark.loopback
def test_cli_rejects_gyaru_lines_under_the_ojousama_config(tmp_path: Path) -> None:
    """The same fake replies with あーし instead of わたくし: every pair is missing_first_person."""
    with PersonaServer(first_person="あーし") as server:
        result = generate(server, tmp_path, "o2", "--batches", "1", "--pairs-per-batch", "4")
    data = dataset(tmp_path, "o2")
    assert data["pairs"] == []
    assert set(data["metadata"]["summary"]["rejections"]) == {"missing_first_person"}
    records = [
        json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((tmp_path / "raw" / "o2").glob("batch_*.json"))
    ]
    assert records
    rejected = [r for record in records for r in record["rejected"]]
    assert len(rejected) >= 4
    assert {r["reason"] for r in rejected} == {"missing_first_person"}
    assert all("あーし" in r["item"]["gyaru"] for r in rejected)
    # Whether a run with no valid pair fails is the runner's policy, not the persona's.
    assert result.code in (0, 1), result.stderr
