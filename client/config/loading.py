"""Building `Settings` from its layers, lowest first:

    defaults (Python)  <  base config (config/generation_config.yaml)
      <  persona (personas/<name>/persona.yaml and its prompts)
      <  --config FILE  <  environment (GYARU_*)  <  flags

and turning pydantic's errors into one line that names the file, variable or flag at
fault. The persona is picked by `--persona`, else GYARU_PERSONA, else `persona: NAME`
in the --config file, else in the base config, else DEFAULT_PERSONA; a name is looked
up in `personas_dirs` and personas/ (client/config/personas.py).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
)

from client.config import personas
from client.config.defaults import (
    API_KEY_ENV,
    DEFAULT_CONFIG_PATH,
    DEFAULT_PERSONA,
    ENV_NESTED_DELIMITER,
    ENV_PREFIX,
    PERSONA_ENV,
    PERSONA_FILE,
    PERSONAS_DIRS_ENV,
)
from client.config.layers import Layer, merge, renamed
from client.config.sections import Settings
from client.errors import ConfigError

# Sections only a persona sets (they have no defaults).
PERSONA_SECTIONS = ("persona", "export")


@dataclass(frozen=True)
class Sources:
    """The files one Settings is built from."""

    base: Layer | None
    persona: personas.Persona
    user: Layer | None

    @property
    def layers(self) -> list[Layer]:
        """The YAML layers, highest first (the order a value is looked up in)."""
        return [x for x in (self.user, self.persona.layer, self.base) if x is not None]

    def merged(self) -> dict[str, Any]:
        # `persona: NAME` in a config file picked the folder; it is no setting.
        return merge(*(_settings_only(layer.data) for layer in reversed(self.layers)))


def _settings_only(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "persona" or isinstance(v, dict)}


def _picked(flag: str | None, base: Layer | None, user: Layer | None) -> tuple[str, str]:
    """The persona selector and where it came from."""
    if flag is not None:
        return flag, "--persona"
    if os.environ.get(PERSONA_ENV):
        return os.environ[PERSONA_ENV], PERSONA_ENV
    for layer in (x for x in (user, base) if x is not None):
        value = layer.data.get("persona")
        if isinstance(value, str):
            return value, f"{layer.origin}: persona"
        if value is not None and not isinstance(value, dict):
            raise ConfigError(
                f"{layer.origin}: persona must be a persona's name or folder, "
                f"or a mapping of persona settings, got {value!r}"
            )
    return DEFAULT_PERSONA, "the default persona"


def _personas_dirs(base: Layer | None, user: Layer | None) -> tuple[Path, ...]:
    adapter = TypeAdapter(tuple[Path, ...])
    env = os.environ.get(PERSONAS_DIRS_ENV)
    if env:
        try:
            return adapter.validate_python(json.loads(env))
        except (ValueError, ValidationError):
            raise ConfigError(
                f'{PERSONAS_DIRS_ENV}={env!r}: a JSON list of folders, e.g. ["/srv/personas"]'
            ) from None
    for layer in (user, base):
        if layer is not None and "personas_dirs" in layer.data:
            try:
                return adapter.validate_python(layer.data["personas_dirs"])
            except ValidationError:
                raise ConfigError(
                    f"{layer.origin}: personas_dirs must be a list of folders"
                ) from None
    return ()


def resolve(config_path: Path | None = None, persona: str | None = None) -> Sources:
    """Read the base config, the user's config and the picked persona's folder.

    The base config is read when it exists; `config_path` (--config) is layered over
    the persona and must exist. `persona` (--persona) is a name or a folder."""
    base, user = _config_layers(config_path)
    selector, origin = _picked(persona, base, user)
    dirs = personas.search_dirs(_personas_dirs(base, user))
    folder = personas.find(selector, dirs, origin=origin)
    return Sources(base=base, persona=personas.read(folder), user=user)


def _config_layers(config_path: Path | None) -> tuple[Layer | None, Layer | None]:
    """The base config (when there is one) and the --config file (which must exist)."""
    base = Layer.read(DEFAULT_CONFIG_PATH) if DEFAULT_CONFIG_PATH.is_file() else None
    if config_path is None:
        return base, None
    if base is not None and config_path.is_file() and config_path.samefile(base.origin):
        return base, None
    return base, Layer.read(config_path)


def persona_choice(config_path: Path | None = None) -> tuple[str, dict[str, Path]]:
    """The persona a run picks when no --persona is given (a name or a folder), and
    name -> folder of every persona a name can pick (with the config's personas_dirs)."""
    base, user = _config_layers(config_path)
    selector, _ = _picked(None, base, user)
    return selector, personas.available(personas.search_dirs(_personas_dirs(base, user)))


class _Environment(EnvSettingsSource):
    """GYARU_* variables, except that GYARU_PERSONA picks a persona (see `_picked`)
    instead of setting the persona section, and old key names are renamed."""

    def prepare_field_value(
        self, field_name: str, field: FieldInfo, value: Any, value_is_complex: bool
    ) -> Any:
        if field_name == "persona" and isinstance(value, str):
            value = None
        return super().prepare_field_value(field_name, field, value, value_is_complex)

    def __call__(self) -> dict[str, Any]:
        return renamed(super().__call__(), origin=None)


def _env_name(loc: tuple[str, ...]) -> str:
    return ENV_PREFIX + ENV_NESTED_DELIMITER.join(part.upper() for part in loc)


def _lookup(data: dict[str, Any], loc: tuple[str, ...]) -> tuple[bool, Any]:
    node: Any = data
    for part in loc:
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _from_layers(loc: tuple[str, ...], key: str, msg: str, sources: Sources) -> str | None:
    for layer in sources.layers:
        found, value = _lookup(layer.data, loc)
        if found:
            shown = "" if isinstance(value, dict) else f" = {value!r}"
            return f"{layer.origin}: {key}{shown}: {msg}"
    return None


def _describe_error(
    err: dict[str, Any],
    *,
    sources: Sources,
    overrides: dict[str, Any],
    flag_names: dict[str, str],
) -> str:
    loc = tuple(str(p) for p in err.get("loc", ()))
    # Errors from model validators carry the section only; error messages from
    # pydantic start with "Value error, " which says nothing to a user.
    msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    key = ".".join(loc) if loc else "(top level)"
    env = _env_name(loc)
    if err.get("type") == "extra_forbidden":
        origin = next((x.origin for x in sources.layers if _lookup(x.data, loc)[0]), None)
        where = f"{origin}: " if origin is not None else f"{env}: " if env in os.environ else ""
        return f"{where}unknown key '{key}'"
    if err.get("type") == "missing" and loc and loc[0] in PERSONA_SECTIONS:
        return f"{sources.persona.folder / PERSONA_FILE}: {key} is missing (a persona sets it)"
    found, value = _lookup(overrides, loc)
    if found:
        flag = flag_names.get(key, key)
        shown = " ".join(map(str, value)) if isinstance(value, list | tuple) else repr(value)
        return f"{flag} {shown}: {msg}" if not isinstance(value, dict) else f"{flag}: {msg}"
    if loc and env in os.environ:
        return f"{env}={os.environ[env]!r}: {msg}"
    return _from_layers(loc, key, msg, sources) or f"{key}: {msg}"


def build_settings(
    sources: Sources,
    overrides: dict[str, Any] | None = None,
    *,
    flag_names: dict[str, str] | None = None,
) -> Settings:
    """The frozen settings from `sources` under the environment and `overrides` (flag
    values as nested sections, e.g. {"generation": {"concurrency": 8}}), or
    ConfigError with one line naming the problem."""
    overrides = overrides or {}
    yaml_data = sources.merged()

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
            environment = _Environment(settings_cls)
            return (init_settings, environment, InitSettingsSource(settings_cls, yaml_data))

    try:
        settings: Settings = _Sourced(**overrides)
    except ValidationError as exc:
        problems = [
            _describe_error(
                dict(e), sources=sources, overrides=overrides, flag_names=flag_names or {}
            )
            for e in exc.errors()
        ]
        raise ConfigError("; ".join(dict.fromkeys(problems))) from None
    except ValueError as exc:
        # pydantic-settings raises plain ValueError for environment values it cannot decode.
        raise ConfigError(f"invalid setting from the environment: {exc}") from None
    return settings


def load_settings(
    config_path: Path | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    flag_names: dict[str, str] | None = None,
    persona: str | None = None,
) -> Settings:
    """Build the frozen settings, or raise ConfigError with one line naming the problem.

    `config_path` (--config) is a file layered over the base config and the persona;
    None: the base config and the persona alone. `persona` (--persona) is a persona's
    name or folder; None: the one the environment or the config files pick."""
    return build_settings(resolve(config_path, persona), overrides, flag_names=flag_names)


def api_key_from_env() -> SecretStr | None:
    value = os.environ.get(API_KEY_ENV, "").strip()
    return SecretStr(value) if value else None
