"""Building `Settings` from defaults < YAML file < environment < flags, and turning
pydantic's errors into one line that names the file, variable or flag at fault."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, InitSettingsSource, PydanticBaseSettingsSource

from client.config.defaults import (
    API_KEY_ENV,
    DEFAULT_CONFIG_PATH,
    ENV_NESTED_DELIMITER,
    ENV_PREFIX,
)
from client.config.sections import Settings
from client.errors import ConfigError


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"config path is a directory, not a file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
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


def _merged(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """`top` over `base`, section by section (a list or a value replaces, a mapping merges)."""
    out = dict(base)
    for key, value in top.items():
        below = out.get(key)
        out[key] = (
            _merged(below, value) if isinstance(below, dict) and isinstance(value, dict) else value
        )
    return out


def read_config(path: Path, seen: frozenset[Path] = frozenset()) -> dict[str, Any]:
    """A config file's sections, over those of the file its `extends:` names (a path
    relative to the file): an overlay such as `client calibrate --suggest --write`
    writes holds a few keys and names the config they change."""
    data = read_yaml(path)
    base = data.pop("extends", None)
    if base is None:
        return data
    if not isinstance(base, str) or not base.strip():
        raise ConfigError(f"{path}: extends must name a config file, got {base!r}")
    base_path = path.parent / base
    if base_path.resolve() in seen | {path.resolve()}:
        raise ConfigError(f"{path}: extends {base!r}, which extends it back")
    return _merged(read_config(base_path, seen | {path.resolve()}), data)


def _env_name(loc: tuple[str, ...]) -> str:
    return ENV_PREFIX + ENV_NESTED_DELIMITER.join(part.upper() for part in loc)


def _lookup(data: dict[str, Any], loc: tuple[str, ...]) -> tuple[bool, Any]:
    node: Any = data
    for part in loc:
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _describe_error(
    err: dict[str, Any],
    *,
    config_path: Path | None,
    yaml_data: dict[str, Any],
    overrides: dict[str, Any],
    flag_names: dict[str, str],
) -> str:
    loc = tuple(str(p) for p in err.get("loc", ()))
    # Errors from model validators carry the section only; error messages from
    # pydantic start with "Value error, " which says nothing to a user.
    msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    key = ".".join(loc) if loc else "(top level)"
    if err.get("type") == "extra_forbidden":
        origin = f"{config_path}: " if config_path is not None else ""
        return f"{origin}unknown key '{key}'"
    found, value = _lookup(overrides, loc)
    if found:
        flag = flag_names.get(key, key)
        shown = " ".join(map(str, value)) if isinstance(value, list | tuple) else repr(value)
        return f"{flag} {shown}: {msg}" if not isinstance(value, dict) else f"{flag}: {msg}"
    env = _env_name(loc)
    if loc and env in os.environ:
        return f"{env}={os.environ[env]!r}: {msg}"
    found, value = _lookup(yaml_data, loc)
    if found and config_path is not None:
        if isinstance(value, dict):
            return f"{config_path}: {key}: {msg}"
        return f"{config_path}: {key} = {value!r}: {msg}"
    return f"{key}: {msg}"


def load_settings(
    config_path: Path | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    flag_names: dict[str, str] | None = None,
) -> Settings:
    """Build the frozen settings, or raise ConfigError with one line naming the problem.

    `config_path` None means the default path, which may be absent (defaults apply);
    a path the user named must exist. `overrides` holds flag values as nested
    sections, e.g. {"generation": {"concurrency": 8}}.
    """
    overrides = overrides or {}
    if config_path is None:
        config_path = DEFAULT_CONFIG_PATH if DEFAULT_CONFIG_PATH.exists() else None
    yaml_data = read_config(config_path) if config_path is not None else {}

    class _Sourced(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, InitSettingsSource(settings_cls, yaml_data))

    try:
        settings: Settings = _Sourced(**overrides)
    except ValidationError as exc:
        problems = [
            _describe_error(
                dict(e),
                config_path=config_path,
                yaml_data=yaml_data,
                overrides=overrides,
                flag_names=flag_names or {},
            )
            for e in exc.errors()
        ]
        raise ConfigError("; ".join(dict.fromkeys(problems))) from None
    except ValueError as exc:
        # pydantic-settings raises plain ValueError for environment values it cannot decode.
        raise ConfigError(f"invalid setting from the environment: {exc}") from None
    return settings


def api_key_from_env() -> SecretStr | None:
    value = os.environ.get(API_KEY_ENV, "").strip()
    return SecretStr(value) if value else None
