"""The review page for a person with a mouse, in Debian's chromium: buttons on every row,
the keys after a click on any control, column headings, the word diff, rescuing what
the run rejected, and the disagreements-first view."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator

from client.clock import utc_now
from client.config import load_settings
from client.pairs.rescue import RunItem
from client.storage.dataset import load_dataset
from client.web.server import bind, serving_in_thread
from client.web.session import open_session
from tests.web.browser import Watched
from tests.web.conftest import KNOWN, Live
from tests.web.demo import write_demo

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]


def button(watched: Watched, item_id: str, name: str) -> Locator:
    return watched.page.locator(watched.row(item_id)).get_by_role("button", name=name, exact=True)


def focused_id(watched: Watched) -> str | None:
    return watched.page.evaluate("document.activeElement.dataset.pairId || null")  # type: ignore[no-any-return]


def test_deciding_with_the_buttons_alone(live: Live, watched: Watched) -> None:
    watched.open(live.bound.url)
    page = watched.page
    first, second, third = (p["id"] for p in live.demo.pairs[3:6])
    # Every decidable row has real buttons named for what they do; undo once decided.
    rows = page.locator("#list .pair").count()
    for name in ("accept", "reject", "edit"):
        assert page.get_by_role("button", name=name, exact=True).count() == rows
    assert page.get_by_role("button", name="undo", exact=True).count() == 0
    assert button(watched, first, "reject").evaluate("b => b.tagName") == "BUTTON"

    button(watched, first, "reject").click()
    watched.wait_decision(first, "rejected")
    assert live.session.saved.decisions[first].verdict == "rejected"
    assert focused_id(watched) == first, "focus is back on the list, on the row"
    button(watched, first, "undo").click()
    watched.wait_decision(first, "")
    assert first not in live.session.saved.decisions
    assert button(watched, first, "undo").count() == 0

    button(watched, second, "edit").click()
    page.locator(".editor").fill("あーし的にマウスで直したし！")
    button(watched, second, "save").click()
    watched.wait_decision(second, "edited")
    assert live.session.saved.decisions[second].gyaru == "あーし的にマウスで直したし！"
    button(watched, third, "accept").click()
    watched.wait_decision(third, "accepted")
    assert page.inner_text("#counts").startswith(f"{len(live.demo.pairs)} pairs · 2 reviewed")
    assert watched.errors == []


def test_focus_is_visible_on_the_row_and_on_its_buttons(live: Live, watched: Watched) -> None:
    watched.open(live.bound.url)
    page = watched.page
    first = live.demo.pairs[0]["id"]
    assert focused_id(watched) == first
    page.keyboard.press("Tab")
    style = page.evaluate(
        "(() => { const b = document.activeElement; const s = getComputedStyle(b);"
        " return [b.textContent, b.matches(':focus-visible'), s.outlineStyle, s.outlineWidth]; })()"
    )
    assert style == ["accepta", True, "solid", "3px"]  # the button, and its key hint
    assert page.evaluate("document.activeElement.closest('.pair').dataset.pairId") == first


def test_the_keys_work_after_a_click_on_any_control(live: Live, watched: Watched) -> None:
    watched.open(live.bound.url)
    page = watched.page
    pairs = [p["id"] for p in live.demo.pairs]

    page.click("#f-rejected")  # a checkbox: it keeps focus unless the page hands it back
    assert page.is_checked("#f-rejected")
    page.keyboard.press("j")
    assert watched.current_id() == pairs[1]
    page.keyboard.press("a")
    watched.wait_decision(pairs[1], "accepted")
    assert page.inner_text("#counts").startswith(f"{len(pairs)} pairs · 1 reviewed")
    assert watched.current_id() == pairs[2]

    page.select_option("#f-sort", "quality-desc")
    page.keyboard.press("j")
    assert page.evaluate("document.querySelector('#list .current').dataset.position") == "1"
    page.select_option("#f-sort", "order")

    page.click("#f-text")
    page.keyboard.type("あーし")  # a field keeps its keys: "a" is typed, not a decision
    assert page.input_value("#f-text") == "あーし"
    page.keyboard.press("Escape")  # Esc leaves the field for the list
    page.keyboard.press("j")
    assert page.evaluate("document.querySelector('#list .current').dataset.position") == "1"
    page.fill("#f-text", "")
    page.keyboard.press("Escape")

    for control in ("#tab-charts", "#tab-pairs", "#show-help", "#help button"):
        page.click(control)
    page.keyboard.press("j")
    assert watched.current_id() == pairs[1]
    page.keyboard.press("r")
    watched.wait_decision(pairs[1], "rejected")
    assert watched.errors == []


def test_column_headings_name_the_standard_line_and_the_persona(
    live: Live, watched: Watched, tmp_path: Path
) -> None:
    watched.open(live.bound.url)
    page = watched.page
    assert page.inner_text("#head-standard") == "standard"
    assert page.inner_text("#head-persona") == "あーし系ギャル"
    # Each heading stands over its column.
    for head, cell in (("#head-standard", ".standard"), ("#head-persona", ".persona")):
        heading = page.locator(head).bounding_box()
        column = page.locator(f"#list .pair:first-child {cell}").bounding_box()
        assert heading and column and abs(heading["x"] - column["x"]) < 2
    # Another persona's dataset: its name, from the config it was made with.
    settings = load_settings(persona="ojousama")
    demo = write_demo(tmp_path / "other", pairs=5, settings=settings)
    session = open_session(load_dataset(str(demo.dataset), demo.output_dir), clock=utc_now)
    bound = bind(0)
    with serving_in_thread(session, bound):
        watched.open(bound.url)
        assert page.inner_text("#head-persona") == "お嬢様"


def test_the_word_diff_of_a_known_pair(live: Live, watched: Watched) -> None:
    watched.open(live.bound.url)
    row = watched.page.locator(watched.row(KNOWN["id"]))
    assert row.get_attribute("data-words") == "ready"

    def texts(selector: str) -> list[str]:
        return row.locator(selector).all_inner_texts()

    assert texts(".persona ins.voice") == ["あーし", "スマホ", "んだけど、マジ", "てウケる〜"]
    assert texts(".persona ins.content") == ["ずっと", "終わんなく"]
    assert texts(".standard del.voice") == ["は", "スマートフォン", "を", "いまし", "。"]
    assert texts(".standard del.content") == []
    assert row.locator(".standard").inner_text() == KNOWN["standard"]
    assert row.locator(".persona").inner_text() == KNOWN["gyaru"]


def test_every_row_gets_its_word_diff(live: Live, watched: Watched) -> None:
    watched.open(live.bound.url)
    page = watched.page
    assert page.get_attribute("#list", "data-words") == "ready"
    for pair in live.demo.pairs[:10]:
        row = page.locator(watched.row(pair["id"]))
        assert row.locator(".standard").inner_text() == pair["standard"]
        assert row.locator(".persona").inner_text() == pair["gyaru"]
        # What is not marked is the same in both columns: the words they share.
        common = [
            row.locator(f".{cell}").evaluate(
                "el => [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('')"
            )
            for cell in ("standard", "persona")
        ]
        assert common[0] == common[1] != ""
        assert row.locator(".persona ins").count() > 0


def test_rescuing_what_the_run_rejected(live: Live, watched: Watched) -> None:
    watched.open(live.bound.url)
    page = watched.page
    page.click("#f-rejected")
    items = list(live.session.rejected.values())
    item = next(i for i in items if i.rescuable)
    row = page.locator(watched.row(item.id))
    assert row.get_attribute("data-reason") == item.reason
    assert row.get_attribute("data-kind") == "run-rejected"
    button(watched, item.id, "accept").click()
    watched.wait_decision(item.id, "accepted")
    assert row.locator(".badge").inner_text() == "rescued"
    saved = live.session.saved.run_items[item.id]
    assert (saved.decision.verdict, saved.item.standard) == ("accepted", item.standard)
    assert "1 rescued from the run's rejections" in page.inner_text("#counts")
    assert "export and stats now include it" in page.inner_text("#status")
    button(watched, item.id, "undo").click()
    watched.wait_decision(item.id, "")
    assert item.id not in live.session.saved.run_items


def expected_disagreements(
    pairs: list[dict[str, Any]], items: list[RunItem]
) -> list[tuple[bool, str]]:
    """The order the page must show, each with whether it is a disagreement: where the
    checks, the judge and the person disagree, then the lowest judge grade above its
    minimum (here nothing is decided yet)."""
    minimum = {"meaning": 4, "voice": 3, "naturalness": 3, "safety": 4}

    def margin(judge: Any) -> int | None:
        if not isinstance(judge, dict):
            return None
        values = [judge[k] - m for k, m in minimum.items() if isinstance(judge.get(k), int)]
        return min(values) if values else None

    rows = [(True, margin(p.get("judge")), p["id"]) for p in pairs]
    rows += [(i.checks, margin(i.judge.to_json() if i.judge else None), i.id) for i in items]
    keyed = []
    for index, (checks, low, item_id) in enumerate(rows):
        judge = False if item_id in {i.id for i in items if i.reason == "judge"} else None
        judge = judge if judge is not None else (None if low is None else low >= 0)
        disagree = {checks, judge} >= {True, False}
        keyed.append(((0 if disagree else 1, 99 if low is None else low, index), item_id))
    return [(key[0] == 0, item_id) for key, item_id in sorted(keyed)]


def test_disagreements_come_first(live: Live, watched: Watched) -> None:
    watched.open(live.bound.url)
    page = watched.page
    page.select_option("#f-sort", "disagree")
    assert page.is_checked("#f-rejected"), "the run's rejections join the view"
    items = list(live.session.rejected.values())
    shown = page.eval_on_selector_all("#list .pair", "els => els.map(e => e.dataset.pairId)")
    expected = expected_disagreements(live.demo.pairs, items)
    assert shown == [item_id for _, item_id in expected][:100]
    disagreements = [item_id for disagree, item_id in expected if disagree]
    # The judge turned these down after the checks let them through.
    judged_down = [i.id for i in items if i.reason == "judge"]
    assert judged_down and set(judged_down) <= set(disagreements)
    assert shown[: len(disagreements)] == disagreements
    # A pair the person rejects is a disagreement with the checks from then on.
    ids = {p["id"] for p in live.demo.pairs}
    last = next(item_id for item_id in reversed(shown) if item_id in ids)
    button(watched, last, "reject").click()
    watched.wait_decision(last, "rejected")
    page.select_option("#f-sort", "order")
    page.select_option("#f-sort", "disagree")
    shown = page.eval_on_selector_all("#list .pair", "els => els.map(e => e.dataset.pairId)")
    assert last in shown[: len(disagreements) + 1]
