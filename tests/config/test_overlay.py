"""A config file of a few keys through `--config`: what `client calibrate --suggest
--write` writes. It layers over the base config and the persona it names, so it runs
as it was calibrated, and its sections can be merged into that persona's persona.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from client.config import load_settings
from client.config.layers import merge
from client.errors import ConfigError
from tests.helpers import REPO

GATES = (
    "checks:\n  meaning: {max_missing_share: 0.35}\n  near_copy: {ratio: 0.9}\n"
    "validation: {min_quality: 0.4}\n"
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_an_overlay_names_its_persona_and_changes_only_its_keys(tmp_path: Path) -> None:
    hers = load_settings(persona="ojousama")
    overlay = write(tmp_path / "gates.yaml", "persona: ojousama\n" + GATES)
    settings = load_settings(overlay)  # no --persona: the file picks her
    assert settings.persona == hers.persona
    assert settings.checks.meaning.max_missing_share == 0.35
    assert settings.checks.near_copy.ratio == 0.9
    assert settings.validation.min_quality == 0.4
    # Sections merge key by key: her equivalents and markers are still hers, and the
    # gyaru's (the default persona's) are nowhere.
    assert settings.checks.meaning.equivalents == hers.checks.meaning.equivalents
    assert "確認" not in settings.checks.meaning.equivalents
    assert settings.checks.near_copy.rewrite_markers == hers.checks.near_copy.rewrite_markers
    assert settings.checks.voice == hers.checks.voice


def test_persona_flag_wins_over_the_overlays_name(tmp_path: Path) -> None:
    overlay = write(tmp_path / "gates.yaml", "persona: ojousama\n" + GATES)
    settings = load_settings(overlay, persona="gyaru")
    assert settings.persona.first_person == "あーし"
    assert settings.checks.near_copy.ratio == 0.9


def test_the_overlays_sections_pasted_into_the_persona_run_the_same(tmp_path: Path) -> None:
    """The other way to keep the gates: merged into a copy of the persona's folder."""
    folder = tmp_path / "lady"
    folder.mkdir()
    original = yaml.safe_load((REPO / "personas" / "ojousama" / "persona.yaml").read_text("utf-8"))
    for name in ("system_prompt.txt", "rewrite_prompt.txt", "judge_prompt.txt"):
        (folder / name).write_bytes((REPO / "personas" / "ojousama" / name).read_bytes())
    pasted = merge(original, yaml.safe_load(GATES))
    write(folder / "persona.yaml", yaml.safe_dump(pasted, allow_unicode=True))
    overlay = write(tmp_path / "gates.yaml", "persona: ojousama\n" + GATES)
    through_config = load_settings(overlay).snapshot()
    through_folder = load_settings(persona=str(folder)).snapshot()
    for section in ("checks", "validation", "persona", "export"):
        assert through_folder[section] == through_config[section], section


def test_extends_is_no_key(tmp_path: Path) -> None:
    """One way to layer a file: --config over base and persona (`extends:` is gone)."""
    overlay = write(tmp_path / "gates.yaml", "extends: config/generation_config.yaml\n")
    with pytest.raises(ConfigError, match=r"gates\.yaml: unknown key 'extends'"):
        load_settings(overlay)
