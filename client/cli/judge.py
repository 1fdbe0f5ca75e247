"""`client judge SOURCE`: grade an existing dataset with the LLM judge into a new one."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from client.cli.args import add_judge, add_logging, add_server, formatter, load_settings_from
from client.cli.shared import api_key, names_settings, stdout_console
from client.errors import UsageError

if TYPE_CHECKING:
    from client.config import Settings
    from client.run.judge_dataset import JudgeRun
    from client.storage.dataset import Dataset

log = structlog.get_logger("client.cli")

JUDGE_EXAMPLES = """\
examples:
  client judge 20261128-101500-a1b2                  # writes gyaru_dataset_20261128-101500-a1b2-judged.json
  client judge outputs/processed/old.json --out graded.json --concurrency 8
  client judge ojousama-001 --persona ojousama
  GYARU_JUDGE__MIN_MEANING=5 client judge 20261128-101500-a1b2
"""


def register(sub: Any) -> None:
    judge = sub.add_parser(
        "judge",
        help="grade an existing dataset with the LLM judge into a new one",
        description="Send the dataset's pairs to the judge in chunks of --pairs-per-batch "
        "(as many at once as --concurrency allows), keep those at or above the judge.* "
        "thresholds with their grades, and write the rejected ones with the judge's "
        "reason beside the new dataset (NAME.rejected.jsonl). The persona and judge "
        "prompt are those the dataset was made with, unless --persona or --config names "
        "another.",
        epilog=JUDGE_EXAMPLES,
        formatter_class=formatter,
    )
    judge.add_argument("source", help="a processed dataset file, or a run id")
    judge.add_argument(
        "--out", type=Path, metavar="FILE", help="default: SOURCE's name with -judged"
    )
    add_server(judge)
    add_judge(judge, switch=False)
    g = judge.add_argument_group("chunks")
    g.add_argument("--concurrency", type=int, metavar="N", help="judge requests at once")
    g.add_argument("--pairs-per-batch", type=int, metavar="N", help="pairs per judge request")
    g.add_argument("--output-dir", type=Path, metavar="DIR", help="where run ids are looked up")
    add_logging(judge)
    judge.set_defaults(handler=run)


def judge_settings(args: argparse.Namespace, dataset: Dataset, settings: Settings) -> Settings:
    """The persona the dataset was made with (its config snapshot) unless --persona or
    --config is given, and that persona's judge prompt; refuses to judge one persona's
    pairs with another persona's prompt."""
    snapshot = dataset.metadata.get("config")
    if names_settings(args) or not isinstance(snapshot, dict):
        return settings
    from pydantic import ValidationError

    from client.config import JudgeConfig, PersonaConfig

    try:
        persona = PersonaConfig.model_validate(snapshot.get("persona") or {})
        judge = JudgeConfig.model_validate(snapshot["judge"]) if "judge" in snapshot else None
    except ValidationError:
        log.warning("the dataset's config snapshot is not readable here; using the current config")
        return settings
    prompt = settings.judge.prompt_path
    if args.judge_prompt is None and judge is not None:
        prompt = judge.prompt_path
        if not prompt.is_file():
            # Datasets made before personas were folders name prompts/<...>.txt.
            raise UsageError(
                f"{dataset.path} was judged with {prompt}, which is not there any more: "
                "pass its persona with --persona NAME (or --judge-prompt FILE)"
            )
    elif args.judge_prompt is None and persona.name != settings.persona.name:
        raise UsageError(
            f"{dataset.path} was made for the persona {persona.name!r}, and its metadata does "
            "not say which judge prompt fits it: pass that persona with --persona NAME "
            "(or --judge-prompt FILE)"
        )
    return settings.model_copy(
        update={
            "persona": persona,
            "judge": settings.judge.model_copy(update={"prompt_path": prompt}),
        }
    )


def run(args: argparse.Namespace, log_format: str, argv: Sequence[str]) -> int:
    settings = load_settings_from(args)

    import anyio

    from client.run.judge_dataset import judge_dataset
    from client.storage.dataset import load_dataset
    from client.storage.layout import judged_path

    output_dir = args.output_dir or settings.output.output_dir
    dataset = load_dataset(args.source, output_dir)
    settings = judge_settings(args, dataset, settings)
    out: Path = args.out or judged_path(dataset.path)
    if out.resolve() == dataset.path.resolve():
        raise UsageError(f"--out {out}: that is the source dataset; name another file")
    key = api_key()
    judged = anyio.run(lambda: judge_dataset(settings, api_key=key, dataset=dataset, out=out))
    _report(judged)
    return judged.exit_code


def _report(judged: JudgeRun) -> None:
    result = judged.result
    reasons = ", ".join(f"{r} {n}" for r, n in result.reasons.most_common()) or "none"
    stdout_console().print(
        f"{judged.source}: {len(result.kept)} kept, {len(result.rejected)} rejected "
        f"({reasons}), {result.unjudged} not judged · judge model {judged.model}",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )
    event = log.info if result.complete else log.warning
    event(
        "judged" if result.complete else "judged in part: run it again to grade every pair",
        why=judged.why_ungraded or None,
        dataset=str(judged.out),
        rejected=str(judged.rejected),
        kept=len(result.kept),
        not_judged=result.unjudged,
        failed_chunks=result.failed_chunks,
    )
