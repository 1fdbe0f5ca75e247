"""The rows and the dataset card (README.md) of a Hugging Face dataset export. Pure.

Rows keep the pair's own fields, the input line a pair was rewritten from (runs with
`--input`), the judge's grades flattened into `judge_<name>` columns, and a ready
`messages` column (system, user: standard line, assistant: persona line) that TRL's
SFTTrainer and most chat fine-tuning scripts take as it is.

The card's YAML header points the Hub loader at the parquet files (so the folder can
be uploaded as it is) and leaves the licence for the user to choose.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

PAIR_COLUMNS = ("id", "topic", "standard", "gyaru", "quality", "batch", "generated_at")
INPUT_COLUMNS = ("input_line",)


def judge_columns(judge: Any) -> dict[str, Any]:
    """The judge's scalar grades as flat columns; nested values are left out."""
    if not isinstance(judge, dict):
        return {}
    return {
        f"judge_{key}": value
        for key, value in judge.items()
        if isinstance(value, str | int | float | bool) or value is None
    }


def hf_row(pair: Mapping[str, Any], *, system: str | None) -> dict[str, Any]:
    row = {name: pair.get(name) for name in PAIR_COLUMNS}
    if "input" in pair and isinstance(pair["input"], dict):
        row["input_line"] = pair["input"].get("line")
    row.update(judge_columns(pair.get("judge")))
    if pair.get("unjudged"):
        # Let in without the judge's grades (--no-judge): a column says so.
        row["unjudged"] = True
    messages = [{"role": "system", "content": system}] if system else []
    messages += [
        {"role": "user", "content": pair["standard"]},
        {"role": "assistant", "content": pair["gyaru"]},
    ]
    row["messages"] = messages
    return row


def uniform(splits: Mapping[str, Sequence[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Every row with every column of every split (null where a row has none): one
    schema, since judge grades or input lines may be on some pairs only."""
    columns = list(dict.fromkeys(key for rows in splits.values() for row in rows for key in row))
    return {
        name: [{c: row.get(c) for c in columns} for row in rows] for name, rows in splits.items()
    }


@dataclass
class JudgeStats:
    graded: int = 0
    sums: dict[str, float] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    histograms: dict[str, Counter[int]] = field(default_factory=dict)

    def add(self, judge: Any) -> None:
        if not isinstance(judge, dict):
            return
        self.graded += 1
        for key, value in judge.items():
            if isinstance(value, int | float):
                # A bool grade (keep / topic right) averages to the share that are true.
                self.sums[key] = self.sums.get(key, 0.0) + float(value)
                self.counts[key] += 1
                if isinstance(value, int) and not isinstance(value, bool):
                    self.histograms.setdefault(key, Counter())[value] += 1

    def rows(self) -> list[tuple[str, str, str]]:
        """(grade, mean, distribution) per grade, in the order met."""
        out = []
        for key, n in self.counts.items():
            hist = self.histograms.get(key)
            spread = ", ".join(f"{k}: {v}" for k, v in sorted(hist.items())) if hist else ""
            out.append((key, f"{self.sums[key] / n:.2f}", spread))
        return out


def judge_stats(pairs: Iterable[Mapping[str, Any]]) -> JudgeStats:
    stats = JudgeStats()
    for pair in pairs:
        stats.add(pair.get("judge"))
    return stats


def _front_matter(splits: Mapping[str, int]) -> list[str]:
    lines = [
        "---",
        "# Choose a licence before sharing this dataset (e.g. cc-by-4.0), and check that",
        "# the model's licence allows it: https://huggingface.co/docs/hub/repositories-licenses",
        "license:",
        "language:",
        "- ja",
        "task_categories:",
        "- text-generation",
        "tags:",
        "- style-transfer",
        "- persona",
        "- synthetic",
        "configs:",
        "- config_name: default",
        "  data_files:",
    ]
    for split in splits:
        lines += [f"  - split: {split}", f"    path: data/{split}-*.parquet"]
    return [*lines, "---", ""]


def _table(header: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def dataset_card(metadata: Mapping[str, Any], splits: Mapping[str, int], judge: JudgeStats) -> str:
    summary = metadata.get("summary") or {}
    persona = metadata.get("persona") or "?"
    lines = _front_matter(splits)
    lines += [
        f"# {persona}: standard Japanese / persona-speech pairs",
        "",
        f"Each row is a standard Japanese line and the same line as {persona} says it,",
        "generated by a self-hosted model and checked by gyaru-datagen.",
        "",
        "## Provenance",
        "",
        *_table(
            ("field", "value"),
            [
                ("run id", metadata.get("run_id", "?")),
                ("persona", persona),
                ("model", metadata.get("model", "?")),
                ("system prompt sha256", f"`{metadata.get('system_prompt_sha256', '?')}`"),
                ("created", metadata.get("created_at", "?")),
            ],
        ),
        "",
        "## Counts",
        "",
        *_table(("split", "rows"), splits.items()),
        "",
    ]
    if summary:
        lines += _summary_section(summary)
    review = metadata.get("review")
    if isinstance(review, dict):
        lines += _review_section(review)
    if judge.graded:
        lines += [f"## Judge grades ({judge.graded} graded pairs)", ""]
        lines += [*_table(("grade", "mean", "distribution"), judge.rows()), ""]
    lines += [
        "## Licence",
        "",
        "Not set: the `license` field above is left for you to fill in.",
        "",
    ]
    return "\n".join(lines)


def _summary_section(summary: Mapping[str, Any]) -> list[str]:
    counted = [
        ("pairs in the dataset", summary.get("pairs_unique")),
        ("items the model returned", summary.get("items_returned")),
        ("valid pairs", summary.get("pairs_valid")),
        ("duplicates removed", summary.get("duplicates")),
        ("pairs the judge never graded (unjudged)", summary.get("pairs_unjudged") or None),
        ("batches ok / truncated / failed", _batches(summary)),
    ]
    lines = [*_table(("generation", "count"), [r for r in counted if r[1] is not None]), ""]
    inputs = summary.get("inputs")
    if isinstance(inputs, dict):
        lines += ["### Input lines (rewritten from the user's own file)", ""]
        lines += [*_table(("input lines", "count"), _input_rows(inputs)), ""]
    reasons = summary.get("rejections") or {}
    if reasons:
        lines += ["### Rejection reasons", ""]
        lines += [*_table(("reason", "items"), reasons.items()), ""]
    return lines


def _review_section(review: Mapping[str, Any]) -> list[str]:
    """What a person's review (`client review`) did to the pairs before this export."""
    rows = [
        ("reviewed", review.get("reviewed")),
        ("accepted", review.get("accepted")),
        ("rejected (left out)", review.get("rejected")),
        ("edited (the reviewer's persona line)", review.get("edited")),
        ("rescued from the run's rejections (added)", review.get("rescued")),
    ]
    return [
        "## Human review",
        "",
        *_table(("pairs", "count"), [r for r in rows if r[1] is not None]),
        "",
    ]


def _input_rows(inputs: Mapping[str, Any]) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [
        ("read", inputs.get("lines")),
        ("blank", inputs.get("empty")),
        (
            "duplicate",
            (inputs.get("duplicates_exact") or 0) + (inputs.get("duplicates_normalised") or 0),
        ),
        ("sent", inputs.get("unique")),
        ("paired", inputs.get("paired")),
        ("pending", inputs.get("pending")),
    ]
    for label, key in (("rejected unsent", "rejected_before_request"), ("rejected", "rejected")):
        rows += [(f"{label}: {reason}", n) for reason, n in (inputs.get(key) or {}).items()]
    return rows


def _batches(summary: Mapping[str, Any]) -> str:
    return " / ".join(
        str(summary.get(k, 0)) for k in ("batches_ok", "batches_truncated", "batches_failed")
    )
