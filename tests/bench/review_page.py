"""The review page at scale: first paint and filtering in headless chromium.

    uv run python -m tests.bench.review_page [--pairs 20000] [--repeat 5]

A demo run of N pairs (tests/web/demo.py) is served by the real review server in
this process; Debian's chromium loads the page through Playwright. Printed, in
milliseconds (median of --repeat page loads / filter changes):

- server: loading the dataset and building the session; answering /api/data; the
  word diff of one page of 100 rows (/api/words, the analyser run on 200 lines), cold
- first paint: navigation start to the first page of rows painted with their word
  diff (a mark the page sets a task after the frame that shows them), with the steps
  on the way: Chromium's first-contentful-paint (the page's frame), the data fetched
  and parsed, the items built, the first page of rows built, those rows on screen as
  plain text, their words fetched
- each interaction (text search, topic, decision filter, sort, next page, charts):
  the event dispatched to the new rows painted, and to their word diff painted (the
  same when the page already had the words)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, sync_playwright

from client.clock import utc_now
from client.storage.dataset import load_dataset
from client.web.server import Bound, bind, serving_in_thread
from client.web.session import ReviewSession, open_session
from tests.bench.common import machine
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS
from tests.web.demo import write_demo

# Each: (name, control id, value, event). The timer runs from the change to a task
# after the next frame, i.e. until the new rows (or charts) are on screen. The
# page's content security policy forbids eval, so actions are data, not code.
INTERACTIONS: tuple[tuple[str, str, str | bool | None, str], ...] = (
    ("search 'ラーメン'", "f-text", "ラーメン", "input"),
    ("clear search", "f-text", "", "input"),
    ("topic = Gaming", "f-topic", "Gaming", "change"),
    ("topic = all", "f-topic", "", "change"),
    ("score >= 0.9", "f-min", "0.9", "input"),
    ("score: any", "f-min", "", "input"),
    ("decision = undecided", "f-decision", "undecided", "change"),
    ("decision = all", "f-decision", "", "change"),
    ("sort by score", "f-sort", "quality-asc", "change"),
    ("dataset order", "f-sort", "order", "change"),
    ("show run rejections", "f-rejected", True, "change"),
    ("hide run rejections", "f-rejected", False, "change"),
    ("next page", "next-page", None, "click"),
    ("charts tab", "tab-charts", None, "click"),
    ("pairs tab", "tab-pairs", None, "click"),
)
RESET = ("pairs tab", "tab-pairs", None, "click")

TIMED = """async ([name, id, value, type]) => {
  const el = document.getElementById(id);
  const list = document.getElementById('list');
  const painted = () => new Promise((done) => requestAnimationFrame(() => setTimeout(done)));
  const start = performance.now();
  if (type === 'click') el.click();
  else {
    if (typeof value === 'boolean') el.checked = value; else el.value = value;
    el.dispatchEvent(new Event(type, {bubbles: true}));
  }
  await painted();
  const rows = performance.now() - start;
  // Then the rows' word diff, when the change needs words the page does not have yet.
  if (list.dataset.words === 'pending') {
    while (list.dataset.words === 'pending') await new Promise((done) => setTimeout(done, 2));
    await painted();
  }
  return [rows, performance.now() - start];
}"""


MARKS = (
    "first-contentful-paint",
    "review-fetched",
    "review-loaded",
    "review-rendered",
    "review-rows",
    "review-words",
    "review-painted",
)


def first_paint(page: Page, url: str) -> dict[str, float]:
    """Milliseconds from navigation start to each mark of the page's start."""
    page.goto(url)
    page.wait_for_selector("body[data-ready='true']", timeout=60_000)
    found: dict[str, float] = page.evaluate(
        "(names) => Object.fromEntries(names.map(n => "
        "[n, (performance.getEntriesByName(n)[0] || {startTime: NaN}).startTime]))",
        list(MARKS),
    )
    return found


def words_ms(session: ReviewSession, bound: Bound, pairs: list[dict[str, Any]]) -> float:
    """One page's word diff, analysed afresh (median of 5): the demo's lines repeat, so
    the server's cache of diffs would otherwise answer most of them."""
    url = f"http://127.0.0.1:{bound.port}/api/words"
    timings = []
    with httpx.Client(trust_env=False, headers={"X-Review-Token": bound.token}) as http:
        for page in range(5):
            ids = [p["id"] for p in pairs[1000 + page * 100 : 1100 + page * 100]]
            session.clear_words()
            t = time.perf_counter()
            http.post(url, json={"ids": ids}).raise_for_status()
            timings.append((time.perf_counter() - t) * 1000)
    return statistics.median(timings)


def measure(pairs: int, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        demo = write_demo(Path(tmp) / "outputs", pairs=pairs)
        started = time.perf_counter()
        session = open_session(load_dataset(str(demo.dataset), demo.output_dir), clock=utc_now)
        load_ms = (time.perf_counter() - started) * 1000
        bound = bind(0)
        results: dict[str, Any] = {
            "pairs": pairs,
            "run rejections": len(session.rejected),
            "server load ms": load_ms,
        }
        with serving_in_thread(session, bound), sync_playwright() as playwright:
            data_url = f"http://127.0.0.1:{bound.port}/api/data?token={bound.token}"
            timings, size = [], 0
            with httpx.Client(trust_env=False) as http:
                for _ in range(repeat):
                    t = time.perf_counter()
                    size = len(http.get(data_url).content)
                    timings.append((time.perf_counter() - t) * 1000)
            results["/api/data ms"] = statistics.median(timings)
            results["/api/data MB"] = size / 1e6
            results["/api/words 100 rows ms"] = words_ms(session, bound, demo.pairs)
            session.clear_words()
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            loads = [first_paint(page, bound.url) for _ in range(repeat)]
            for mark in MARKS:
                name = "first paint (rows on screen)" if mark == "review-painted" else mark
                results[name + " ms"] = statistics.median(load[mark] for load in loads)
            for action in INTERACTIONS:
                runs = []
                for _ in range(repeat):
                    runs.append(page.evaluate(TIMED, list(action)))
                    page.evaluate(TIMED, list(RESET))
                rows = statistics.median(r[0] for r in runs)
                words = statistics.median(r[1] for r in runs)
                results[action[0] + " ms (rows / words)"] = f"{rows:.0f} / {words:.0f}"
            browser.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(machine())
    for name, value in measure(args.pairs, args.repeat).items():
        print(f"{name:40} {value:10.1f}" if isinstance(value, float) else f"{name:40} {value:>10}")


if __name__ == "__main__":
    main()
