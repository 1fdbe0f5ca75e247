"""Where `--concurrency auto` settles against an engine of batch capacity K.

    uv run python -m tests.bench.autoconc [--capacities 4,16,64] [--seconds 90] [--inproc]

For each K, twice (with the simulator's vLLM-shaped /metrics, and with /metrics
answering 404 so only the client's own signals are left), the simulator
(tests/gpusim.py) runs in its own process and `client generate --concurrency auto`
runs against it, 3 pairs a batch, with about `--seconds` of work at K. The level
history comes from the run's manifest. Printed per run: the level held over the last
third of the batch phase (time-weighted mean), the level at the end, when the tuner
first settled, and whether the held level is within 25 % of K. `--inproc` drives
the tuner with a bare request loop in this process instead of the client (the
controller alone, without the runner around it).
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx

from client.run.autoconc import AutoConcurrency, Change, Tuning
from client.run.tuner import EndpointTuner
from tests.bench.common import free_port, generate_args, machine, manifest_summary, run_client
from tests.helpers import REPO

PAIRS = 3
# The simulator's defaults: one step 10 ms alone, +2 % per request in the batch, and
# 30 tokens a pair + 20 (+-25 %) per reply.
STEP_S, GROWTH, TOKENS = 0.01, 0.02, 30 * PAIRS + 20


def wait_for_port(port: int, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"the simulator did not listen on port {port}")


@contextlib.contextmanager
def simulator(capacity: int, metrics: str) -> Iterator[str]:
    port = free_port()
    cmd = [sys.executable, "-m", "tests.gpusim", "--port", str(port), "--capacity", str(capacity)]
    proc = subprocess.Popen(
        [*cmd, "--metrics", metrics], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@dataclass
class Outcome:
    held: float
    final: int
    settled_at: float | None
    history: list[Change]


def held_level(history: list[Change], start: float, end: float) -> float:
    """Time-weighted mean level over [start, end]."""
    total = 0.0
    for change, following in zip(history, [*history[1:], None], strict=True):
        until = following.at if following else end
        span = min(until, end) - max(change.at, start)
        if span > 0:
            total += change.level * span
    return total / (end - start)


async def drive(root: str, metrics: bool, seconds: float) -> Outcome:
    body = {"model": "fake-model", "messages": [{"role": "user", "content": f"ちょうど{PAIRS}組"}]}
    limiter = anyio.CapacityLimiter(1)
    settled_at: list[float] = []
    start = time.monotonic()
    limits = httpx.Limits(max_connections=300, max_keepalive_connections=300)
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        controller = AutoConcurrency(Tuning(), now=start, metrics=metrics)

        def apply(level: int) -> None:
            limiter.total_tokens = level
            if controller.state == "steady" and not settled_at:
                settled_at.append(time.monotonic() - start)

        tuner = EndpointTuner(
            endpoint=root,
            root_url=root,
            controller=controller,
            http=http,
            in_flight=lambda: int(limiter.borrowed_tokens),
            apply=apply,
            model="fake-model",
        )

        async def worker() -> None:
            while True:
                async with limiter:
                    sent = time.monotonic()
                    reply = await http.post(f"{root}/v1/chat/completions", json=body)
                    tokens = reply.json()["usage"]["completion_tokens"]
                    tuner.finished(started=sent, finished=time.monotonic(), tokens=tokens)

        with anyio.move_on_after(seconds):
            async with anyio.create_task_group() as tg:
                tg.start_soon(tuner.run)
                for _ in range(Tuning().max_level):
                    tg.start_soon(worker)
    end = time.monotonic()
    history = controller.history
    return Outcome(
        held=held_level(history, end - seconds / 3, end),
        final=controller.level,
        settled_at=settled_at[0] if settled_at else None,
        history=history,
    )


def drive_cli(root: str, capacity: int, seconds: float) -> Outcome:
    per_second = capacity / (TOKENS * STEP_S * (1 + GROWTH * (capacity - 1)))
    batches = max(50, int(per_second * seconds))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        args = ["--concurrency", "auto", "--batches", str(batches), "--pairs-per-batch", str(PAIRS)]
        run = run_client(
            generate_args(f"{root}/v1", out, "auto", *args), GYARU_OUTPUT__FSYNC="false"
        )
        assert run.code == 0, run.stderr[-2000:]
        summary = manifest_summary(out, "auto")
    end = float(summary["batch_phase_s"])
    (endpoint,) = summary["concurrency"]["endpoints"].values()
    history = [
        Change(c["after_s"], c["level"], c["reason"], c["rate_tok_s"]) for c in endpoint["changes"]
    ]
    settled = [
        c.at for c in history if c.reason in ("requests waiting", "settled", "rate stopped growing")
    ]
    return Outcome(
        held=held_level(history, end * 2 / 3, end),
        final=int(endpoint["level"]),
        settled_at=settled[0] if settled else None,
        history=history,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--capacities", default="4,16,64")
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--inproc", action="store_true", help="a bare request loop, no client")
    parser.add_argument("--verbose", action="store_true", help="print every level change")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"{'K':>3} {'/metrics':>8} {'held':>6} {'final':>5} {'settled s':>9} {'within 25 %':>11}")
    for capacity in [int(k) for k in args.capacities.split(",")]:
        for metrics in (True, False):
            with simulator(capacity, "vllm" if metrics else "absent") as root:
                if args.inproc:
                    out = anyio.run(drive, root, metrics, args.seconds)
                else:
                    out = drive_cli(root, capacity, args.seconds)
            ok = abs(out.held - capacity) <= 0.25 * capacity
            settled = f"{out.settled_at:.0f}" if out.settled_at is not None else "-"
            label = "yes" if metrics else "no"
            print(
                f"{capacity:>3} {label:>8} {out.held:>6.1f} {out.final:>5} {settled:>9} "
                f"{'yes' if ok else 'NO':>11}",
                flush=True,
            )
            if args.verbose:
                t0 = out.history[0].at
                print(
                    "    "
                    + ", ".join(f"{c.at - t0:.0f}s {c.level} ({c.reason})" for c in out.history)
                )


if __name__ == "__main__":
    main()
