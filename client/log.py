"""structlog set-up: a readable console on a terminal, JSON lines otherwise.

Everything goes to stderr (stdout is for results, such as the summary table).
The stream is looked up at each write, so a live progress display that
redirects stderr prints log lines above itself instead of through itself.
Standard-library logging (httpx, openai) and warnings go through the same
renderer, so with JSON logs every stderr line is one JSON object.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Literal, TextIO

import structlog

from client.redact import structlog_processor as redact_secrets

LogFormat = Literal["auto", "console", "json"]
LEVELS = ("debug", "info", "warning", "error")


class _Stderr:
    """A file-like that writes to whatever sys.stderr is at the time."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def effective_format(fmt: LogFormat, stream: TextIO | None = None) -> Literal["console", "json"]:
    if fmt != "auto":
        return fmt
    return "console" if (stream or sys.stderr).isatty() else "json"


def configure(level: str = "info", fmt: LogFormat = "auto") -> Literal["console", "json"]:
    chosen = effective_format(fmt)
    numeric = logging.getLevelName(level.upper())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]
    renderer: Any
    if chosen == "json":
        renderer = structlog.processors.JSONRenderer(ensure_ascii=False)
        shared.append(structlog.processors.dict_tracebacks)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty(), pad_event_to=0)

    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.WriteLoggerFactory(file=_Stderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )

    # Other libraries log through the standard library: same renderer, same stream,
    # and only their warnings unless we are debugging.
    handler = logging.StreamHandler(_Stderr())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric if numeric == logging.DEBUG else logging.WARNING)
    logging.captureWarnings(True)
    return chosen
