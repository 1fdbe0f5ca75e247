"""A real browser for the review page's tests: Debian's chromium driven by Playwright.

Playwright's own browser download cannot be used here, so it launches the system
binary. Without it the browser tests are skipped with the reason, unless
REVIEW_REQUIRE_BROWSER=1 (set by .ci/run, which installs chromium) makes that a
failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page

CHROMIUM = Path(os.environ.get("REVIEW_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_or_skip() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    reason = f"no chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)"
    if os.environ.get("REVIEW_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser required (REVIEW_REQUIRE_BROWSER=1): {reason}")
    pytest.skip(reason)


class Watched:
    """A page that records what must never happen on it: dialogs, script errors."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _dialog(self, dialog: object) -> None:
        self.dialogs.append(getattr(dialog, "message", "?"))
        dialog.dismiss()  # type: ignore[attr-defined]

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_selector("body[data-ready='true']")

    def row(self, pair_id: str) -> str:
        return f"#list [data-pair-id='{pair_id}']"

    def wait_decision(self, pair_id: str, decision: str) -> None:
        self.page.wait_for_selector(f"{self.row(pair_id)}[data-decision='{decision}']")

    def current_id(self) -> str | None:
        return self.page.get_attribute("#list .current", "data-pair-id")
