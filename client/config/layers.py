"""The YAML files settings are built from, each read into a `Layer`, merged in order
(base config, then the persona's persona.yaml, then the user's --config file), and
the old key names a file may still use, renamed with a one-line warning."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
import yaml

from client.config.defaults import ENV_NESTED_DELIMITER, ENV_PREFIX
from client.errors import ConfigError

log = structlog.get_logger("client.config")

# (section, old key) -> new key. The old key is still read, with a warning.
RENAMED: dict[tuple[str, str], str] = {
    ("validation", "require_ash"): "require_first_person",
}

# Each old key is warned about once per file (or once for the environment) per process.
_warned: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class Layer:
    """One YAML file's settings, with the file they came from (for error messages)."""

    origin: Path
    data: dict[str, Any]

    @classmethod
    def read(cls, path: Path) -> Layer:
        return cls(path, renamed(read_yaml(path), origin=path))


def read_text_file(path: Path, *, what: str) -> str:
    """A file the user named (a config, a prompt), as text; a ConfigError that names
    `what` it is and why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{what} file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"{what} path is a directory, not a file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {what} file {path}: {exc}") from None


def read_yaml(path: Path) -> dict[str, Any]:
    text = read_text_file(path, what="config")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping of sections, got {type(data).__name__}"
        )
    return data


def merge(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Later layers win; mappings merge key by key, any other value replaces the earlier
    one (a list in a persona replaces the base config's list, it does not extend it)."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            earlier = merged.get(key)
            if isinstance(earlier, Mapping) and isinstance(value, Mapping):
                merged[key] = merge(earlier, value)
            else:
                merged[key] = value
    return merged


def _spelled(origin: Path | None, section: str, key: str) -> str:
    if origin is None:
        return ENV_PREFIX + ENV_NESTED_DELIMITER.join((section.upper(), key.upper()))
    return f"{section}.{key}"


def renamed(data: dict[str, Any], *, origin: Path | None) -> dict[str, Any]:
    """`data` with old key names replaced by their new names. `origin` is the file the
    data came from; None: the environment (GYARU_* variables)."""
    for (section, old), new in RENAMED.items():
        block = data.get(section)
        if not isinstance(block, dict) or old not in block:
            continue
        where = f"{origin}: " if origin is not None else ""
        old_name, new_name = _spelled(origin, section, old), _spelled(origin, section, new)
        if new in block:
            raise ConfigError(f"{where}{old_name} and {new_name} are both set; keep {new_name}")
        if (str(origin), old_name) not in _warned:
            _warned.add((str(origin), old_name))
            log.warning(f"{where}{old_name} is deprecated: it is now {new_name}")
        data = {**data, section: {(new if k == old else k): v for k, v in block.items()}}
    return data
