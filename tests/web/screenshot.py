"""The README's pictures of the review page, taken in Debian's chromium from a demo run.

    uv run python -m tests.web.screenshot [--out docs]

Writes docs/review.png (the pairs, a few of them decided), docs/review-disagreements.png
(the disagreements-first view, one of the run's rejections rescued) and
docs/review-charts.png.
Japanese needs a CJK font on the machine (Debian: fonts-noto-cjk; .ci/run installs it).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from client.storage.dataset import load_dataset
from client.web.server import bind, serving_in_thread
from client.web.session import open_session
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS
from tests.web.demo import write_demo


def take(out: Path) -> list[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        demo = write_demo(Path(tmp) / "outputs", pairs=1200, seed=11)
        dataset = load_dataset(str(demo.dataset), demo.output_dir)
        session = open_session(dataset, clock=lambda: "2026-11-28T11:00:00.000Z", fsync=False)
        ids = [p["id"] for p in demo.pairs]
        session.decide(ids[0], "accepted", None)
        session.decide(ids[1], "accepted", None)
        session.decide(ids[2], "rejected", None)
        edited = demo.pairs[3]["gyaru"].replace("あーし", "あーし的に", 1).rstrip("。") + "〜"
        session.decide(ids[3], "edited", edited)
        bound = bind(0)
        with serving_in_thread(session, bound), sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 860})
            page.goto(bound.url)
            page.wait_for_selector("body[data-ready='true']")
            for key in "jjj":
                page.keyboard.press(key)
            page.evaluate("window.scrollTo(0, 0)")
            pairs_png = out / "review.png"
            page.screenshot(path=str(pairs_png))
            # Disagreements first: the judge's rejections of pairs the checks let
            # through lead. One changed the meaning (rejected, as the judge said);
            # one the judge found too stiff reads fine (rescued).
            page.select_option("#f-sort", "disagree")
            page.wait_for_selector("#list[data-words='ready']")
            stiff = page.locator("#list .pair", has_text="まったり").first
            wrong = stiff.locator("xpath=preceding-sibling::article[1]")
            wrong.get_by_role("button", name="reject", exact=True).click()
            stiff.get_by_role("button", name="accept", exact=True).click()
            page.wait_for_selector("#list .pair[data-decision='accepted'] .badge")
            wrong.evaluate("row => row.scrollIntoView()")
            page.mouse.move(0, 0)
            disagreements_png = out / "review-disagreements.png"
            page.screenshot(path=str(disagreements_png))
            # A window tall enough for every chart (a full-page capture would show the
            # status line, which sticks to the window's bottom, over the charts).
            page.set_viewport_size({"width": 1400, "height": 1440})
            page.click("#tab-charts")
            page.wait_for_selector("#charts-view svg")
            charts_png = out / "review-charts.png"
            page.screenshot(path=str(charts_png))
            browser.close()
    return [pairs_png, disagreements_png, charts_png]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs"))
    for path in take(parser.parse_args().out):
        print(path)


if __name__ == "__main__":
    main()
