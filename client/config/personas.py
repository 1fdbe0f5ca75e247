"""Persona folders: finding one by name or by path, listing those there are, and reading
one into the layer it adds to the settings.

```
personas/<name>/
    persona.yaml         what differs from the base config: persona:, export:, checks:, ...
    system_prompt.txt    the generation prompt
    rewrite_prompt.txt   the prompt of `generate --input`
    judge_prompt.txt     the LLM judge's prompt
    labels.jsonl         optional: hand-labelled pairs (`client calibrate`)
```

A name (`--persona ojousama`) is looked up in each of `personas_dirs`, then in
personas/ of the working directory, then in personas/ of the source checkout the
client runs from; the first folder of that name holding a persona.yaml wins. A value
with a path in it (`./mine`, `~/personas/mine`, `/srv/mine`) is the folder itself, so
a persona can live anywhere without touching this repository.

The prompt paths in a persona.yaml (prompt.system_prompt_path, ...) are relative to
its folder and default to the file names above.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from client.config.defaults import (
    JUDGE_PROMPT_FILE,
    LABELS_FILE,
    PERSONA_FILE,
    PERSONAS_DIR,
    REWRITE_PROMPT_FILE,
    SYSTEM_PROMPT_FILE,
)
from client.config.layers import Layer, merge
from client.errors import ConfigError

# role -> (section, key, file name in the folder)
PROMPTS: dict[str, tuple[str, str, str]] = {
    "system": ("prompt", "system_prompt_path", SYSTEM_PROMPT_FILE),
    "rewrite": ("prompt", "rewrite_prompt_path", REWRITE_PROMPT_FILE),
    "judge": ("judge", "prompt_path", JUDGE_PROMPT_FILE),
}
LAYOUT = (
    f"a persona folder holds {PERSONA_FILE}, {SYSTEM_PROMPT_FILE}, {REWRITE_PROMPT_FILE} "
    f"and {JUDGE_PROMPT_FILE}"
)
# Keys a persona.yaml may not set: they say where personas are, not what one is.
NOT_IN_A_PERSONA = ("personas_dirs",)

# The personas shipped with the client, found from a source checkout (`uv run client`
# from anywhere); an installed wheel has none here and uses personas/ of the working
# directory (the Docker image's /app/personas).
CHECKOUT_PERSONAS = Path(__file__).resolve().parents[2] / PERSONAS_DIR


@dataclass(frozen=True)
class Persona:
    """One persona folder, read: the layer it adds and the files it holds."""

    name: str  # the folder's name: what --persona takes
    folder: Path
    layer: Layer  # persona.yaml, with the prompt paths made relative to the working directory
    prompts: dict[str, Path]  # system, rewrite, judge
    labels: Path | None


def search_dirs(extra: Iterable[Path] = ()) -> tuple[Path, ...]:
    """Where names are looked up, in order, each folder once."""
    seen: set[Path] = set()
    dirs: list[Path] = []
    for folder in (*(Path(d).expanduser() for d in extra), PERSONAS_DIR, CHECKOUT_PERSONAS):
        key = folder.resolve()
        if key not in seen:
            seen.add(key)
            dirs.append(folder)
    return tuple(dirs)


def is_folder(selector: str) -> bool:
    """A selector with a path in it names a folder; a bare name is looked up."""
    return "/" in selector or os.sep in selector or selector.startswith(("~", "."))


def available(dirs: Sequence[Path]) -> dict[str, Path]:
    """name -> folder for every persona in `dirs`; an earlier folder shadows a later one."""
    found: dict[str, Path] = {}
    for parent in dirs:
        if not parent.is_dir():
            continue
        for folder in sorted(parent.iterdir()):
            if (folder / PERSONA_FILE).is_file():
                found.setdefault(folder.name, folder)
    return found


def find(selector: str, dirs: Sequence[Path], *, origin: str) -> Path:
    """The folder `selector` names; ConfigError naming `origin` (where the selector came
    from) and the personas there are when there is none."""
    if is_folder(selector):
        folder = Path(selector).expanduser()
        if not folder.is_dir():
            raise ConfigError(f"{origin}: no persona folder at {folder}")
        return folder
    found = available(dirs)
    if selector in found:
        return found[selector]
    existing = [str(d) for d in dirs if d.is_dir()]
    if existing:
        where = f"available: {', '.join(sorted(found)) or 'none'} (in {', '.join(existing)})"
    else:
        where = f"no personas folder found (looked for {', '.join(map(str, dirs))})"
    raise ConfigError(
        f"{origin}: unknown persona {selector!r}; {where}; "
        "a folder path works too, e.g. --persona ./my-persona"
    )


def _prompt_paths(folder: Path, data: dict[str, Any]) -> dict[str, Path]:
    paths: dict[str, Path] = {}
    for role, (section, key, file_name) in PROMPTS.items():
        block = data.get(section)
        named = block.get(key) if isinstance(block, dict) else None
        paths[role] = folder / (named if isinstance(named, str) else file_name)
    return paths


def read(folder: Path) -> Persona:
    """The persona in `folder`, or ConfigError naming what is wrong with the folder."""
    yaml_path = folder / PERSONA_FILE
    if not yaml_path.is_file():
        raise ConfigError(f"persona folder {folder} has no {PERSONA_FILE} ({LAYOUT})")
    layer = Layer.read(yaml_path)
    data = layer.data
    for key in NOT_IN_A_PERSONA:
        if key in data:
            raise ConfigError(f"{yaml_path}: {key} belongs in a config file, not in a persona")
    if "persona" in data and not isinstance(data["persona"], dict):
        raise ConfigError(
            f"{yaml_path}: persona must be a mapping (name, first_person, topics, ...)"
        )
    prompts = _prompt_paths(folder, data)
    missing = [
        path.name if path.parent == folder else str(path)
        for path in prompts.values()
        if not path.is_file()
    ]
    if missing:
        raise ConfigError(f"persona folder {folder} lacks {', '.join(missing)} ({LAYOUT})")
    paths: dict[str, dict[str, Path]] = {}
    for role, (section, key, _) in PROMPTS.items():
        paths.setdefault(section, {})[key] = prompts[role]
    labels = folder / LABELS_FILE
    return Persona(
        name=folder.resolve().name,
        folder=folder,
        layer=Layer(yaml_path, merge(data, paths)),
        prompts=prompts,
        labels=labels if labels.is_file() else None,
    )
