"""log and redact: JSON lines off a terminal, secrets never printed."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest
import structlog

from client import log as client_log
from client.redact import REDACTED, redact, redact_value, register_secret


def test_json_lines_carry_an_event_and_level(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    assert client_log.configure("info", "json") == "json"
    structlog.get_logger("t").info("batch done", batch=3, run_id="r")
    logging.getLogger("httpx").warning("from the standard library")
    lines = [json.loads(line) for line in err.getvalue().splitlines()]
    assert (
        lines[0]["event"] == "batch done" and lines[0]["batch"] == 3 and lines[0]["level"] == "info"
    )
    assert lines[1]["event"] == "from the standard library"


def test_level_filters(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    client_log.configure("warning", "json")
    structlog.get_logger("t").info("quiet")
    structlog.get_logger("t").warning("loud")
    assert [json.loads(line)["event"] for line in err.getvalue().splitlines()] == ["loud"]


def test_auto_format_follows_the_terminal() -> None:
    assert client_log.effective_format("auto", io.StringIO()) == "json"
    assert client_log.effective_format("console", io.StringIO()) == "console"


def test_secrets_are_redacted_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    register_secret("sk-top-secret-9")
    assert redact("key sk-top-secret-9 here") == f"key {REDACTED} here"
    assert redact_value({"a": ["sk-top-secret-9"], "b": 1}) == {"a": [REDACTED], "b": 1}
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    client_log.configure("info", "json")
    structlog.get_logger("t").error("failed with sk-top-secret-9", detail={"k": "sk-top-secret-9"})
    assert "sk-top-secret-9" not in err.getvalue()
