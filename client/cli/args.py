"""What every command's arguments share: the parser class, the common flag groups, and
turning the flags a user gave into settings."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from client.errors import EXIT_USAGE
from client.log import LEVELS

if TYPE_CHECKING:
    from client.config import Settings, Sources

# flag dest -> (config section, key, flag as the user writes it)
OVERRIDES: dict[str, tuple[str, str, str]] = {
    "base_url": ("server", "base_urls", "--base-url"),
    "model": ("server", "model", "--model"),
    "wait": ("server", "wait_s", "--wait"),
    "request_timeout": ("server", "request_timeout_s", "--request-timeout"),
    "concurrency": ("generation", "concurrency", "--concurrency"),
    "max_concurrency": ("generation", "max_concurrency", "--max-concurrency"),
    "metrics_url": ("server", "metrics_urls", "--metrics-url"),
    "batches": ("generation", "total_batches", "--batches"),
    "pairs_per_batch": ("generation", "num_pairs_per_batch", "--pairs-per-batch"),
    "temperature": ("generation", "temperature", "--temperature"),
    "top_p": ("generation", "top_p", "--top-p"),
    "max_new_tokens": ("generation", "max_new_tokens", "--max-new-tokens"),
    "seed": ("generation", "seed", "--seed"),
    "send_seed": ("generation", "send_seed", "--send-seed"),
    "structured_output": ("generation", "structured_output", "--structured-output"),
    "target_pairs": ("generation", "target_pairs", "--target-pairs"),
    "max_batches": ("generation", "max_batches", "--max-batches"),
    "max_attempts": ("retry", "max_attempts", "--max-attempts"),
    "output_dir": ("output", "output_dir", "--output-dir"),
    "min_quality": ("validation", "min_quality", "--min-quality"),
    "dedup_previous": ("validation", "dedup_against_previous_runs", "--dedup-previous-runs"),
    "system_prompt": ("prompt", "system_prompt_path", "--system-prompt"),
    "rewrite_prompt": ("prompt", "rewrite_prompt_path", "--rewrite-prompt"),
    "input": ("input", "path", "--input"),
    "input_field": ("input", "field", "--input-field"),
    "avoid_phrases": ("generation", "avoid_overused", "--avoid-phrases"),
    "workers": ("generation", "workers", "--workers"),
    "judge": ("judge", "enabled", "--judge"),
    "judge_base_url": ("judge", "base_url", "--judge-base-url"),
    "judge_model": ("judge", "model", "--judge-model"),
    "judge_prompt": ("judge", "prompt_path", "--judge-prompt"),
}


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that says where to look, then exit 2."""

    def error(self, message: str) -> NoReturn:
        line = f"{self.prog}: error: {message} (see {self.prog} --help)"
        if _wants_json_logs(sys.argv[1:]):
            # Logging is not set up yet, but a JSON-log consumer still gets JSON.
            import json

            line = json.dumps({"event": line, "level": "error"}, ensure_ascii=False)
        sys.stderr.write(line + "\n")
        raise SystemExit(EXIT_USAGE)


def _wants_json_logs(argv: Sequence[str]) -> bool:
    pairs = zip(argv, [*argv[1:], ""], strict=False)
    return "--log-format=json" in argv or any(a == "--log-format" and b == "json" for a, b in pairs)


def formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def add_logging(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("output and logging")
    g.add_argument("--log-level", choices=LEVELS, default="info")
    g.add_argument(
        "--log-format",
        choices=("auto", "console", "json"),
        default="auto",
        help="console on a terminal, JSON lines otherwise (auto); logs go to stderr",
    )


PERSONA_HELP = (
    "the persona: a name `client personas` lists, or a persona folder (./my-persona); "
    "default: persona in the config, else gyaru"
)


def add_persona(
    p: argparse.ArgumentParser | argparse._ArgumentGroup, help: str = PERSONA_HELP
) -> None:
    p.add_argument("--persona", metavar="NAME|DIR", help=help)


def add_server(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("server")
    g.add_argument(
        "--config",
        type=Path,
        default=None,
        help="YAML file layered over config/generation_config.yaml and the persona",
    )
    add_persona(g)
    g.add_argument(
        "--base-url",
        action="append",
        metavar="URL",
        help="OpenAI-compatible API base URL, e.g. http://localhost:8000/v1; give it "
        "several times to spread batches over several servers",
    )
    g.add_argument("--model", help="served model name ('auto': the server's first model)")
    g.add_argument(
        "--wait",
        type=float,
        metavar="SECONDS",
        help="wait up to this long for the server to become ready (model loading)",
    )
    g.add_argument("--request-timeout", type=float, metavar="SECONDS", help="per-request timeout")


def concurrency_arg(text: str) -> int | str:
    """A level or `auto`; the range is checked with the other settings."""
    if text.strip().lower() == "auto":
        return "auto"
    if "," in text:
        raise argparse.ArgumentTypeError(
            f"one level or auto, got {text!r} (a list of levels is for client bench)"
        )
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number or auto, got {text!r}") from None


def add_batches(p: argparse.ArgumentParser, *, lists: bool = False) -> argparse._ArgumentGroup:
    """The batch flags; with `lists` (bench) --concurrency and --pairs-per-batch are left
    to the caller, which takes lists of them."""
    g = p.add_argument_group("batches")
    if not lists:
        g.add_argument(
            "--concurrency",
            type=concurrency_arg,
            metavar="N|auto",
            help="requests in flight at once, per endpoint (default 4); auto: found while "
            "the run goes, from the server's /metrics (or the client's own rate)",
        )
    g.add_argument(
        "--max-concurrency",
        type=int,
        metavar="N",
        help="the most requests in flight per endpoint --concurrency auto may reach (default 256)",
    )
    g.add_argument(
        "--metrics-url",
        action="append",
        metavar="URL",
        help="a Prometheus /metrics for --concurrency auto to read instead of the endpoint's "
        "own, e.g. each server's behind a router (give it once per server)",
    )
    g.add_argument("--batches", type=int, metavar="N", help="number of batches (default 4)")
    if not lists:
        g.add_argument(
            "--pairs-per-batch", type=int, metavar="N", help="pairs asked per batch (default 30)"
        )
    g.add_argument("--temperature", type=float)
    g.add_argument("--top-p", type=float)
    g.add_argument("--max-new-tokens", type=int, metavar="N")
    g.add_argument("--seed", type=int, help="base seed; batch i uses seed + i")
    g.add_argument(
        "--send-seed",
        action="store_true",
        default=None,
        help="send each batch's seed as the server's sampling seed (reproducible replies)",
    )
    g.add_argument(
        "--structured-output",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="JSON-schema guided decoding (default on; off for servers without it)",
    )
    return g


def add_judge(p: argparse.ArgumentParser, *, switch: bool = True) -> None:
    g = p.add_argument_group("judge")
    if switch:
        g.add_argument(
            "--judge",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="grade every batch's pairs with the LLM judge and drop those under the "
            "thresholds (default on; --no-judge skips it)",
        )
    g.add_argument(
        "--judge-base-url", metavar="URL", help="the judge's server (default: the generating one)"
    )
    g.add_argument("--judge-model", metavar="NAME", help="the judge's model (default: the same)")
    g.add_argument(
        "--judge-prompt", type=Path, metavar="FILE", help="the judge's prompt (judge.prompt_path)"
    )


def overrides_from(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, str]]:
    """Flags the user gave, as nested config sections, and their names for error messages."""
    nested: dict[str, dict[str, Any]] = {}
    names: dict[str, str] = {}
    for dest, (section, key, flag) in OVERRIDES.items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        nested.setdefault(section, {})[key] = value
        names[f"{section}.{key}"] = flag
    return dict(nested), names


def sources_and_settings(args: argparse.Namespace) -> tuple[Sources, Settings]:
    """The files the settings come from (the persona's folder among them) and the settings."""
    # Imported here: `client --help` and usage errors do not pay for pydantic.
    from client.config import build_settings, resolve

    sources = resolve(getattr(args, "config", None), getattr(args, "persona", None))
    overrides, names = overrides_from(args)
    return sources, build_settings(sources, overrides, flag_names=names)


def load_settings_from(args: argparse.Namespace) -> Settings:
    return sources_and_settings(args)[1]
