"""The review as a user does it, end to end: `client review` in its own process, the
page in Debian's chromium, keys, a reload, the server killed, then `client export`
and `client stats`."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_helpers import CLIENT, env, start_review
from tests.web.browser import Watched
from tests.web.conftest import HOSTILE
from tests.web.demo import Demo, write_demo

pytestmark = pytest.mark.browser

EDITED = "あーし的に書き直したし！マジ完璧じゃん"


@pytest.fixture
def demo(tmp_path: Path) -> Demo:
    return write_demo(tmp_path / "outputs", pairs=120, extra=[dict(p) for p in HOSTILE])


@pytest.fixture
def review(demo: Demo) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc, url = start_review(demo.dataset)
    try:
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def client(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLIENT, *args, "--log-format", "json"],
        capture_output=True,
        text=True,
        env=env(),
        timeout=120,
        check=False,
    )


def test_review_then_export(
    demo: Demo, review: tuple[subprocess.Popen[str], str], watched: Watched, tmp_path: Path
) -> None:
    proc, url = review
    page = watched.page
    pairs = demo.pairs
    watched.open(url)
    # 1. move with the keys
    assert watched.current_id() == pairs[0]["id"]
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert watched.current_id() == pairs[1]["id"]
    # 2. reject one pair: the cursor moves on at once
    page.keyboard.press("r")
    watched.wait_decision(pairs[1]["id"], "rejected")
    assert watched.current_id() == pairs[2]["id"]
    # 3. edit another: Esc cancels, Enter saves
    page.keyboard.press("e")
    page.fill(".editor", "捨てる文")
    page.keyboard.press("Escape")
    assert page.locator(".editor").count() == 0
    assert page.inner_text(watched.row(pairs[2]["id"]) + " .persona") == pairs[2]["gyaru"]
    page.keyboard.press("e")
    page.fill(".editor", EDITED)
    page.keyboard.press("Enter")
    watched.wait_decision(pairs[2]["id"], "edited")
    # 4. reload: both decisions are there
    watched.open(url)
    watched.wait_decision(pairs[1]["id"], "rejected")
    watched.wait_decision(pairs[2]["id"], "edited")
    persona = page.inner_text(watched.row(pairs[2]["id"]) + " .persona")
    assert persona.startswith(EDITED)
    assert page.inner_text("#counts").startswith(f"{len(pairs)} pairs · 2 reviewed")
    # model output stayed text the whole time
    assert watched.dialogs == [] and watched.errors == []
    assert page.evaluate("window.__pwned") is None
    # 5. the server is killed, not stopped: nothing may be lost
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    # 6. export: one pair fewer, the edited line in it
    out = tmp_path / "train.jsonl"
    result = client("export", str(demo.dataset), "--format", "openai-chat", "--out", str(out))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == len(pairs) - 1
    assistant = [
        m["content"] for line in lines for m in line["messages"] if m["role"] == "assistant"
    ]
    assert EDITED in assistant
    assert pairs[1]["id"] == "hostile-img" and pairs[1]["gyaru"] not in assistant
    # Demo lines repeat (as a model's do): the edited pair's old line is one fewer.
    before = sum(1 for p in pairs if p["gyaru"] == pairs[2]["gyaru"])
    assert assistant.count(pairs[2]["gyaru"]) == before - 1
    exported = next(json.loads(e) for e in result.stderr.splitlines() if '"exported"' in e)
    assert exported["reviewed"] == 2
    assert exported["review_rejected"] == 1 and exported["edited"] == 1
    # ... and the raw dataset on request
    raw = client(
        "export", str(demo.dataset), "--format", "alpaca", "--out", str(out), "--ignore-review"
    )
    assert raw.returncode == 0, raw.stderr
    assert len(out.read_text(encoding="utf-8").splitlines()) == len(pairs)
    # 7. stats count the reviewed dataset
    stats = client("stats", str(demo.dataset), "--json", "--samples", "0")
    assert json.loads(stats.stdout)["count"] == len(pairs) - 1


def test_rescue_by_mouse_then_export_stats_and_labels(
    demo: Demo, review: tuple[subprocess.Popen[str], str], watched: Watched, tmp_path: Path
) -> None:
    proc, url = review
    page = watched.page
    watched.open(url)
    page.click("#f-rejected")
    page.select_option("#f-reason", index=1)  # the run's rejections for one reason
    rows = page.locator("#list .pair.run-rejected")
    assert rows.count() > 0 and rows.count() == page.locator("#list .pair").count()
    row = rows.first
    item_id, reason = row.get_attribute("data-pair-id"), row.get_attribute("data-reason")
    assert item_id and reason
    standard = row.locator(".standard").inner_text()
    persona = row.locator(".persona").inner_text()
    row.get_by_role("button", name="accept", exact=True).click()
    watched.wait_decision(item_id, "accepted")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    dataset_before = demo.dataset.read_bytes()
    # export: every pair, and the rescued item with them
    out = tmp_path / "train.jsonl"
    result = client("export", str(demo.dataset), "--format", "openai-chat", "--out", str(out))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == len(demo.pairs) + 1
    turns = [[m["content"] for m in line["messages"][1:]] for line in lines]
    assert [standard, persona] in turns
    exported = next(json.loads(e) for e in result.stderr.splitlines() if '"exported"' in e)
    assert exported["rescued"] == 1
    stats = client("stats", str(demo.dataset), "--json", "--samples", "0")
    assert json.loads(stats.stdout)["count"] == len(demo.pairs) + 1
    labels = tmp_path / "labels.jsonl"
    result = client("review", str(demo.dataset), "--export-labels", str(labels))
    assert result.returncode == 0, result.stderr
    (label,) = [json.loads(line) for line in labels.read_text(encoding="utf-8").splitlines()]
    assert (label["gyaru"], label["label"], label["run"], label["run_reason"]) == (
        persona,
        "good",
        "rejected",
        reason,
    )
    assert demo.dataset.read_bytes() == dataset_before, "the dataset file is untouched"
