"""`client personas`: the personas a run can pick, each with its first person, the
register its checks hold it to, its prompt files and its labelled set (a rich table,
or --json for machines). A persona that does not load is listed with the one-line
reason, and the command exits 2, as `generate --persona` with it would."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from client.cli.args import add_logging, formatter
from client.cli.shared import stdout_console
from client.errors import EXIT_OK, EXIT_USAGE, ConfigError

if TYPE_CHECKING:
    from rich.table import Table

    from client.config.checks import RegisterRules, TokenPattern

EXAMPLES = """\
examples:
  client personas                       # every persona in personas/ (and personas_dirs)
  client personas ojousama ./my-persona # these only: names or folders
  client personas --json

A persona is a folder: persona.yaml (what differs from config/generation_config.yaml),
system_prompt.txt, rewrite_prompt.txt, judge_prompt.txt, and optionally labels.jsonl.
Copy personas/gyaru to start one; run it with `client generate --persona ./my-persona`.
"""
# Register words shown per rule in the table (all of them in --json).
SHOWN_WORDS = 8


def register(sub: Any) -> None:
    p = sub.add_parser(
        "personas",
        help="list the personas: first person, register, prompt files, labelled set",
        epilog=EXAMPLES,
        formatter_class=formatter,
    )
    p.add_argument(
        "only", nargs="*", metavar="NAME|DIR", help="show these personas only (default: all)"
    )
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        help="YAML file whose personas_dirs and persona: to use",
    )
    p.add_argument("--json", action="store_true", help="print the personas as JSON")
    add_logging(p)
    p.set_defaults(handler=run)


@dataclass
class Row:
    """One persona as the listing shows it; `error` is set when it does not load."""

    name: str
    folder: str
    default: bool
    display_name: str | None = None
    first_person: str | None = None
    topics: list[str] = field(default_factory=list)
    register: dict[str, list[str]] = field(default_factory=dict)
    prompts: dict[str, str] = field(default_factory=dict)
    labels: str | None = None
    labelled_pairs: int | None = None
    error: str | None = None


def _pattern(p: TokenPattern) -> str:
    return p.form or "/".join(x for x in (p.pos, p.cform) if x)


def register_words(voice: RegisterRules) -> dict[str, list[str]]:
    """The persona line's register as its checks hold it: what it must use one of, and
    what it must never use."""
    return {
        "requires_one_of": [_pattern(p) for p in voice.persona_required],
        "forbids": [
            *(_pattern(p) for p in voice.persona_forbidden),
            *voice.persona_forbidden_phrases,
        ],
    }


def _path_selector(folder: Path) -> str:
    from client.config.personas import is_folder

    return str(folder) if is_folder(str(folder)) else f"./{folder}"


def describe(name: str, folder: Path, *, default: bool) -> Row:
    """`folder` loaded as a run with `--persona FOLDER` would load it."""
    from client.config import build_settings, resolve

    row = Row(name=name, folder=str(folder), default=default)
    try:
        sources = resolve(None, _path_selector(folder))
        settings = build_settings(sources)
    except ConfigError as exc:
        row.error = str(exc)
        return row
    persona = sources.persona
    row.display_name = settings.persona.name
    row.first_person = settings.persona.first_person
    row.topics = list(settings.persona.topics)
    row.register = register_words(settings.checks.voice)
    row.prompts = {role: str(path) for role, path in persona.prompts.items()}
    if persona.labels is not None:
        row.labels = str(persona.labels)
        text = persona.labels.read_text(encoding="utf-8", errors="replace")
        row.labelled_pairs = sum(1 for line in text.splitlines() if line.strip())
    return row


def _wanted(only: Sequence[str], found: dict[str, Path], default: str) -> dict[str, Path]:
    """name -> folder to show: those asked for, else every persona found (and the
    default persona when it is a folder outside the personas folders)."""
    from client.config.personas import is_folder

    asked = list(only) or [*found, *([default] if is_folder(default) else [])]
    wanted: dict[str, Path] = {}
    for selector in asked:
        if is_folder(selector):
            folder = Path(selector).expanduser()
            wanted[folder.resolve().name] = folder
        elif selector in found:
            wanted[selector] = found[selector]
        else:
            names = ", ".join(sorted(found)) or "none"
            raise ConfigError(f"unknown persona {selector!r}; available: {names}")
    return wanted


def _is_default(name: str, folder: Path, default: str, found: dict[str, Path]) -> bool:
    from client.config.personas import is_folder

    if is_folder(default):
        return folder.resolve() == Path(default).expanduser().resolve()
    return default == name and found.get(name) == folder


def run(args: argparse.Namespace, log_format: str, argv: Sequence[str]) -> int:
    from client.config import persona_choice

    default, found = persona_choice(args.config)
    wanted = _wanted(args.only, found, default)
    if not wanted:
        raise ConfigError("no personas found: make a folder personas/<name>/ (see --help)")
    rows = [
        describe(name, folder, default=_is_default(name, folder, default, found))
        for name, folder in wanted.items()
    ]
    if args.json:
        sys.stdout.write(json.dumps([asdict(r) for r in rows], ensure_ascii=False, indent=2) + "\n")
    else:
        stdout_console().print(_table(rows))
    broken = [r for r in rows if r.error is not None]
    for row in broken:
        sys.stderr.write(f"client personas: {row.name}: {row.error}\n")
    return EXIT_USAGE if broken else EXIT_OK


def _words(words: list[str]) -> str:
    more = len(words) - SHOWN_WORDS
    return " ".join(words[:SHOWN_WORDS]) + (f" (+{more})" if more > 0 else "")


def _register_cell(row: Row) -> str:
    lines = []
    if row.register.get("requires_one_of"):
        lines.append("needs one of: " + _words(row.register["requires_one_of"]))
    if row.register.get("forbids"):
        lines.append("never: " + _words(row.register["forbids"]))
    return "\n".join(lines) or "-"


def _table(rows: list[Row]) -> Table:
    from rich.table import Table

    table = Table(title="personas (* the default)", title_justify="left")
    for column in ("persona", "name", "first person", "register", "prompts", "labels"):
        table.add_column(column, overflow="fold")
    for row in rows:
        mark = f"{row.name}{' *' if row.default else ''}\n{row.folder}"
        if row.error is not None:
            table.add_row(mark, "[red]does not load[/red]", "", row.error, "", "")
            continue
        prompts = "\n".join(Path(p).name for p in row.prompts.values())
        labels = f"{Path(row.labels).name} ({row.labelled_pairs} pairs)" if row.labels else "-"
        table.add_row(
            mark, row.display_name, row.first_person, _register_cell(row), prompts, labels
        )
    return table
