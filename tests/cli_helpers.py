"""Running the real `client` console script as a subprocess, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import PROMPT

CLIENT = str(Path(sys.executable).parent / "client")


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def events(self) -> list[dict[str, Any]]:
        """stderr as JSON log events (fails the test if a line is not one)."""
        return [json.loads(line) for line in self.stderr.splitlines() if line.strip()]

    def event(self, name: str) -> dict[str, Any]:
        return next(e for e in self.events if e["event"] == name)

    @property
    def error(self) -> str:
        """The one error line a failed run prints (fails the test if there is not one)."""
        (error,) = [e for e in self.events if e.get("level") == "error"]
        return str(error["event"])


def env(**extra: str) -> dict[str, str]:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith("GYARU_") and k != "VLLM_API_KEY"
    }
    base.update(extra)
    return base


def gen_args(base_url: str, out: Path, *extra: str, run_id: str = "r1") -> list[str]:
    return [
        "generate",
        "--base-url",
        base_url,
        "--output-dir",
        str(out),
        "--run-id",
        run_id,
        "--system-prompt",
        str(PROMPT),
        "--log-format",
        "json",
        "--no-progress",
        *extra,
    ]


def run_client(
    args: list[str], *, timeout: float = 120, cwd: Path | None = None, **env_extra: str
) -> Result:
    done = subprocess.run(
        [CLIENT, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env(**env_extra),
        cwd=cwd,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def start_client(
    args: list[str], *, cwd: Path | None = None, **env_extra: str
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CLIENT, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(**env_extra),
        cwd=cwd,
    )


def read_until(proc: subprocess.Popen[str], event_prefix: str) -> list[str]:
    """Read the JSON log lines of a running client until one whose event starts with
    `event_prefix`: a test acts when the client has got there, not after a guessed delay."""
    assert proc.stderr is not None
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if json.loads(line)["event"].startswith(event_prefix):
            return lines
    raise AssertionError(f"the client ended without logging {event_prefix!r}: {''.join(lines)}")


def config_file(tmp: Path, text: str) -> Path:
    path = tmp / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def start_review(dataset: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    """`client review DATASET --no-browser` in its own process, and the URL it printed."""
    proc = subprocess.Popen(
        [CLIENT, "review", str(dataset), "--no-browser", "--log-format", "json", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        proc.kill()
        pytest.fail(f"no URL on stdout: {url!r} {proc.communicate()[1]}")
    return proc, url
