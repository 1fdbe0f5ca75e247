"""The command line: parse, build settings, set up logging, run, map the outcome to an exit code.

Exit codes: 0 done, 1 the run failed or is incomplete (server down, batches
failed), 2 bad usage or configuration, 130/143 interrupted by SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import structlog

from client import __version__
from client.errors import EXIT_FAILED, EXIT_SIGINT, EXIT_USAGE, GyaruError
from client.log import LEVELS

log = structlog.get_logger("client.cli")

# flag dest -> (config section, key, flag as the user writes it)
OVERRIDES: dict[str, tuple[str, str, str]] = {
    "base_url": ("server", "base_urls", "--base-url"),
    "model": ("server", "model", "--model"),
    "wait": ("server", "wait_s", "--wait"),
    "request_timeout": ("server", "request_timeout_s", "--request-timeout"),
    "concurrency": ("generation", "concurrency", "--concurrency"),
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
}


class _Parser(argparse.ArgumentParser):
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


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def _add_logging(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("output and logging")
    g.add_argument("--log-level", choices=LEVELS, default="info")
    g.add_argument(
        "--log-format",
        choices=("auto", "console", "json"),
        default="auto",
        help="console on a terminal, JSON lines otherwise (auto); logs go to stderr",
    )


def _add_server(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("server")
    g.add_argument(
        "--config",
        type=Path,
        default=None,
        help="YAML config (default: config/generation_config.yaml when it exists)",
    )
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


def _add_batches(
    p: argparse.ArgumentParser, *, concurrency: bool = True
) -> argparse._ArgumentGroup:
    g = p.add_argument_group("batches")
    if concurrency:
        g.add_argument(
            "--concurrency",
            type=int,
            metavar="N",
            help="requests in flight at once, per endpoint (default 4)",
        )
    g.add_argument("--batches", type=int, metavar="N", help="number of batches (default 4)")
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


GENERATE_EXAMPLES = """\
examples:
  client generate --concurrency 4
  client generate --batches 40 --pairs-per-batch 30 --concurrency 8 --wait 600
  client generate --target-pairs 5000 --max-batches 400
  client generate --run-id 20261128-101500-a1b2      # resume: only unfinished batches run
  client generate --base-url http://gpu1:8000/v1 --base-url http://gpu2:8000/v1
"""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="client",
        description="Generate standard-Japanese / gyaru-speech sentence pairs from a "
        "self-hosted vLLM (OpenAI-compatible) server.",
        formatter_class=_formatter,
        epilog="Run `client COMMAND --help` for each command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    gen = sub.add_parser(
        "generate",
        help="generate the dataset (all batches concurrently)",
        description="Send every batch to the server (at most --concurrency in flight per "
        "endpoint), validate the pairs, write raw batch files and the processed dataset.",
        epilog=GENERATE_EXAMPLES,
        formatter_class=_formatter,
    )
    _add_server(gen)
    _add_batches(gen)
    g = gen.add_argument_group("run")
    g.add_argument("--output-dir", type=Path, metavar="DIR", help="default: outputs")
    g.add_argument("--run-id", metavar="ID", help="name of the run; an existing one is resumed")
    g.add_argument("--target-pairs", type=int, metavar="N", help="keep going until N unique pairs")
    g.add_argument("--max-batches", type=int, metavar="N", help="batch cap for --target-pairs")
    g.add_argument("--max-attempts", type=int, metavar="N", help="attempts per batch")
    g.add_argument(
        "--min-quality", type=float, metavar="Q", help="drop pairs scoring below Q (0-1)"
    )
    g.add_argument("--system-prompt", type=Path, metavar="FILE", help="system prompt template")
    g.add_argument(
        "--dedup-previous-runs",
        dest="dedup_previous",
        action="store_true",
        default=None,
        help="also drop pairs already in earlier datasets of the output dir",
    )
    g.add_argument("--no-progress", action="store_true", help="no live progress display")
    _add_logging(gen)
    gen.set_defaults(handler=_run_generate)

    from client.cli import commands

    commands.register(
        sub,
        formatter=_formatter,
        add_server=_add_server,
        add_batches=_add_batches,
        add_logging=_add_logging,
    )
    return parser


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


def load_settings_from(args: argparse.Namespace) -> Any:
    from client.config import load_settings

    overrides, names = overrides_from(args)
    return load_settings(getattr(args, "config", None), overrides, flag_names=names)


def stdout_console() -> Any:
    from rich.console import Console

    # Piped output (a log file, CI) gets wide tables instead of wrapped cells.
    return Console(width=None if sys.stdout.isatty() else 160)


def show_progress(args: argparse.Namespace, log_format: str) -> bool:
    return (
        not getattr(args, "no_progress", False) and log_format == "console" and sys.stderr.isatty()
    )


def _run_generate(args: argparse.Namespace, log_format: str, argv: Sequence[str]) -> int:
    # Settings first: a bad config fails before the slow imports (the OpenAI SDK).
    settings = load_settings_from(args)
    if args.run_id is not None:
        from client.storage.runstore import check_run_id

        check_run_id(args.run_id)

    import anyio
    from rich.console import Console

    from client.cli.run_table import print_summary
    from client.config import api_key_from_env
    from client.redact import register_secret
    from client.run.generate import generate
    from client.run.progress import LiveStats, ProgressObserver

    api_key = api_key_from_env()
    register_secret(api_key.get_secret_value() if api_key else None)
    make_observer: Callable[[LiveStats], Any] | None = None
    if show_progress(args, log_format):
        err = Console(stderr=True)

        def make_observer(live: LiveStats) -> ProgressObserver:
            return ProgressObserver(
                live, console=err, target_pairs=settings.generation.target_pairs
            )

    summary = anyio.run(
        lambda: generate(
            settings, api_key=api_key, run_id=args.run_id, argv=argv, make_observer=make_observer
        )
    )
    print_summary(summary, stdout_console())
    if summary.status == "complete" and summary.stats.pairs_unique == 0:
        log.error(
            "no pair survived validation; see the rejection reasons above and in the raw files",
            rejections=dict(summary.stats.rejections),
        )
    event = log.info if summary.status == "complete" else log.warning
    event(
        "run finished",
        run_id=summary.run_id,
        status=summary.status,
        pairs=summary.stats.pairs_unique,
        failed_batches=summary.stats.batches_failed,
        processed=summary.files.get("processed"),
        resume=summary.resume_command,
    )
    return summary.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)

    from client.log import configure

    log_format = configure(args.log_level, args.log_format)
    try:
        code: int = args.handler(args, log_format, argv)
    except GyaruError as exc:
        log.error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        log.warning("interrupted")
        return EXIT_SIGINT
    except Exception as exc:
        # A bug, not bad input: say so in one line; --log-level debug shows where.
        log.error(
            f"internal error: {type(exc).__name__}: {exc}",
            exc_info=args.log_level == "debug",
        )
        return EXIT_FAILED
    return code


if __name__ == "__main__":
    raise SystemExit(main())
