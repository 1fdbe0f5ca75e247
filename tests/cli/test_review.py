"""`client review` as a command (its server's life, its flags, the labels file) and what
a review file does to `client export` and `client stats`. The page itself is tested in
tests/web/."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from client.pairs.review import Decision, Review, RunDecision, fingerprint
from client.pairs.stored import DatasetMetadata
from client.storage.review import ReviewFile, run_rejections
from tests.cli_helpers import CLIENT, env, start_review
from tests.web.demo import Demo, write_demo


@pytest.fixture
def demo(tmp_path: Path) -> Demo:
    return write_demo(tmp_path / "outputs", pairs=20)


def decide(demo: Demo, rescue: int = 0, **verdicts: tuple[int, str | None]) -> list[str]:
    """Write a review file as the page would: verdict -> (pair index, edited line), and
    the first `rescue` items the run rejected accepted; the rescued lines."""
    decisions = {}
    for verdict, (index, line) in verdicts.items():
        pair = demo.pairs[index]
        lines = fingerprint(pair["standard"], pair["gyaru"])
        decisions[pair["id"]] = Decision(verdict, lines, "t", line)  # type: ignore[arg-type]
    items = [
        i
        for i in run_rejections(demo.dataset, DatasetMetadata({"run_id": demo.run_id}))
        if i.rescuable
    ]
    runs = {
        item.id: RunDecision(
            Decision("accepted", fingerprint(item.standard, item.gyaru), "t"), item
        )
        for item in items[:rescue]
    }
    ReviewFile.beside(demo.dataset).save(Review(decisions, runs), now="t", fsync=False)
    return [item.gyaru for item in items[:rescue]]


def client(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLIENT, *args, "--log-format", "json"],
        capture_output=True,
        text=True,
        env=env(),
        timeout=120,
        check=False,
    )


def events(stderr: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stderr.splitlines() if line.strip()]


def test_prints_the_address_and_stops_cleanly_on_ctrl_c(demo: Demo) -> None:
    proc, url = start_review(demo.dataset)
    assert url.startswith("http://127.0.0.1:") and "/?token=" in url
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    names = [e["event"] for e in events(stderr)]
    assert names == ["review server started", "review server stopped"]


def test_opens_the_browser_unless_told_not_to(demo: Demo, tmp_path: Path) -> None:
    # Python's webbrowser runs the command in $BROWSER: here one that notes the address.
    opened = tmp_path / "opened.txt"
    note = tmp_path / "browser.py"
    note.write_text(
        f"import sys, pathlib; pathlib.Path({str(opened)!r}).write_text(sys.argv[1])\n",
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [CLIENT, "review", str(demo.dataset), "--log-format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(BROWSER=f"{sys.executable} {note} %s"),
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    try:
        deadline = time.monotonic() + 30
        while not opened.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert opened.read_text(encoding="utf-8") == url
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)


def test_a_taken_port_is_a_usage_error(demo: Demo) -> None:
    proc, url = start_review(demo.dataset)
    try:
        port = url.split(":")[2].split("/")[0]
        taken = client("review", str(demo.dataset), "--no-browser", "--port", port)
        assert taken.returncode == 2
        (line,) = events(taken.stderr)
        assert str(line["event"]).startswith(f"--port {port}: cannot listen on 127.0.0.1:{port}")
    finally:
        proc.kill()
        proc.communicate()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "70000"], "a port is 0-65535"),
        (["--port", "web"], "expected a port number"),
    ],
)
def test_bad_flags(demo: Demo, args: list[str], message: str) -> None:
    result = client("review", str(demo.dataset), "--no-browser", *args)
    assert result.returncode == 2
    assert message in result.stderr


def test_a_missing_dataset_is_one_line(tmp_path: Path) -> None:
    result = client("review", str(tmp_path / "nope.json"), "--no-browser")
    assert result.returncode == 2
    (line,) = events(result.stderr)
    assert "dataset not found" in str(line["event"])


def test_export_labels(demo: Demo, tmp_path: Path) -> None:
    decide(demo, accepted=(0, None), rejected=(1, None), edited=(2, "あーし直したし"))
    out = tmp_path / "labels.jsonl"
    result = client("review", str(demo.dataset), "--export-labels", str(out))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["gyaru"], r["label"]) for r in rows] == [
        (demo.pairs[0]["gyaru"], "good"),
        (demo.pairs[1]["gyaru"], "bad"),
        (demo.pairs[2]["gyaru"], "bad"),
        ("あーし直したし", "good"),
    ]
    # The fields `client calibrate` reads, the persona it checks its config against, and
    # what the run said of the line (the person's own line it never saw).
    assert [r.get("run") for r in rows] == ["accepted", "accepted", "accepted", None]
    assert all(set(r) >= {"standard", "gyaru", "topic", "label", "persona"} for r in rows)
    # The judge's grades go with the lines it graded, never with the reviewer's own line.
    keys = ("meaning", "voice", "naturalness", "safety", "topic_ok")
    for row, pair in zip(rows[:3], demo.pairs[:3], strict=True):
        graded = {k: pair["judge"][k] for k in keys} if "judge" in pair else None
        assert row.get("judge") == graded
    assert "judge" not in rows[3]
    assert {r["persona"] for r in rows} == {"あーし系ギャル"}
    written = next(e for e in events(result.stderr) if e["event"] == "labels written")
    assert (written["rows"], written["good"], written["bad"]) == (4, 2, 2)
    assert written["good_rejected_by_run"] == 0


def test_a_rescued_item_is_a_good_label_the_run_said_was_bad(demo: Demo, tmp_path: Path) -> None:
    (rescued,) = decide(demo, rescue=1, accepted=(0, None))
    out = tmp_path / "labels.jsonl"
    result = client("review", str(demo.dataset), "--export-labels", str(out))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    row = next(r for r in rows if r["gyaru"] == rescued)
    assert (row["label"], row["run"]) == ("good", "rejected") and row["run_reason"]
    written = next(e for e in events(result.stderr) if e["event"] == "labels written")
    assert (written["rows"], written["good_rejected_by_run"]) == (2, 1)
    # calibrate reads the file as it is, extra fields and all.
    calibrated = client("calibrate", str(out), "--json")
    assert calibrated.returncode == 0, calibrated.stderr


def test_export_labels_with_nothing_reviewed(demo: Demo, tmp_path: Path) -> None:
    out = tmp_path / "labels.jsonl"
    result = client("review", str(demo.dataset), "--export-labels", str(out))
    assert result.returncode == 2
    assert "no reviewed pairs" in events(result.stderr)[0]["event"]  # type: ignore[operator]
    assert not out.exists()


def test_export_and_stats_follow_the_review(demo: Demo, tmp_path: Path) -> None:
    decide(demo, rejected=(0, None), edited=(1, "あーし直したし"))
    out = tmp_path / "a.jsonl"
    result = client("export", str(demo.dataset), "--format", "alpaca", "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len(demo.pairs) - 1
    assert rows[0]["output"] == "あーし直したし"
    exported = next(e for e in events(result.stderr) if e["event"] == "exported")
    assert (exported["reviewed"], exported["review_rejected"], exported["edited"]) == (2, 1, 1)

    stats = json.loads(client("stats", str(demo.dataset), "--json", "--samples", "0").stdout)
    assert stats["count"] == len(demo.pairs) - 1
    assert stats["review"] == {
        "reviewed": 2,
        "accepted": 0,
        "rejected": 1,
        "edited": 1,
        "rescued": 0,
        "rejection_confirmed": 0,
        "stale": 0,
    }
    table = client("stats", str(demo.dataset), "--samples", "0").stdout
    assert "2 reviewed: 1 rejected (left out), 1 edited, 0 accepted" in table

    ignored = client("stats", str(demo.dataset), "--json", "--samples", "0", "--ignore-review")
    assert json.loads(ignored.stdout)["count"] == len(demo.pairs)
    raw = client(
        "export", str(demo.dataset), "--format", "alpaca", "--out", str(out), "--ignore-review"
    )
    assert len(out.read_text(encoding="utf-8").splitlines()) == len(demo.pairs)
    assert next(e for e in events(raw.stderr) if e["event"] == "exported")["review"] == "ignored"


def test_export_and_stats_add_what_was_rescued(tmp_path: Path) -> None:
    demo = write_demo(tmp_path / "outputs", pairs=120)  # several batches: several rejections
    rescued = decide(demo, rescue=2, rejected=(0, None))
    assert len(rescued) == 2
    out = tmp_path / "a.jsonl"
    result = client("export", str(demo.dataset), "--format", "alpaca", "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len(demo.pairs) - 1 + 2
    assert [r["output"] for r in rows[-2:]] == rescued
    exported = next(e for e in events(result.stderr) if e["event"] == "exported")
    assert (exported["review_rejected"], exported["rescued"]) == (1, 2)
    stats = json.loads(client("stats", str(demo.dataset), "--json", "--samples", "0").stdout)
    assert stats["count"] == len(demo.pairs) - 1 + 2
    assert stats["review"]["rescued"] == 2
    table = client("stats", str(demo.dataset), "--samples", "0").stdout
    assert "2 rescued from the run's rejections" in table
    ignored = client("stats", str(demo.dataset), "--json", "--samples", "0", "--ignore-review")
    assert json.loads(ignored.stdout)["count"] == len(demo.pairs)
    hf = tmp_path / "hf"
    assert client("export", str(demo.dataset), "--format", "hf", "--out", str(hf)).returncode == 0
    card = (hf / "README.md").read_text(encoding="utf-8")
    assert "| rescued from the run's rejections (added) | 2 |" in card
    # dpo: each rescued pair has a row, and a rescued line is nobody's worse answer.
    dpo = tmp_path / "dpo.jsonl"
    dpo_result = client("export", str(demo.dataset), "--format", "dpo", "--out", str(dpo))
    assert dpo_result.returncode == 0, dpo_result.stderr
    rows = [json.loads(line) for line in dpo.read_text(encoding="utf-8").splitlines()]
    chosen = [r["chosen"][0]["content"] for r in rows]
    assert all(r["chosen"] != r["rejected"] for r in rows)
    # One rescued item is an `identical` one (パソコンが重いです。 as both lines):
    # with no worse answer it gets no row; the other does.
    same, other = sorted(rescued, key=lambda line: line != "パソコンが重いです。")
    assert same == "パソコンが重いです。"
    assert same not in chosen and chosen[-1] == other
    assert not {r["rejected"][0]["content"] for r in rows} & set(rescued)
    sources = next(e for e in events(dpo_result.stderr) if e["event"] == "dpo rejected lines")
    assert sources["skipped_no_worse_answer"] == 1


def test_without_a_review_file_nothing_changes(demo: Demo, tmp_path: Path) -> None:
    out = tmp_path / "a.jsonl"
    result = client("export", str(demo.dataset), "--format", "alpaca", "--out", str(out))
    assert len(out.read_text(encoding="utf-8").splitlines()) == len(demo.pairs)
    assert next(e for e in events(result.stderr) if e["event"] == "exported")["reviewed"] == 0
    stats = json.loads(client("stats", str(demo.dataset), "--json", "--samples", "0").stdout)
    assert stats["review"] is None


def test_a_damaged_review_file_stops_export(demo: Demo, tmp_path: Path) -> None:
    ReviewFile.beside(demo.dataset).path.write_text("{half", encoding="utf-8")
    out = tmp_path / "a.jsonl"
    result = client("export", str(demo.dataset), "--format", "alpaca", "--out", str(out))
    assert result.returncode == 2
    (line,) = events(result.stderr)
    assert "review file" in str(line["event"]) and "not valid JSON" in str(line["event"])
    assert not out.exists()


def test_dpo_and_hf_exports_follow_the_review(demo: Demo, tmp_path: Path) -> None:
    decide(demo, rejected=(0, None), edited=(1, "あーし直したし"))
    dpo = tmp_path / "dpo.jsonl"
    result = client("export", str(demo.dataset), "--format", "dpo", "--out", str(dpo))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in dpo.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len(demo.pairs) - 1
    # The person's line is chosen; the model's line they corrected is rejected.
    assert rows[0]["chosen"][0]["content"] == "あーし直したし"
    assert rows[0]["rejected"][0]["content"] == demo.pairs[1]["gyaru"]
    hf = tmp_path / "hf"
    result = client("export", str(demo.dataset), "--format", "hf", "--out", str(hf))
    assert result.returncode == 0, result.stderr
    card = (hf / "README.md").read_text(encoding="utf-8")
    assert "## Human review" in card and "| rejected (left out) | 1 |" in card


def test_client_calibrate_reads_the_labels_of_a_review(demo: Demo, tmp_path: Path) -> None:
    decide(demo, accepted=(0, None), rejected=(1, None), edited=(2, "あーし直したし！マジ完璧"))
    labels = tmp_path / "labels.jsonl"
    assert client("review", str(demo.dataset), "--export-labels", str(labels)).returncode == 0
    result = client("calibrate", str(labels), "--json")
    assert result.returncode == 0, result.stderr
    for source in json.loads(result.stdout)["sources"]:
        confusion = source["confusion"]
        counted = sum(n for label in ("good", "bad") for n in confusion[label].values())
        assert counted == 4, source["name"]


def test_a_line_rejected_in_review_is_the_worse_answer_of_its_standard_line(
    demo: Demo, tmp_path: Path
) -> None:
    # Another pair of the same standard line, with a persona line of its own.
    data = json.loads(demo.dataset.read_text(encoding="utf-8"))
    standard, rejected_line = demo.pairs[0]["standard"], demo.pairs[0]["gyaru"]
    kept_line = "アプデしたら画面ぜんぶ変わってて、あーしマジ焦ったし！"
    data["pairs"] = [p for p in data["pairs"] if p["standard"] != standard]
    data["pairs"] += [demo.pairs[0], {**demo.pairs[0], "id": "other", "gyaru": kept_line}]
    demo.dataset.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    decide(demo, rejected=(0, None))
    dpo = tmp_path / "dpo.jsonl"
    result = client("export", str(demo.dataset), "--format", "dpo", "--out", str(dpo))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in dpo.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len(data["pairs"]) - 1
    row = next(r for r in rows if r["prompt"][-1]["content"] == standard)
    assert row["chosen"][0]["content"] == kept_line
    assert row["rejected"][0]["content"] == rejected_line
    sources = next(e for e in events(result.stderr) if e["event"] == "dpo rejected lines")
    assert sources["rejected_from_run"] == {"rejected_in_review": 1}
