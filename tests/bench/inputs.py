"""Peak memory of `client generate --input` over a large input file.

    uv run python -m tests.bench.inputs [--lines 10000,100000] [--pairs 30] [--concurrency 4,64]

Writes an input file of N distinct Japanese lines (a few duplicates, blank and
over-long lines among them), runs the real console script against our loopback
server in its own process (it answers every rewrite at once, aligned), and prints
the client's peak RSS as the kernel counted it, with the wall time and what the run
reported. Memory should not grow with the input: compare the sizes. It runs at the
default concurrency of the README's command (4) and at 64, where more batches wait
in the client at once.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from tests.bench.common import fake_server, generate_args, machine, manifest_summary, run_client

BUDGET_MB = 200


def write_input(path: Path, lines: int) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(lines):
            if i % 1000 == 999:
                fh.write("\n")  # blank: skipped
            elif i % 1000 == 998:
                fh.write(f"きょうは{i - 1}番目の本を買いました。\n")  # the line before, again
            elif i % 5000 == 4997:
                fh.write("長" * 130 + "です。\n")  # over the length limit
            else:
                fh.write(f"きょうは{i}番目の本を買いました。\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", default="10000,100000", help="input sizes, comma-separated")
    parser.add_argument("--pairs", type=int, default=30, help="inputs per batch")
    parser.add_argument("--concurrency", default="4,64", help="levels, comma-separated")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with fake_server() as url, tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        levels = sorted({int(n) for n in args.concurrency.split(",")})
        for lines in sorted({int(n) for n in args.lines.split(",")}):
            source = out / f"input-{lines}.txt"
            write_input(source, lines)
            for level in levels:
                measure(url, out, source, lines, args.pairs, level)


def measure(url: str, out: Path, source: Path, lines: int, pairs: int, level: int) -> None:
    run_id = f"in{lines}c{level}"
    run = run_client(
        generate_args(
            url,
            out,
            run_id,
            "--input",
            str(source),
            "--pairs-per-batch",
            str(pairs),
            "--concurrency",
            str(level),
        ),
        GYARU_OUTPUT__FSYNC="false",
    )
    assert run.code == 0, run.stderr[-2000:]
    dataset = manifest_summary(out, run_id)["dataset"]
    inputs = dataset.get("inputs", {})
    verdict = "under" if run.max_rss_mb < BUDGET_MB else "OVER"
    print(
        f"{lines:7d} input lines, {pairs} a batch, concurrency {level:2d}: "
        f"wall {run.wall_s:.1f} s, peak RSS {run.max_rss_mb:.0f} MB "
        f"({verdict} the {BUDGET_MB} MB budget); "
        f"{dataset['pairs_unique']} pairs, inputs {inputs}"
    )


if __name__ == "__main__":
    main()
