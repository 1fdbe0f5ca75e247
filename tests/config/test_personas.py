"""Persona folders and the layers settings are built from.

Every test here runs in a temporary project folder (its own config/generation_config.yaml
and personas/), so what is layered where is under the test's control: defaults <
base config < persona < --config file < environment < flags. The shipped personas
(gyaru, ojousama) are checked whole, and to hold only what differs from the base.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from structlog.testing import capture_logs

from client.config import DEFAULT_PERSONA, Settings, load_settings, persona_choice, read_yaml
from client.config import layers as config_layers
from client.config import personas as config_personas
from client.config.personas import CHECKOUT_PERSONAS, PROMPTS, search_dirs
from client.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
SHIPPED = ("gyaru", "ojousama")
PROMPT_TEXT = "あなたは${persona_name}（一人称は${first_person}）です。${num_pairs}組、${topics}。"


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def make_persona(folder: Path, first_person: str = "ぼく", **sections: Any) -> Path:
    """A persona folder as a user would make one: persona.yaml and the three prompts."""
    data = {
        "persona": {
            "name": f"{first_person}の人",
            "first_person": first_person,
            "topics": ["Daily"],
        },
        "export": {"system_prompt": "言い換えて。", "reverse_system_prompt": "戻して。"},
    }
    write_yaml(folder / "persona.yaml", config_layers.merge(data, sections))
    for _, _, file_name in PROMPTS.values():
        (folder / file_name).write_text(PROMPT_TEXT, encoding="utf-8")
    return folder


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with a base config (picking `base`) and three personas."""
    monkeypatch.chdir(tmp_path)
    write_yaml(
        tmp_path / "config" / "generation_config.yaml",
        {"persona": "base", "generation": {"temperature": 0.1, "top_p": 0.5}},
    )
    make_persona(tmp_path / "personas" / "base", "わし", generation={"temperature": 0.2})
    make_persona(tmp_path / "personas" / "other", "おいら")
    return tmp_path


@pytest.fixture(autouse=True)
def _warn_again() -> Iterator[None]:
    # Deprecations are warned once per process; each test starts afresh.
    config_layers._warned.clear()
    yield
    config_layers._warned.clear()


# -- the shipped personas --------------------------------------------------------------


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_persona_is_whole(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    folder = Path("personas") / name
    for file_name in ("persona.yaml", *(f for _, _, f in PROMPTS.values())):
        assert (folder / file_name).is_file(), file_name
    settings = load_settings(persona=name)
    assert settings.prompt.system_prompt_path == folder / "system_prompt.txt"
    assert settings.prompt.rewrite_prompt_path == folder / "rewrite_prompt.txt"
    assert settings.judge.prompt_path == folder / "judge_prompt.txt"
    assert settings.persona.first_person in settings.export.system_prompt


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_persona_sets_only_what_differs(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each key a persona.yaml sets changes the settings: nothing is a copy of the base."""
    monkeypatch.chdir(REPO)
    ours = load_settings(persona=name).snapshot()
    # The same base under a persona that sets nothing but who it is.
    bare = make_persona(tmp_path / "bare", "ぼく")
    reference = load_settings(persona=str(bare)).snapshot()

    def leaves(data: dict[str, Any], path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
        for key, value in data.items():
            if isinstance(value, dict) and key != "equivalents":
                yield from leaves(value, (*path, key))
            else:
                yield (*path, key)

    def at(snapshot: dict[str, Any], path: tuple[str, ...]) -> Any:
        for key in path:
            snapshot = snapshot[key]
        return snapshot

    for path in leaves(read_yaml(REPO / "personas" / name / "persona.yaml")):
        assert at(ours, path) != at(reference, path), ".".join(path)


def test_the_default_persona_is_data() -> None:
    assert read_yaml(REPO / "config" / "generation_config.yaml")["persona"] == DEFAULT_PERSONA
    assert (CHECKOUT_PERSONAS / DEFAULT_PERSONA / "persona.yaml").is_file()


# -- layering and picking ----------------------------------------------------------------


def test_layers_in_order(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """defaults < base < persona < --config < environment < flags, key by key."""
    user = write_yaml(project / "mine.yaml", {"generation": {"max_new_tokens": 1234, "seed": 5}})
    monkeypatch.setenv("GYARU_GENERATION__SEED", "6")
    s = load_settings(user, {"generation": {"num_pairs_per_batch": 9}})
    assert s.generation.total_batches == 4  # default
    assert s.generation.top_p == 0.5  # base config
    assert s.generation.temperature == 0.2  # persona over base
    assert s.generation.max_new_tokens == 1234  # --config over persona
    assert s.generation.seed == 6  # environment over --config
    assert s.generation.num_pairs_per_batch == 9  # flag over everything
    assert s.persona.first_person == "わし"


def test_config_file_overlays_the_persona_section(project: Path) -> None:
    user = write_yaml(project / "mine.yaml", {"persona": {"topics": ["Tech", "Daily"]}})
    s = load_settings(user)
    assert (s.persona.first_person, s.persona.topics) == ("わし", ("Tech", "Daily"))


@pytest.mark.parametrize(
    ("flag", "env", "in_config", "expected"),
    [
        ("other", "base", "base", "おいら"),  # --persona first
        (None, "other", "base", "おいら"),  # then GYARU_PERSONA
        (None, None, "other", "おいら"),  # then persona: in the --config file
        (None, None, None, "わし"),  # then persona: in the base config
    ],
)
def test_which_persona_is_picked(
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    flag: str | None,
    env: str | None,
    in_config: str | None,
    expected: str,
) -> None:
    if env is not None:
        monkeypatch.setenv("GYARU_PERSONA", env)
    user = write_yaml(project / "mine.yaml", {"persona": in_config} if in_config else {})
    assert load_settings(user, persona=flag).persona.first_person == expected


def test_without_a_base_config_the_default_persona_is_picked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run from a folder without config/ or personas/: the checkout's personas serve."""
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert s.persona.first_person == "あーし"
    assert s.prompt.system_prompt_path == CHECKOUT_PERSONAS / "gyaru" / "system_prompt.txt"


def test_a_persona_is_a_folder_anywhere(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = make_persona(tmp_path_factory.mktemp("home") / "mine", "オレ")
    s = load_settings(persona=str(elsewhere))
    assert s.persona.first_person == "オレ"
    # Its prompts are its own files, whatever the working directory.
    assert s.prompt.system_prompt_path == elsewhere / "system_prompt.txt"
    assert s.judge.prompt_path == elsewhere / "judge_prompt.txt"


def test_personas_dirs_come_first(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = project / "more"
    make_persona(extra / "other", "あたい")  # shadows personas/other
    make_persona(extra / "third", "小生")
    user = write_yaml(project / "mine.yaml", {"personas_dirs": [str(extra)]})
    assert load_settings(user, persona="other").persona.first_person == "あたい"
    assert load_settings(user, persona="third").persona.first_person == "小生"
    assert load_settings(persona="other").persona.first_person == "おいら"
    monkeypatch.setenv("GYARU_PERSONAS_DIRS", json.dumps([str(extra)]))
    assert load_settings(persona="third").persona.first_person == "小生"
    default, found = persona_choice()
    assert default == "base"
    assert found["other"] == extra / "other"
    assert search_dirs([extra])[:2] == (extra, Path("personas"))


def test_prompt_paths_in_a_persona_are_relative_to_its_folder(project: Path) -> None:
    folder = make_persona(project / "personas" / "own", prompt={"system_prompt_path": "p/sys.txt"})
    (folder / "p").mkdir()
    (folder / "p" / "sys.txt").write_text(PROMPT_TEXT, encoding="utf-8")
    s = load_settings(persona="own")
    # As found: relative to the working directory, like every other relative path.
    assert s.prompt.system_prompt_path == Path("personas/own/p/sys.txt")


# -- bad input: one line naming the problem ----------------------------------------------


def _error(project: Path, **kwargs: Any) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(**kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_unknown_name_lists_the_personas(project: Path) -> None:
    message = _error(project, persona="nobody")
    assert message.startswith("--persona: unknown persona 'nobody'; available: ")
    for name in ("base", "other", "gyaru", "ojousama"):
        assert name in message


def test_no_personas_folder_at_all_says_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An installed client run outside a project: no personas/ here, none shipped with it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(config_personas, "CHECKOUT_PERSONAS", tmp_path / "site" / "personas")
    message = _error(tmp_path)
    assert message == (
        "the default persona: unknown persona 'gyaru'; no personas folder found (looked for "
        f"personas, {tmp_path / 'site' / 'personas'}); a folder path works too, "
        "e.g. --persona ./my-persona"
    )


def test_unknown_name_from_the_environment_or_a_file_says_where(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = write_yaml(project / "mine.yaml", {"persona": "nobody"})
    assert _error(project, config_path=user).startswith(f"{user}: persona: unknown persona")
    monkeypatch.setenv("GYARU_PERSONA", "nobody")
    assert _error(project).startswith("GYARU_PERSONA: unknown persona 'nobody'")


@pytest.mark.parametrize(
    ("break_it", "expected"),
    [
        (
            lambda f: (f / "judge_prompt.txt").unlink(),
            "lacks judge_prompt.txt (a persona folder holds",
        ),
        (lambda f: (f / "persona.yaml").unlink(), "has no persona.yaml"),
        (
            lambda f: write_yaml(f / "persona.yaml", {"persona": {"frist_person": "x"}}),
            "persona.yaml: unknown key 'persona.frist_person'",
        ),
        (
            lambda f: write_yaml(f / "persona.yaml", {"persona": {"name": "n", "topics": ["a"]}}),
            "persona.yaml: persona.first_person is missing (a persona sets it)",
        ),
        (
            lambda f: write_yaml(f / "persona.yaml", {"personas_dirs": ["x"]}),
            "personas_dirs belongs in a config file, not in a persona",
        ),
        (
            lambda f: write_yaml(f / "persona.yaml", {"persona": "base"}),
            "persona must be a mapping",
        ),
    ],
)
def test_a_broken_persona_folder_is_one_line(project: Path, break_it: Any, expected: str) -> None:
    folder = make_persona(project / "broken")
    break_it(folder)
    message = _error(project, persona=str(folder))
    assert expected in message
    assert str(folder) in message


def test_a_missing_folder_is_named(project: Path) -> None:
    assert _error(project, persona="./nowhere") == "--persona: no persona folder at nowhere"


def test_bad_personas_dirs(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = write_yaml(project / "mine.yaml", {"personas_dirs": "more"})
    assert "personas_dirs must be a list of folders" in _error(project, config_path=user)
    monkeypatch.setenv("GYARU_PERSONAS_DIRS", "more")
    assert _error(project).startswith("GYARU_PERSONAS_DIRS='more': a JSON list of folders")


# -- require_ash, now require_first_person -------------------------------------------------


def test_require_ash_still_works_with_one_warning(project: Path) -> None:
    user = write_yaml(project / "old.yaml", {"validation": {"require_ash": False}})
    with capture_logs() as logs:
        assert load_settings(user).validation.require_first_person is False
        assert load_settings(user).validation.require_first_person is False
    warnings = [e["event"] for e in logs if e["log_level"] == "warning"]
    assert warnings == [
        f"{user}: validation.require_ash is deprecated: it is now validation.require_first_person"
    ]


def test_require_ash_in_a_persona_or_the_environment(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_persona(project / "personas" / "old", validation={"require_ash": False})
    assert load_settings(persona="old").validation.require_first_person is False
    monkeypatch.setenv("GYARU_VALIDATION__REQUIRE_ASH", "false")
    with capture_logs() as logs:
        assert load_settings().validation.require_first_person is False
    assert [e["event"] for e in logs] == [
        "GYARU_VALIDATION__REQUIRE_ASH is deprecated: it is now "
        "GYARU_VALIDATION__REQUIRE_FIRST_PERSON"
    ]


def test_the_new_key_over_the_old_one_in_a_higher_layer(project: Path) -> None:
    """The rename is per file: an old key in --config still beats the base config."""
    write_yaml(
        project / "config" / "generation_config.yaml",
        {"persona": "base", "validation": {"require_first_person": True}},
    )
    user = write_yaml(project / "old.yaml", {"validation": {"require_ash": False}})
    assert load_settings(user).validation.require_first_person is False


def test_both_names_in_one_file_is_an_error(project: Path) -> None:
    user = write_yaml(
        project / "both.yaml",
        {"validation": {"require_ash": False, "require_first_person": True}},
    )
    message = _error(project, config_path=user)
    assert "validation.require_ash and validation.require_first_person are both set" in message


def test_an_old_snapshot_reads_silently(project: Path) -> None:
    """Datasets made before the rename keep require_ash in their config snapshot."""
    snapshot = load_settings().snapshot()
    validation = snapshot["validation"]
    validation["require_ash"] = validation.pop("require_first_person") and False
    with capture_logs() as logs:
        assert Settings.model_validate(snapshot).validation.require_first_person is False
    assert logs == []
