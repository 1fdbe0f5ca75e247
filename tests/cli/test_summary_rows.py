"""The summary table's rows for what a run left undecided: pairs waiting for the judge
(and why), pairs let in unjudged, the judge's retries apart from generation's, and
input lines no reply item was tied to (pending, not rejected)."""

from __future__ import annotations

import re
from collections import Counter

from rich.console import Console

from client.cli.run_table import heading, summary_table
from client.run.progress import LiveStats
from client.run.summary import RunSummary
from client.storage.processed import DatasetStats


def rendered(summary: RunSummary) -> str:
    console = Console(record=True, width=400)
    console.print(summary_table(summary))
    # One row a line at this width; the box characters and padding go.
    return re.sub(r" *│ *", "|", console.export_text())


def summary(stats: DatasetStats, *, status: str = "incomplete", **live: int) -> RunSummary:
    return RunSummary(
        run_id="r1",
        status=status,  # type: ignore[arg-type]
        model="m",
        endpoints=[],
        stats=stats,
        wall_s=1.0,
        batches_planned=5,
        batches_skipped=0,
        live=LiveStats(batches_planned=5, **live),
        target_pairs=None,
        files={},
    )


def test_waiting_pairs_are_counted_by_why_and_judge_retries_apart() -> None:
    stats = DatasetStats(
        batches_ok=3,
        batches_judged=1,
        batches_awaiting_judge=3,
        pairs_awaiting_judge=9,
        awaiting_judge=Counter({"unreadable": 5, "stopped": 4}),
        rejections=Counter({"judge": 1}),
    )
    text = rendered(summary(stats, retries=2, judge_retries=6))
    assert heading(summary(stats)) == "run r1: incomplete"
    assert (
        "|awaiting the judge|9 pairs in 3 batches (reply unreadable 5, not sent: the judge had"
        " stopped 4): left out of the dataset until a resumed run judges them (or lets them"
        " in unjudged with --no-judge)|"
    ) in text
    assert "3 batches in 1.0 s" not in text  # this invocation counts its own batches
    assert ", 2 retries, 6 judge retries," in text
    assert "|unjudged|" not in text


def test_pairs_let_in_unjudged_and_missing_lines_that_are_no_rejection() -> None:
    stats = DatasetStats(
        batches_ok=2,
        pairs_unique=4,
        pairs_unjudged=4,
        rejections=Counter({"missing": 2, "topic": 1}),
    )
    text = rendered(summary(stats, status="complete"))
    assert "|unjudged|4 pairs in the dataset the judge never graded" in text
    assert "|rejected|1 (topic 1)|" in text
    assert "judge retries" not in text and "|awaiting the judge|" not in text
