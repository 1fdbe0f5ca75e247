from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from client.clock import utc_now
from client.storage.dataset import load_dataset
from client.web.server import Bound, bind, serving_in_thread
from client.web.session import ReviewSession, open_session
from tests.web.browser import CHROMIUM_ARGS, Watched, chromium_or_skip
from tests.web.demo import Demo, write_demo

# Model output that would run or load something if the page ever treated it as markup.
HOSTILE = [
    {
        "id": "hostile-script",
        "topic": "Tech",
        "standard": "<script>window.__pwned = 1; alert('x')</script>スクリプトです。",
        "gyaru": "あーし<script>window.__pwned = 2</script>スクリプトだし！",
        "quality": 0.5,
    },
    {
        "id": "hostile-img",
        "topic": "Daily",
        "standard": '<img src="x" onerror="window.__pwned = 3">画像です。',
        "gyaru": 'あーし<img src=x onerror="alert(1)">画像だし〜',
        "quality": 0.4,
        "judge": {"meaning": 2, "reason": "<b onmouseover=alert(1)>太字</b>"},
    },
]


# A pair whose word diff is known (tests/pairs/test_worddiff.py has it word by word).
KNOWN = {
    "id": "known-pair",
    "topic": "Tech",
    "standard": "今日は新しいスマートフォンの設定をしていました。",
    "gyaru": "あーし今日ずっと新しいスマホの設定してたんだけど、マジ終わんなくてウケる〜",
    "quality": 0.9,
}


# One client for every test: building one per request (its TLS context above all)
# costs more than the requests themselves.
_HTTP = httpx.Client(trust_env=False)


@dataclass
class Live:
    demo: Demo
    session: ReviewSession
    bound: Bound

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.bound.port}"

    @property
    def http(self) -> httpx.Client:
        return _HTTP

    @property
    def token(self) -> str:
        return self.bound.token

    def auth(self, **headers: str) -> dict[str, str]:
        return {"X-Review-Token": self.token, **headers}


@pytest.fixture
def demo(tmp_path: Path) -> Demo:
    return write_demo(tmp_path / "outputs", pairs=40, extra=[dict(p) for p in [*HOSTILE, KNOWN]])


@pytest.fixture
def live(demo: Demo) -> Iterator[Live]:
    dataset = load_dataset(str(demo.dataset), demo.output_dir)
    session = open_session(dataset, clock=utc_now, fsync=False)
    bound = bind(0)
    with serving_in_thread(session, bound):
        yield Live(demo, session, bound)


# Per module, not per session: Playwright's sync API keeps an event loop running in
# this thread while it is open, and an async test (pytest-asyncio) cannot start its
# own loop beside it.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium_or_skip()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    watched = Watched(page)
    try:
        yield watched
    finally:
        context.close()
