"""`client calibrate LABELS --suggest [--write FILE]`: the gates (drift, near copy,
quality, the judge's minimum grades) that agree best with the labels, next to
today's, and a config overlay that applies them (client.pairs.gates).

Labels with a tuning / held-out split are learned from the tuning part and measured
on both; labels without one (a review's export) are learned from and measured on
all of them, which flatters the suggestion: the printout says so.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from client.errors import EXIT_OK, UsageError

if TYPE_CHECKING:
    from client.config import Persona, Settings, Sources
    from client.pairs.calibration import LabelledItem
    from client.pairs.gates import Gates, Suggestion
    from client.pairs.validate import ValidationContext

# Fewer labels than this say little about where a threshold belongs.
FEW_LABELS = 30


def _parts(
    items: Sequence[LabelledItem], split: str | None
) -> tuple[list[LabelledItem], list[LabelledItem]]:
    """The items to learn from, and the held-out ones to measure on (maybe none)."""
    if split is not None or not any(i.split == "tuning" for i in items):
        return list(items), []
    return [i for i in items if i.split != "held-out"], [i for i in items if i.split == "held-out"]


def _measured(
    suggestion: Suggestion,
    items: Sequence[LabelledItem],
    ctx: ValidationContext,
    require_topic: bool,
) -> dict[str, Any]:
    from client.pairs.calibration import agreement, kappa_interval, rates
    from client.pairs.gates import measure

    measured = measure(items, ctx)
    out: dict[str, Any] = {"n": len(items)}
    for name, gates in (("today", suggestion.today), ("suggested", suggestion.best)):
        verdicts = suggestion.verdicts(gates, measured, require_topic)
        out[name] = {
            "kappa": agreement(items, verdicts).kappa,
            "kappa_interval_95": kappa_interval(items, verdicts),
            **rates(items, verdicts),
        }
    return out


def persona_selector(persona: Persona, personas_dirs: Sequence[Path]) -> str:
    """What `persona:` in a config file says to pick this persona: its name where the
    name finds this very folder, else the folder's absolute path."""
    from client.config import personas

    found = personas.available(personas.search_dirs(personas_dirs)).get(persona.name)
    if found is not None and found.resolve() == persona.folder.resolve():
        return persona.name
    return str(persona.folder.resolve())


def overlay_data(
    suggestion: Suggestion, note_share: float, read_from: Sources, settings: Settings
) -> dict[str, Any]:
    """The overlay: the persona the labels were measured with, the --config file
    calibrated with (if any), and the suggested gates over both. `--config` layers it
    over the base config and that persona, so it runs as it was calibrated."""
    from client.config.layers import merge

    user = dict(read_from.user.data) if read_from.user is not None else {}
    head: dict[str, Any] = {}
    # A --config that itself sets persona settings (a mapping) cannot also name one.
    if not isinstance(user.get("persona"), dict):
        user.pop("persona", None)
        head["persona"] = persona_selector(read_from.persona, settings.personas_dirs)
    return merge(head, user, suggestion.best.overlay(note_share))


def overlay_text(data: dict[str, Any], items: int, out: Path, source: str) -> str:
    """The overlay file: its data, under a header saying how to use it."""
    import yaml

    named = data.get("persona")
    persona = f"personas/{named}/persona.yaml" if isinstance(named, str) else "a persona.yaml"
    header = (
        f"# Gates learned by `client calibrate {source} --suggest` from {items}"
        " labelled pairs.\n"
        f"# Run with it: `--config {out.name}` (over the base config and the persona it"
        " names).\n"
        f"# To make the gates the persona's own, merge the sections below `persona:` into"
        f" {persona}.\n"
    )
    return header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _gates(gates: Gates) -> dict[str, float | int]:
    return dict(gates.rows())


def run_suggest(
    args: argparse.Namespace, read_from: Sources, settings: Settings, items: list[LabelledItem]
) -> int:
    from client.pairs.gates import measure, suggest, today
    from client.run.job import pair_rules, validation_context

    learn, held = _parts(items, args.split)
    ctx = validation_context(settings, pair_rules(settings))
    judge = settings.judge
    now = today(
        ctx,
        {
            f"min_{c}": getattr(judge, f"min_{c}")
            for c in ("meaning", "voice", "naturalness", "safety")
        },
    )
    suggestion = suggest(learn, measure(learn, ctx), now, require_topic=judge.require_topic)
    report: dict[str, Any] = {
        "today": _gates(suggestion.today),
        "suggested": _gates(suggestion.best),
        "learned_from": _measured(suggestion, learn, ctx, judge.require_topic),
        "held_out": _measured(suggestion, held, ctx, judge.require_topic) if held else None,
    }
    if args.write is not None:
        note = 1.0 if ctx.checker is None else ctx.checker.config.meaning.note_missing_share
        data = overlay_data(suggestion, note, read_from, settings)
        text = overlay_text(data, suggestion.items, args.write, str(args.labels))
        try:
            args.write.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {args.write}: {exc.strerror or exc}") from None
        report["written"] = str(args.write)
    if args.json:
        sys.stdout.write(json.dumps({"suggest": report}, ensure_ascii=False, indent=2) + "\n")
    else:
        _print(args, report, learn, held)
    return EXIT_OK


def _side(part: dict[str, Any], name: str) -> str:
    from client.cli.calibrate_report import interval, rate_line

    side = part[name]
    kappa = "-" if side["kappa"] is None else f"{side['kappa']:.2f}"
    return (
        f"kappa {kappa}{interval(side['kappa_interval_95'])}, "
        + rate_line("good kept", side["good_kept"])
        + ", "
        + rate_line("rule-visible bad rejected", side["rule_visible_bad_rejected"])
    )


def _print(
    args: argparse.Namespace,
    report: dict[str, Any],
    learn: Sequence[LabelledItem],
    held: Sequence[LabelledItem],
) -> None:
    from client.cli.shared import stdout_console

    console = stdout_console()
    which = "the tuning part" if held else ("the split " + args.split if args.split else "all")
    console.print(f"gates learned from {len(learn)} labelled items ({which})", highlight=False)
    if len(learn) < FEW_LABELS:
        console.print(f"  only {len(learn)} labels: take the suggestion as a hint", highlight=False)
    console.print(f"  {'gate':36} {'today':>8} {'suggested':>10}", highlight=False)
    for key, value in report["today"].items():
        new = report["suggested"][key]
        mark = "  <-" if new != value else ""
        console.print(f"  {key:36} {value:>8} {new:>10}{mark}", highlight=False)
    parts = [("on the items it learned from", report["learned_from"])]
    if report["held_out"] is not None:
        parts.append((f"on the {len(held)} held-out items", report["held_out"]))
    for title, part in parts:
        console.print(f"  {title} (n = {part['n']}):", highlight=False)
        for name in ("today", "suggested"):
            console.print(f"    {name:9} {_side(part, name)}", soft_wrap=True, highlight=False)
    if not held:
        console.print(
            "  (measured on the labels it was learned from: expect a little less on new pairs)",
            highlight=False,
        )
    if "written" in report:
        console.print(f"wrote {report['written']}: run with --config {report['written']}")
