"""config: precedence, the contract keys, the base config, and one-line errors for bad
input. Persona folders and the layering with them: tests/config/test_personas.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from client.config import DEFAULT_PERSONA, Settings, api_key_from_env, load_settings, read_yaml
from client.config.checks import ChecksConfig
from client.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_the_contract() -> None:
    s = load_settings()
    assert s.server.base_url == "http://localhost:8000/v1"
    assert s.server.model == "auto"
    assert (
        s.generation.num_pairs_per_batch,
        s.generation.total_batches,
        s.generation.concurrency,
    ) == (30, 4, 4)
    assert (s.generation.temperature, s.generation.top_p, s.generation.max_new_tokens) == (
        0.8,
        0.9,
        2000,
    )
    assert s.generation.seed is None
    assert s.output.output_dir == Path("outputs")
    assert s.validation.require_first_person is True
    assert s.prompt.system_prompt_path == Path("personas/gyaru/system_prompt.txt")
    assert s.judge.prompt_path == Path("personas/gyaru/judge_prompt.txt")
    assert s.persona.first_person == "あーし"
    assert s.personas_dirs == ()
    assert s.retry.max_attempts >= 1


def test_shipped_base_config_documents_the_defaults() -> None:
    """Every section the base config sets equals its defaults: the file is the defaults,
    written out with comments, and picks the default persona."""
    base = read_yaml(REPO / "config" / "generation_config.yaml")
    assert base.pop("persona") == DEFAULT_PERSONA
    assert base.pop("personas_dirs") == []
    for section, values in base.items():
        default = Settings.model_fields[section].default
        assert type(default).model_validate(values) == default, section


def test_the_base_config_holds_no_persona_data() -> None:
    """Who the persona is lives in its folder only, so no persona inherits another's."""
    base = read_yaml(REPO / "config" / "generation_config.yaml")
    assert "export" not in base
    assert not isinstance(base["persona"], dict)
    assert "voice" not in base["checks"]
    assert "equivalents" not in base["checks"]["meaning"]
    assert "rewrite_markers" not in base["checks"]["near_copy"]
    # Nor do the defaults: a persona that lists no equivalents or markers has none.
    assert ChecksConfig().meaning.equivalents == {}
    assert ChecksConfig().near_copy.rewrite_markers == ()
    assert not any(ChecksConfig().voice.model_dump().values())
    assert {"system_prompt_path", "rewrite_prompt_path"}.isdisjoint(base["prompt"])
    assert "prompt_path" not in base["judge"]


def test_settings_need_a_persona() -> None:
    with pytest.raises(ValidationError, match="persona") as info:
        Settings()
    assert "export" in str(info.value)


def test_precedence_flags_over_env_over_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "generation:\n  concurrency: 3\n  temperature: 0.5\n  top_p: 0.7\n")
    assert load_settings(path).generation.concurrency == 3
    monkeypatch.setenv("GYARU_GENERATION__CONCURRENCY", "7")
    monkeypatch.setenv("GYARU_GENERATION__TOP_P", "0.6")
    s = load_settings(path, {"generation": {"concurrency": 9}})
    assert s.generation.concurrency == 9  # flag
    assert s.generation.top_p == 0.6  # env over yaml
    assert s.generation.temperature == 0.5  # yaml over default
    assert s.generation.max_new_tokens == 2000  # default


def test_settings_are_frozen() -> None:
    s = load_settings()
    with pytest.raises(ValidationError, match="frozen"):
        s.generation = s.generation  # type: ignore[misc]


def test_several_base_urls(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, "server:\n  base_urls: [http://a:1/v1, http://b:2/v1/]\n"))
    assert s.server.endpoints == ("http://a:1/v1", "http://b:2/v1")
    assert load_settings().server.endpoints == ("http://localhost:8000/v1",)


@pytest.mark.parametrize(
    ("text", "overrides", "expected"),
    [
        ("generation:\n  concurrency: [3\n", {}, "c.yaml:3:1: invalid YAML"),
        ("generation:\n  concurency: 3\n", {}, "unknown key 'generation.concurency'"),
        ("genration:\n  concurrency: 3\n", {}, "unknown key 'genration'"),
        (
            "generation:\n  concurrency: three\n",
            {},
            "generation.concurrency = 'three': Input should be a valid integer",
        ),
        (
            "generation:\n  concurrency: 0\n",
            {},
            "generation.concurrency = 0: Input should be greater than or equal to 1",
        ),
        ("generation:\n  temperature: 2.5\n", {}, "generation.temperature = 2.5"),
        ("generation:\n  top_p: 0\n", {}, "generation.top_p = 0"),
        ("generation:\n  top_p: 1.5\n", {}, "generation.top_p = 1.5"),
        ("generation:\n  num_pairs_per_batch: 0\n", {}, "generation.num_pairs_per_batch = 0"),
        ("server:\n  base_url: localhost:8000\n", {}, "must start with http:// or https://"),
        ("- a\n- b\n", {}, "the top level must be a mapping"),
        ("server:\n  api_key: secret\n", {}, "unknown key 'server.api_key'"),
        (
            "",
            {"generation": {"concurrency": 0}},
            "--concurrency 0: Input should be greater than or equal to 1",
        ),
    ],
)
def test_bad_config_is_one_clear_line(
    tmp_path: Path, text: str, overrides: dict[str, object], expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(
            write(tmp_path, text), overrides, flag_names={"generation.concurrency": "--concurrency"}
        )
    message = str(info.value)
    assert expected in message
    assert "\n" not in message


def test_bad_environment_value_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GYARU_GENERATION__CONCURRENCY", "lots")
    with pytest.raises(ConfigError, match="GYARU_GENERATION__CONCURRENCY='lots'"):
        load_settings(write(tmp_path, ""))


def test_missing_config_file_named_by_user(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config file not found: .*nope\.yaml"):
        load_settings(tmp_path / "nope.yaml")


def test_api_key_only_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert api_key_from_env() is None
    monkeypatch.setenv("VLLM_API_KEY", "sk-secret-123")
    key = api_key_from_env()
    assert key is not None and key.get_secret_value() == "sk-secret-123"
    assert "sk-secret" not in repr(key)
    assert "sk-secret" not in str(load_settings().snapshot())
