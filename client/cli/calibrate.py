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
  client calibrate --split held-out                  # only the items the rules were not tuned on
  client calibrate labels.jsonl --min-quality 0.7 --json
  client calibrate labels.jsonl --suggest --write gates.yaml   # then: client generate --config gates.yaml
  client calibrate --base-url http://localhost:8000/v1   # with the LLM judge

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
    _add_split_and_gates(p)
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


def _add_split_and_gates(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--split",
        choices=("tuning", "held-out"),
        default=None,
        help="only the items of this part of a split set (the shipped sets have both)",
    )
    p.add_argument(
        "--suggest",
        action="store_true",
        help="learn the gates (drift, near copy, quality, judge grades) that agree best "
        "with the labels, and print them next to today's",
    )
    p.add_argument(
        "--write",
        type=Path,
        metavar="FILE",
        help="with --suggest: write the suggested gates as a config overlay that names "
        "the persona (run with --config FILE)",
    )


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
    if judged.ungraded:
        raise GyaruError(
            f"the judge could not grade {judged.ungraded} of {len(items)} items: "
            f"{judged.why_ungraded()}"
        )
    verdicts = [v for v in judged.verdicts if v is not None]
    return judge_sources(verdicts, checks, model=judged.model)


def run(args: argparse.Namespace, log_format: str, argv: list[str]) -> int:
    from client.pairs.calibration import auc, select
    from client.pairs.verdicts import scores
    from client.run.job import pair_rules, validation_context

    if args.write is not None and not args.suggest:
        raise UsageError("--write needs --suggest")
    read_from, settings = sources_and_settings(args)
    args.labels = _labels_path(args.labels, read_from.persona)
    items = select(read_labels(args.labels, settings), args.split)
    if args.suggest:
        from client.cli.calibrate_gates import run_suggest

        return run_suggest(args, read_from, settings, items)
    found = sources(args, settings, items)
    score_auc = auc(items, scores(items, validation_context(settings, pair_rules(settings))))
    report = [_result(s, items) for s in found]
    if args.json:
        out = {
            "labels": str(args.labels),
            "split": args.split,
            "items": len(items),
            "score_auc": score_auc,
        }
        sys.stdout.write(
            json.dumps({**out, "sources": report}, ensure_ascii=False, indent=2) + "\n"
        )
        return EXIT_OK
    _print(args, items, report, score_auc)
    return EXIT_OK


def _result(source: Source, items: Sequence[LabelledItem]) -> dict[str, Any]:
    from client.pairs.calibration import agreement, by_kind, kappa_interval, rates

    a = agreement(items, source.verdicts)
    return {
        "name": source.name,
        "note": source.note,
        "n": a.total,
        "confusion": {
            "good": {"accepted": a.good_accepted, "rejected": a.good_rejected},
            "bad": {"accepted": a.bad_accepted, "rejected": a.bad_rejected},
        },
        **rates(items, source.verdicts),
        "precision_accepted": a.precision,
        "recall_accepted": a.recall,
        "kappa": a.kappa,
        "kappa_interval_95": kappa_interval(items, source.verdicts),
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


def _print(
    args: argparse.Namespace,
    items: list[LabelledItem],
    report: list[dict[str, Any]],
    score_auc: float | None,
) -> None:
    from rich.markup import escape

    from client.cli.calibrate_report import interval, num, rate_line

    console = stdout_console()
    good = sum(i.good for i in items)
    part = f" (split: {args.split})" if args.split else ""
    console.print(
        f"{args.labels}{part}: {len(items)} items, {good} good, {len(items) - good} bad"
        f" ({sum(i.rule_visible for i in items)} the rules can see)"
    )
    console.print(f"quality score AUC (good ranked above bad): {num(score_auc)}")
    for r in report:
        c = r["confusion"]
        note = f" ({r['note']})" if r["note"] else ""
        console.print(f"\n[bold]{escape(r['name'])}[/bold]{escape(note)}")
        console.print(f"  {'':12} accepted rejected")
        for label in ("good", "bad"):
            console.print(f"  {label:12} {c[label]['accepted']:>8} {c[label]['rejected']:>8}")
        console.print(
            "  "
            + " · ".join(
                rate_line(name, r[key])
                for name, key in (
                    ("good kept", "good_kept"),
                    ("rule-visible bad rejected", "rule_visible_bad_rejected"),
                    ("judge-only bad rejected", "judge_only_bad_rejected"),
                )
            ),
            soft_wrap=True,
        )
        console.print(
            f"  precision of accepted {num(r['precision_accepted'])} · recall of accepted"
            f" {num(r['recall_accepted'])} · Cohen's kappa {num(r['kappa'])}"
            f"{interval(r['kappa_interval_95'])} (95 % intervals: Wilson, bootstrap; n = {r['n']})"
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
