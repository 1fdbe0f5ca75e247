"""The review page in a real browser (Debian chromium): text stays text, filters,
sort, paging, keys and charts (buttons, headings and the word diff: test_mouse.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from client.clock import utc_now
from client.storage.dataset import load_dataset
from client.web.server import bind, serving_in_thread
from client.web.session import open_session
from tests.web.browser import Watched
from tests.web.conftest import HOSTILE, Live
from tests.web.demo import write_demo

pytestmark = pytest.mark.browser


def test_model_output_is_inert_text(live: Live, watched: Watched) -> None:
    watched.open(live.bound.url)
    page = watched.page
    page.fill("#f-text", "<")
    page.wait_for_function("document.querySelectorAll('#list .pair').length === 2")
    for hostile in HOSTILE:
        row = page.locator(watched.row(hostile["id"]))
        assert hostile["standard"] in row.locator(".standard").inner_text()
        assert hostile["gyaru"] in row.locator(".persona").inner_text()
    assert "<b onmouseover=alert(1)>太字</b>" in page.inner_text(watched.row("hostile-img"))
    injected = page.evaluate(
        "document.querySelectorAll('#list script, #list img, #list b, #list [onerror]').length"
    )
    assert injected == 0
    assert page.evaluate("window.__pwned") is None
    assert watched.dialogs == []
    assert watched.errors == []


def test_filters_sort_and_the_rejected_toggle(live: Live, watched: Watched) -> None:
    watched.open(live.bound.url)
    page = watched.page
    count = "document.querySelectorAll('#list .pair').length"
    assert page.evaluate(count) == len(live.demo.pairs)
    page.select_option("#f-topic", "Gaming")
    topics = page.eval_on_selector_all("#list .pair .topic", "els => els.map(e => e.textContent)")
    expected = [p for p in live.demo.pairs if p["topic"] == "Gaming"]
    assert topics == ["Gaming"] * len(expected) and expected
    page.select_option("#f-topic", "")
    page.fill("#f-min", "0.9")
    scores = page.eval_on_selector_all(
        "#list .pair .score", "els => els.map(e => Number(e.textContent.split(' ')[1]))"
    )
    assert scores and min(scores) >= 0.9
    assert len(scores) == sum(1 for p in live.demo.pairs if p["quality"] >= 0.9)
    page.fill("#f-min", "")
    page.select_option("#f-sort", "quality-asc")
    scores = page.eval_on_selector_all(
        "#list .pair .score", "els => els.map(e => Number(e.textContent.split(' ')[1]))"
    )
    assert scores == sorted(scores) and scores[0] == min(p["quality"] for p in live.demo.pairs)
    rejected = list(live.session.rejected.values())
    page.check("#f-rejected")
    assert page.evaluate(count) == len(live.demo.pairs) + len(rejected)
    reason = rejected[0].reason
    page.select_option("#f-reason", reason)
    shown = page.eval_on_selector_all("#list .pair .reason", "els => els.map(e => e.textContent)")
    assert shown == [reason] * sum(1 for r in rejected if r.reason == reason)
    assert page.evaluate("document.querySelector('#list .pair').dataset.kind") == "run-rejected"


def test_paging_keys_and_help(tmp_path: Path, watched: Watched) -> None:
    demo = write_demo(tmp_path / "outputs", pairs=230)
    session = open_session(load_dataset(str(demo.dataset), demo.output_dir), clock=utc_now)
    bound = bind(0)
    with serving_in_thread(session, bound):
        watched.open(bound.url)
        page = watched.page
        assert page.inner_text("#page-info") == "1–100 of 230 shown · page 1 of 3"
        assert watched.current_id() == demo.pairs[0]["id"]
        page.click(watched.row(demo.pairs[99]["id"]))
        page.keyboard.press("j")
        assert page.inner_text("#page-info").startswith("101–200 of 230")
        assert watched.current_id() == demo.pairs[100]["id"]
        # The new page's rows get their word diff (fetched for the page shown).
        page.wait_for_selector("#list[data-words='ready']")
        assert page.locator(watched.row(demo.pairs[150]["id"]) + " .persona ins").count() > 0
        page.keyboard.press("k")
        assert watched.current_id() == demo.pairs[99]["id"]
        page.click("#next-page")
        page.click("#next-page")
        assert page.inner_text("#page-info") == "201–230 of 230 shown · page 3 of 3"
        assert page.is_disabled("#next-page")
        page.keyboard.press("?")
        assert page.is_visible("#help")
        page.keyboard.press("Escape")
        assert not page.is_visible("#help")
        page.keyboard.press("a")  # accept #201, move on to #202
        watched.wait_decision(demo.pairs[200]["id"], "accepted")
        assert watched.current_id() == demo.pairs[201]["id"]
        page.keyboard.press("u")
        watched.wait_decision(demo.pairs[200]["id"], "")
        assert watched.current_id() == demo.pairs[200]["id"]
        assert session.payload()["decisions"] == {}
        assert watched.errors == []


def test_charts_are_drawn_from_the_data(live: Live, watched: Watched) -> None:
    watched.open(live.bound.url)
    page = watched.page
    page.click("#tab-charts")
    captions = page.eval_on_selector_all(
        "#charts-view figcaption", "els => els.map(e => e.firstChild.textContent)"
    )
    assert captions == [
        "Topic balance",
        "Line lengths (characters)",
        "Quality score",
        "Judge grade (mean of the numeric grades)",
        "Rejection reasons",
        "Style markers (pairs whose persona line has it)",
        "Repeated phrases in persona lines",
    ]
    topic_bars = page.eval_on_selector_all(
        "#charts-view figure:first-child .bar title", "els => els.map(e => e.textContent)"
    )
    counts: dict[str, int] = {}
    for pair in live.demo.pairs:
        counts[pair["topic"]] = counts.get(pair["topic"], 0) + 1
    assert sorted(topic_bars) == sorted(f"{t}: {n}" for t, n in counts.items())
    assert page.evaluate("document.querySelectorAll('#charts-view svg rect').length") > 20
    assert watched.errors == []
