"""Tables for people: the end-of-run summary, dataset stats, check results, bench results."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from client.errors import EXIT_OK
from client.pairs.align import MISSING
from client.run.summary import RunSummary, describe_concurrency
from client.storage.processed import DatasetStats


def _fmt_int(value: int) -> str:
    return f"{value:,}"


def diversity_line(d: dict[str, Any]) -> str:
    """distinct-1/2, the near-duplicate rate and the most repeated opening and ending."""
    parts = [f"distinct-1 {d['distinct_1']}", f"distinct-2 {d['distinct_2']}"]
    if d.get("near_duplicate_rate") is not None:
        parts.append(f"near-duplicate rate {d['near_duplicate_rate']:.1%}")
    for name in ("top_openings", "top_endings"):
        if d.get(name):
            text, count = d[name][0]
            parts.append(f"{name.removeprefix('top_')[:-1]} {text!r} x{count}")
    return " · ".join(parts)


def heading(summary: RunSummary) -> str:
    """The table's title: the run's status, in words that agree with its exit code (a
    run whose batches all answered but that kept no pair exits 1: it is no success)."""
    if summary.status == "complete" and summary.exit_code != EXIT_OK:
        return f"run {summary.run_id}: finished with no pair in the dataset"
    return f"run {summary.run_id}: {summary.status}"


def summary_table(summary: RunSummary) -> Table:
    stats = summary.stats
    table = Table(title=heading(summary), show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("model", summary.model or "-")
    table.add_row(
        "batches",
        f"{stats.batches_ok} ok, {stats.batches_truncated} truncated, {stats.batches_failed} failed"
        f" of {summary.batches_planned} planned"
        + (
            f" ({summary.batches_skipped} already done before this run)"
            if summary.batches_skipped
            else ""
        ),
    )
    table.add_row(
        "pairs",
        f"{_fmt_int(stats.pairs_unique)} in the dataset · {_fmt_int(stats.pairs_valid)} valid"
        f" of {_fmt_int(stats.items_returned)} returned ({_fmt_int(stats.pairs_requested)} requested)",
    )
    _add_outcome_rows(table, summary)
    table.add_row("topics", ", ".join(f"{t} {n}" for t, n in sorted(stats.topics.items())) or "-")
    table.add_row(
        "tokens",
        f"{_fmt_int(stats.prompt_tokens)} in, {_fmt_int(stats.completion_tokens)} out"
        + (f" ({stats.tokens_per_pair} per dataset pair)" if stats.tokens_per_pair else ""),
    )
    live = summary.live
    judge_retries = f", {live.judge_retries} judge retries" if live.judge_retries else ""
    table.add_row(
        "this invocation",
        f"{live.batches_done} batches in {summary.wall_s:.1f} s, {live.retries} retries"
        f"{judge_retries}, {summary.pairs_per_minute:,.0f} new pairs/min,"
        f" {live.tokens_per_s:,.0f} output tok/s",
    )
    if summary.concurrency:
        table.add_row("concurrency", describe_concurrency(summary.concurrency))
    if len(summary.endpoint_served) > 1:
        table.add_row(
            "endpoints", ", ".join(f"{url} {n}" for url, n in summary.endpoint_served.items())
        )
    if summary.target_pairs:
        reached = "reached" if summary.target_reached else "NOT reached (batch cap hit)"
        table.add_row("target", f"{summary.target_pairs} unique pairs: {reached}")
    for failed in stats.failed[:5]:
        table.add_row(f"failed batch {failed['batch']}", f"{failed['reason']}: {failed['message']}")
    if len(stats.failed) > 5:
        table.add_row("", f"... and {len(stats.failed) - 5} more failed batches (see the manifest)")
    for name, path in summary.files.items():
        table.add_row(name.replace("_", " "), path)
    return table


def _judge_rows(table: Table, stats: DatasetStats) -> None:
    if stats.batches_judged or stats.batches_awaiting_judge:
        judged = sum(n for r, n in stats.rejections.items() if r.startswith("judge"))
        table.add_row(
            "judge",
            f"{stats.batches_judged} batches graded, {_fmt_int(judged)} pairs turned down · "
            f"{_fmt_int(stats.judge_prompt_tokens)} tokens in, "
            f"{_fmt_int(stats.judge_completion_tokens)} out",
        )
    if stats.batches_awaiting_judge:
        table.add_row("awaiting the judge", _awaiting_row(stats))
    if stats.pairs_unjudged:
        table.add_row(
            "unjudged",
            f"{_fmt_int(stats.pairs_unjudged)} pairs in the dataset the judge never graded"
            ' (marked "unjudged": true)',
        )


AWAITING_WORDS = {
    "unreadable": "reply unreadable",
    "failed": "judge not reached",
    "stopped": "not sent: the judge had stopped",
    "not_judged": "not judged yet",
}


def _awaiting_row(stats: DatasetStats) -> str:
    """`12 pairs in 3 batches (reply unreadable 9, judge not reached 3): ...`."""
    why = ", ".join(
        f"{AWAITING_WORDS.get(reason, reason)} {n}" for reason, n in stats.awaiting_judge.items()
    )
    return (
        f"{_fmt_int(stats.pairs_awaiting_judge)} pairs in {stats.batches_awaiting_judge} batches"
        + (f" ({why})" if why else "")
        + ": left out of the dataset until a resumed run judges them"
        " (or lets them in unjudged with --no-judge)"
    )


def _add_outcome_rows(table: Table, summary: RunSummary) -> None:
    """Input lines (input runs), rejections by reason, duplicates, diversity."""
    stats = summary.stats
    inputs = stats.extra.get("inputs")
    if inputs:
        table.add_row("input lines", _inputs_row(inputs))
    # A `missing` input line is no item the model returned: the input lines row counts
    # it as pending, not as a rejection.
    rejections = [(r, n) for r, n in stats.rejections.most_common() if r != MISSING]
    reasons = ", ".join(f"{reason} {count}" for reason, count in rejections)
    rejected = sum(n for _, n in rejections)
    table.add_row("rejected", f"{rejected}" + (f" ({reasons})" if reasons else ""))
    _judge_rows(table, stats)
    dup = f"{stats.duplicates}"
    if stats.duplicates_of_earlier_runs:
        dup += f" (+{stats.duplicates_of_earlier_runs} already in earlier runs)"
    table.add_row("duplicates removed", dup)
    if stats.near_duplicates:
        table.add_row("near-duplicates removed", f"{stats.near_duplicates}")
    if stats.diversity and stats.diversity.get("lines"):
        table.add_row("diversity", diversity_line(stats.diversity))
    deciles = stats.extra.get("deciles")
    if deciles and len(deciles) > 1:
        table.add_row("by decile", _deciles_row(deciles))


def _deciles_row(deciles: list[dict[str, Any]]) -> str:
    """Near-duplicate rate and distinct-2, first decile to last."""
    near = " ".join(f"{d['near_dup_rate']:.0%}" for d in deciles)
    distinct = " ".join(
        "-" if d["distinct_2"] is None else f"{d['distinct_2']:.2f}" for d in deciles
    )
    return f"near-duplicates {near} · distinct-2 {distinct}"


def _inputs_row(inputs: dict[str, Any]) -> str:
    before = inputs["rejected_before_request"]
    after = inputs["rejected"]
    parts = [
        f"{_fmt_int(inputs['lines'])} read",
        f"{inputs['empty']} blank",
        f"{inputs['duplicates_exact'] + inputs['duplicates_normalised']} duplicate"
        f" ({inputs['duplicates_normalised']} once normalised)",
        f"{sum(before.values())} rejected unsent"
        + (f" ({', '.join(f'{k} {v}' for k, v in before.items())})" if before else ""),
        f"{_fmt_int(inputs['unique'])} sent: {_fmt_int(inputs['paired'])} paired",
        f"{sum(after.values())} rejected"
        + (f" ({', '.join(f'{k} {v}' for k, v in after.items())})" if after else ""),
        _pending(inputs),
    ]
    if inputs.get("tied_by_text"):
        parts.append(f"{_fmt_int(inputs['tied_by_text'])} tied by text (no id)")
    return " · ".join(parts)


PENDING_WORDS = {
    "missing": "no reply item tied to the line",
    "awaiting_judge": "awaiting the judge",
    "unanswered": "batch failed or not sent",
}


def _pending(inputs: dict[str, Any]) -> str:
    """`3 pending (no reply item tied to the line 2, batch failed or not sent 1)`."""
    reasons = inputs.get("pending_reasons") or {}
    said = ", ".join(f"{PENDING_WORDS.get(k, k)} {v}" for k, v in reasons.items())
    return f"{_fmt_int(inputs['pending'])} pending" + (f" ({said})" if said else "")


def print_summary(summary: RunSummary, console: Console) -> None:
    console.print(summary_table(summary))
    if summary.resume_command:
        # On a line of its own and never wrapped, so it can be copied and run as it is.
        console.print(
            f"resume with: {summary.resume_command}", soft_wrap=True, markup=False, highlight=False
        )
