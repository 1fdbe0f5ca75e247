"""The command line: parse, build settings, set up logging, run, map the outcome to an exit code.

Exit codes: 0 done, 1 the run failed or is incomplete (server down, batches
failed), 2 bad usage or configuration, 130/143 interrupted by SIGINT/SIGTERM.

This module imports every command; no command imports it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import structlog

from client import __version__
from client.cli import bench, calibrate, check, export, generate, judge, personas, review, stats
from client.cli.args import Parser, formatter
from client.errors import EXIT_FAILED, EXIT_SIGINT, GyaruError

log = structlog.get_logger("client.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="client",
        description="Generate standard-Japanese / gyaru-speech sentence pairs from a "
        "self-hosted vLLM (OpenAI-compatible) server.",
        formatter_class=formatter,
        epilog="Run `client COMMAND --help` for each command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for command in (generate, check, export, stats, review, bench, judge, calibrate, personas):
        command.register(sub)
    return parser


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
