"""The growth curve: tests/bench/growth.py's rows, one line per label, as a PNG.

    uv run python -m tests.bench.growth_plot ROWS.jsonl [--out docs/growth.png]

ROWS.jsonl is what `growth.py --save` appends (several labels, e.g. "before" and
"after", in one file). Three panels against the run's size in pairs (free generation
only): peak memory, CPU per pair, and pairs per second end to end, each with its
target. Where a row has the run's PSS (all its processes: the client and its pair-check
workers), the memory panel draws it beside the client process's own peak RSS.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

TARGETS = {"peak_rss_mb": 300.0, "cpu_ms_per_pair": None, "pairs_per_s": 1000.0}
TITLES = {
    "peak_rss_mb": "peak memory (MB)",
    "cpu_ms_per_pair": "CPU per pair, client and workers (ms)",
    "pairs_per_s": "pairs/s end to end",
}


def load(path: Path) -> dict[str, list[dict[str, Any]]]:
    """label -> its free-generation rows, by size (the last row of a size wins)."""
    rows: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if row["kind"] != "pairs" or not row["pairs"]:
            continue
        row["cpu_ms_per_pair"] = row["cpu_s"] / row["pairs"] * 1000
        row["pairs_per_s"] = row["pairs"] / row["wall_s"]
        rows[row["label"]][row["size"]] = row
    return {label: [by_size[s] for s in sorted(by_size)] for label, by_size in rows.items()}


def plot(series: dict[str, list[dict[str, Any]]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, (key, title) in zip(axes, TITLES.items(), strict=True):
        for label, rows in series.items():
            sizes = [r["size"] for r in rows]
            if key == "peak_rss_mb" and all(r.get("pss_mb") for r in rows):
                ax.plot(sizes, [r["pss_mb"] for r in rows], marker="s", label=f"{label}: PSS, all")
                label = f"{label}: RSS, client"
            ax.plot(sizes, [r[key] for r in rows], marker="o", label=label)
        target = TARGETS[key]
        if target is not None:
            ax.axhline(target, color="grey", linestyle="--", linewidth=1, label="target")
        ax.set_xscale("log")
        ax.set_xlabel("pairs in the run")
        ax.set_title(title)
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
    axes[0].legend()
    fig.suptitle("client generate against a zero-latency server, concurrency 64, --no-judge")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("rows", type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/growth.png"))
    args = parser.parse_args()
    plot(load(args.rows), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
