"""`client calibrate LABELS.jsonl`: how well validation, the pair checks and the quality
score agree with people on hand-labelled pairs (client.pairs.calibration)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from client.cli.args import add_judge, add_logging, add_persona, formatter, sources_and_settings
from client.cli.shared import api_key, stdout_console
from client.errors import EXIT_OK, GyaruError, UsageError

if TYPE_CHECKING:
    from client.config import Persona, Settings
    from client.pairs.calibration import LabelledItem
    from client.pairs.verdicts import Source

EXAMPLES = """\
examples:
  client calibrate                                   # the default persona's labels.jsonl
  client calibrate --persona ojousama                # personas/ojousama/labels.jsonl
  client calibrate tests/data/labels_gyaru.jsonl
  client calibrate labels.jsonl --min-quality 0.7 --json
  client calibrate tests/data/labels_gyaru.jsonl --base-url http://localhost:8000/v1   # with the LLM judge

A labels file has one JSON object a line: standard, gyaru, topic, label (good or
bad), and optionally persona (the persona's name) and kind (what is wrong).
"""


def register(sub: Any) -> None:
    p = sub.add_parser(
        "calibrate",
        help="agreement of validation, the pair checks and the quality score with labelled pairs",
        epilog=EXAMPLES,
        formatter_class=formatter,
    )
    p.add_argument(
        "labels",
        type=Path,
        nargs="?",
        help="a JSON Lines file of labelled pairs (default: the persona's labels.jsonl)",
    )
    p.add_argument(
        "--config", type=Path, default=None, help="YAML file layered over the base config"
    )
    add_persona(p)
    p.add_argument(
        "--min-quality",
        type=float,
        default=None,
        metavar="X",
        help="score threshold to judge the quality score at (default: its best on this set)",
    )
    p.add_argument(
        "--disagreements",
        type=int,
        default=20,
        metavar="N",
        help="disagreements to list per source",
    )
    p.add_argument("--json", action="store_true", help="print the numbers as JSON")
    g = p.add_argument_group("the LLM judge (compared too when a server is given)")
    g.add_argument(
        "--base-url",
        action="append",
        metavar="URL",
        help="the generating server: its model judges, as in a run",
    )
    g.add_argument("--model", help="served model name ('auto': the server's first model)")
    g.add_argument("--wait", type=float, metavar="SECONDS", help="wait for the server")
    g.add_argument("--pairs-per-batch", type=int, metavar="N", help="items per judge request")
    g.add_argument("--concurrency", type=int, metavar="N", help="judge requests at once")
    add_judge(p, switch=False)
    add_logging(p)
    p.set_defaults(handler=run)


def _labels_path(given: Path | None, persona: Persona) -> Path:
    """The LABELS argument, else the persona folder's labels.jsonl."""
    if given is not None:
        return given
    if persona.labels is None:
        raise UsageError(
            f"no LABELS file given, and the persona {persona.name!r} has no labels.jsonl "
            f"in {persona.folder}"
        )
    return persona.labels


def read_labels(path: Path, settings: Settings) -> list[LabelledItem]:
    from client.pairs.calibration import LabelsError, parse_labels

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LabelsError(f"labels file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelsError(f"cannot read labels file {path}: {exc}") from None
    items = parse_labels(text, str(path))
    persona = settings.persona.name
    for item in items:
        if item.persona is not None and item.persona != persona:
            raise LabelsError(
                f"{path}:{item.line}: persona {item.persona!r}, but the config's persona is"
                f" {persona!r} (pick the labels' persona with --persona NAME)"
            )
    return items


def sources(
    args: argparse.Namespace, settings: Settings, items: list[LabelledItem]
) -> list[Source]:
    """Every verdict source to compare with the labels. More sources (the LLM judge)
    are appended here; each is a name and one Verdict per item."""
    from client.pairs.verdicts import score_source, scores, validation_sources
    from client.run.job import pair_rules, validation_context

    ctx = validation_context(settings, pair_rules(settings))
    checks = validation_sources(items, ctx)
    found = [*checks, score_source(items, scores(items, ctx), args.min_quality)]
    if args.base_url or args.judge_base_url:
        found += _judge_sources(args, settings, items, checks[-1])
    return found


def _judge_sources(
    args: argparse.Namespace, settings: Settings, items: list[LabelledItem], checks: Source
) -> list[Source]:
    """The judge's verdicts on every item, on the server given; a judge that cannot
    grade them all is an error, not a partial comparison."""
    import anyio

    from client.pairs.verdicts import judge_sources
    from client.run.judge_dataset import judge_items

    key = api_key()
    judged = anyio.run(lambda: judge_items(settings, items, api_key=key, label=args.labels.stem))
    if judged.failures:
        first = judged.failures[0]
        missing = sum(f.pairs for f in judged.failures)
        raise GyaruError(
            f"the judge could not grade {missing} of {len(items)} items: {first.message}"
        )
    verdicts = [v for v in judged.verdicts if v is not None]
    return judge_sources(verdicts, checks, model=judged.model)


def run(args: argparse.Namespace, log_format: str, argv: list[str]) -> int:
    from client.pairs.calibration import auc
    from client.pairs.verdicts import scores
    from client.run.job import pair_rules, validation_context

    read_from, settings = sources_and_settings(args)
    args.labels = _labels_path(args.labels, read_from.persona)
    items = read_labels(args.labels, settings)
    found = sources(args, settings, items)
    score_auc = auc(items, scores(items, validation_context(settings, pair_rules(settings))))
    report = [_result(s, items) for s in found]
    if args.json:
        out = {"labels": str(args.labels), "items": len(items), "score_auc": score_auc}
        sys.stdout.write(
            json.dumps({**out, "sources": report}, ensure_ascii=False, indent=2) + "\n"
        )
        return EXIT_OK
    _print(args, items, report, score_auc)
    return EXIT_OK


def _result(source: Source, items: Sequence[LabelledItem]) -> dict[str, Any]:
    from client.pairs.calibration import agreement, by_kind

    a = agreement(items, source.verdicts)
    return {
        "name": source.name,
        "note": source.note,
        "confusion": {
            "good": {"accepted": a.good_accepted, "rejected": a.good_rejected},
            "bad": {"accepted": a.bad_accepted, "rejected": a.bad_rejected},
        },
        "precision_accepted": a.precision,
        "recall_accepted": a.recall,
        "kappa": a.kappa,
        "by_kind": {
            k: {"right": r, "of": n} for k, (r, n) in by_kind(items, source.verdicts).items()
        },
        "disagreements": [
            {
                "line": item.line,
                "label": "good" if item.good else "bad",
                "kind": item.kind,
                "verdict": "accepted" if v.accepted else "rejected",
                "reason": v.reason,
                "detail": v.detail,
                "standard": item.standard,
                "gyaru": item.gyaru,
            }
            for item, v in a.disagreements
        ],
    }


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _print(
    args: argparse.Namespace,
    items: list[LabelledItem],
    report: list[dict[str, Any]],
    score_auc: float | None,
) -> None:
    from rich.markup import escape

    console = stdout_console()
    good = sum(i.good for i in items)
    console.print(f"{args.labels}: {len(items)} items, {good} good, {len(items) - good} bad")
    console.print(f"quality score AUC (good ranked above bad): {_num(score_auc)}")
    for r in report:
        c = r["confusion"]
        note = f" ({r['note']})" if r["note"] else ""
        console.print(f"\n[bold]{escape(r['name'])}[/bold]{escape(note)}")
        console.print(f"  {'':12} accepted rejected")
        for label in ("good", "bad"):
            console.print(f"  {label:12} {c[label]['accepted']:>8} {c[label]['rejected']:>8}")
        console.print(
            f"  precision of accepted {_num(r['precision_accepted'])} · recall of accepted"
            f" {_num(r['recall_accepted'])} · Cohen's kappa {_num(r['kappa'])}"
        )
        kinds = " ".join(f"{k} {v['right']}/{v['of']}" for k, v in r["by_kind"].items())
        console.print(f"  right by kind: {escape(kinds)}", soft_wrap=True)
        shown = r["disagreements"][: max(args.disagreements, 0)]
        console.print(f"  disagreements: {len(r['disagreements'])}")
        for d in shown:
            why = f" {d['reason']}: {d['detail']}" if d["reason"] else ""
            line = (
                f"    line {d['line']} {d['label']}/{d['kind'] or '-'} {d['verdict']}{why} |"
                f" {d['standard']} -> {d['gyaru']}"
            )
            console.print(escape(line), soft_wrap=True, highlight=False)
