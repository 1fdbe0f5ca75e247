"""A persona is one folder: the お嬢様 (personas/ojousama/) is a persona.yaml and her
prompts, no code change.

What is checked: her folder loads and her prompt renders; the prompt's few-shot
examples pass her own rules; the JSON schema the client sends requires わたくし and
lists her topics; and the real CLI, run against the loopback fake server with nothing
but `--persona ojousama`, writes an お嬢様 dataset and exports it with her system
prompt, and turns down a server that writes gyaru pairs: for their first person, and
for their voice when the schema made them use hers. The default persona is checked to
be untouched by all this. A third persona made from a folder alone:
tests/cli/test_personas.py.
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

from client.config import Settings, load_settings, read_yaml
from client.pairs.extract import extract_items
from client.pairs.prompts import BatchPlan
from client.pairs.records import Pair
from client.pairs.validate import validate_items
from client.run.job import pair_rules, prompt_set, request_params, validation_context
from tests import pair_corpus
from tests.cli_helpers import Result, run_client
from tests.fakeserver import FakeServer

REPO = Path(__file__).resolve().parents[2]
# Relative, as the loader finds them: the CLI tests run the client from the repo root.
OJOUSAMA = "ojousama"
OJOUSAMA_PROMPT = Path("personas/ojousama/system_prompt.txt")
GYARU_TOPICS = ("Tech", "Streaming", "Daily", "Gaming")

NAME = "お嬢様"
FIRST_PERSON = "わたくし"
TOPICS = ("Tea", "Streaming", "Daily", "Gaming")
PLACEHOLDER_RE = re.compile(r"\$\{?\w")


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    # The paths the loader finds are relative to the working directory.
    monkeypatch.chdir(REPO)


def ojousama(**overrides: dict[str, Any]) -> Settings:
    return load_settings(None, overrides or None, persona=OJOUSAMA)


def few_shot_items(system: str) -> list[Any]:
    """The example pairs inside a rendered system prompt, as the client would extract them."""
    start = system.index('{"pairs"')
    return extract_items(system[start : system.index("]}", start) + 2]).items


def validate(settings: Settings, items: list[Any]) -> tuple[list[Pair], list[Any]]:
    ctx = validation_context(settings, pair_rules(settings))
    return validate_items(items, ctx=ctx, run_id="persona", batch=1, generated_at="t")


# -- (a) the folder loads and the prompt renders ---------------------------------------


def test_ojousama_folder_loads_with_its_own_persona() -> None:
    settings = ojousama()
    persona = settings.persona
    assert (persona.name, persona.first_person, persona.topics) == (NAME, FIRST_PERSON, TOPICS)
    assert settings.prompt.system_prompt_path == OJOUSAMA_PROMPT
    assert settings.validation.require_first_person is True
    for marker in ("ですわ", "ですの", "ますわ", "かしら", "おほほ", "ごきげんよう", "まあ"):
        assert marker in persona.style_markers, marker
    assert len(persona.scenes) >= 8
    assert FIRST_PERSON in settings.export.system_prompt
    assert "お嬢様" in settings.export.reverse_system_prompt


def test_nothing_of_the_default_persona_leaks_in() -> None:
    """Every persona, export and register setting is hers, none the gyaru's."""
    settings, gyaru = ojousama(), load_settings()
    for section in ("persona", "export"):
        ours, theirs = getattr(settings, section), getattr(gyaru, section)
        for name in type(ours).model_fields:
            assert getattr(ours, name) != getattr(theirs, name), f"{section}.{name}"
    voice, gyaru_voice = settings.checks.voice, gyaru.checks.voice
    for name in type(voice).model_fields:
        assert getattr(voice, name) != getattr(gyaru_voice, name), f"checks.voice.{name}"
    equivalents = settings.checks.meaning.equivalents
    assert "スマートフォン" not in equivalents  # the gyaru's スマホ is not inherited
    assert set(equivalents) == set(
        read_yaml(REPO / "personas" / OJOUSAMA / "persona.yaml")["checks"]["meaning"]["equivalents"]
    )
    assert "あーし" not in settings.export.system_prompt + settings.export.reverse_system_prompt
    assert "ギャル" not in settings.export.system_prompt + settings.export.reverse_system_prompt


def test_the_two_personas_set_the_same_persona_keys() -> None:
    """The two folders have the same shape: a new persona is a copy with other values."""
    ours = read_yaml(REPO / "personas" / OJOUSAMA / "persona.yaml")
    gyaru = read_yaml(REPO / "personas" / "gyaru" / "persona.yaml")
    for section in ("persona", "export"):
        assert ours[section].keys() == gyaru[section].keys(), section
    assert sorted(p.name for p in (REPO / "personas" / OJOUSAMA).iterdir()) == sorted(
        p.name for p in (REPO / "personas" / "gyaru").iterdir()
    )


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


def test_default_persona_is_unchanged() -> None:
    """The gyaru persona still loads from her folder with her own prompt, topics and rules."""
    settings = load_settings()
    assert settings.persona.name == "あーし系ギャル"
    assert settings.persona.first_person == "あーし"
    assert settings.persona.topics == GYARU_TOPICS
    assert settings.prompt.system_prompt_path == Path("personas/gyaru/system_prompt.txt")
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
    ours, default = ojousama(), load_settings()
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
            "generate", "--persona", OJOUSAMA, "--base-url", server.base_url,
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
def test_cli_generates_an_ojousama_dataset_from_her_folder_alone(tmp_path: Path) -> None:
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

    # Export and stats read the same persona: the お嬢様 system turn, わたくし counted.
    train = tmp_path / "train.jsonl"
    exported = run_client(
        [
            "export", "o1", "--output-dir", str(tmp_path), "--persona", OJOUSAMA,
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
        ["stats", "o1", "--output-dir", str(tmp_path), "--persona", OJOUSAMA, "--json"],
        cwd=REPO,
    )
    assert stats.code == 0, stats.stderr
    # with_first_person counts the config's first person: わたくし, not the default あーし.
    assert json.loads(stats.stdout)["with_first_person"] == 12


@pytest.mark.loopback
def test_cli_rejects_gyaru_lines_under_the_ojousama_persona(tmp_path: Path) -> None:
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


@dataclass
class GyaruServer(FakeServer):
    """A server that writes gyaru pairs whatever persona it is asked for, but follows
    the request's schema as guided decoding would: its persona lines carry the first
    person the schema's pattern asks for (あーし -> わたくし), in the gyaru's voice."""

    schema_first_person: str = FIRST_PERSON
    _tags: Iterator[int] = field(default_factory=itertools.count)

    def _content(self, name: str, body: dict[str, Any]) -> tuple[str, str]:
        if name != "ok":
            return super()._content(name, body)
        props = item_schema(body["response_format"])["items"]["properties"]
        assert self.schema_first_person in props["gyaru"]["pattern"]
        tag = f"{self.port}g{next(self._tags)}"
        pairs = []
        for i in range(self._requested_pairs(body)):
            standard, line = pair_corpus.pair(tag, i)
            line = line.replace("あーし", self.schema_first_person)
            pairs.append({"topic": props["topic"]["enum"][0], "standard": standard, "gyaru": line})
        return json.dumps({"pairs": pairs}, ensure_ascii=False), "stop"


@pytest.mark.loopback
def test_cli_rejects_gyaru_voice_under_the_ojousama_persona(tmp_path: Path) -> None:
    """わたくし forced in by the schema, but the gyaru's voice: every pair is `register`,
    and the same server's pairs pass under the gyaru persona they were written for."""
    with GyaruServer() as server:
        result = generate(server, tmp_path, "o3", "--batches", "2", "--pairs-per-batch", "4")
    assert result.code in (0, 1), result.stderr
    data = dataset(tmp_path, "o3")
    assert data["pairs"] == []
    assert data["metadata"]["summary"]["rejections"] == {"register": 8}
    records = [
        json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((tmp_path / "raw" / "o3").glob("batch_*.json"))
    ]
    rejected = [r for record in records for r in record["rejected"]]
    assert {r["reason"] for r in rejected} == {"register"}
    assert all(FIRST_PERSON in r["item"]["gyaru"] for r in rejected)
    assert all("persona's register" in r["detail"] for r in rejected), rejected[0]

    with GyaruServer(schema_first_person="あーし") as server:
        gyaru = run_client(
            [
                "generate", "--persona", "gyaru", "--base-url", server.base_url,
                "--output-dir", str(tmp_path), "--run-id", "g1", "--log-format", "json",
                "--no-progress", "--batches", "2", "--pairs-per-batch", "4",
            ],
            cwd=REPO,
        )  # fmt: skip
    assert gyaru.code == 0, gyaru.stderr
    assert len(dataset(tmp_path, "g1")["pairs"]) == 8
