"""A config file that `extends:` another: what `client calibrate --suggest --write`
writes, a few keys over the persona's config."""

from __future__ import annotations

from pathlib import Path

import pytest

from client.config import load_settings
from client.errors import ConfigError
from tests.helpers import REPO


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_an_overlay_changes_its_keys_and_keeps_the_rest(tmp_path: Path) -> None:
    base = load_settings(REPO / "config" / "ojousama.yaml")
    overlay = write(
        tmp_path / "gates.yaml",
        f"extends: {REPO / 'config' / 'ojousama.yaml'}\n"
        "checks:\n  meaning: {max_missing_share: 0.35}\n  near_copy: {ratio: 0.9}\n"
        "validation: {min_quality: 0.4}\n",
    )
    settings = load_settings(overlay)
    assert settings.persona == base.persona  # the お嬢様, not the default persona
    assert settings.checks.meaning.max_missing_share == 0.35
    assert settings.checks.near_copy.ratio == 0.9
    assert settings.validation.min_quality == 0.4
    # Sections merge key by key: her equivalents and markers are still hers.
    assert settings.checks.meaning.equivalents == base.checks.meaning.equivalents
    assert settings.checks.near_copy.rewrite_markers == base.checks.near_copy.rewrite_markers


def test_extends_is_relative_to_the_file_and_may_chain(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    write(tmp_path / "base.yaml", "validation: {min_quality: 0.1, gyaru_max_chars: 99}\n")
    write(tmp_path / "a" / "mid.yaml", "extends: ../base.yaml\nvalidation: {min_quality: 0.2}\n")
    top = write(tmp_path / "a" / "top.yaml", "extends: mid.yaml\nvalidation: {min_quality: 0.3}\n")
    settings = load_settings(top)
    assert (settings.validation.min_quality, settings.validation.gyaru_max_chars) == (0.3, 99)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"top.yaml": "extends: none.yaml\n"}, "config file not found: {tmp}/none.yaml"),
        ({"top.yaml": "extends: [a, b]\n"}, "{tmp}/top.yaml: extends must name a config file"),
        ({"top.yaml": "extends: b.yaml\n", "b.yaml": "extends: top.yaml\n"},
         "{tmp}/b.yaml: extends 'top.yaml', which extends it back"),
        ({"top.yaml": "extends: top.yaml\n"}, "{tmp}/top.yaml: extends 'top.yaml', which extends it back"),
    ],
)  # fmt: skip
def test_a_broken_extends_is_one_line(tmp_path: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        write(tmp_path / name, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "top.yaml")
    assert str(caught.value).startswith(message.format(tmp=tmp_path))
