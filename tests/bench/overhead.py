"""The client's own cost: CPU per batch and peak memory against a zero-latency server.

    uv run python -m tests.bench.overhead [--batches 100,1000,2000] [--concurrency 64] [--pairs 30]

The server answers every request at once with a valid reply of the requested
number of pairs, in its own process; the client's CPU time (user + system) and
peak RSS are the kernel's figures for the client process alone. Also printed:
the process start alone, and where the per-batch time goes (in-process
micro-measurements of each stage). Several run sizes show whether anything
grows with the number of batches (peak RSS).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.bench.common import fake_server, generate_args, machine, run_client
from tests.fakeserver import make_pairs


def stage_costs(pairs: int, base_url: str, concurrency: int) -> dict[str, float]:
    """Milliseconds of CPU per batch for each stage, measured in this process."""
    from client.config import load_settings
    from client.pairs.dedup import Deduper, key_of_normalised
    from client.pairs.extract import extract_items
    from client.pairs.prompts import PromptSet
    from client.pairs.validate import validate_items
    from client.run import job
    from client.server.api import LANE_SIZE
    from tests.helpers import PROMPT

    settings = load_settings()
    rules = job.pair_rules(settings)
    ctx = job.validation_context(settings, rules)
    text = json.dumps({"pairs": make_pairs(pairs, "bench")}, ensure_ascii=False)
    n = 300
    costs: dict[str, float] = {}

    def per_batch(fn: Any) -> float:
        start = time.process_time()
        for _ in range(n):
            fn()
        return (time.process_time() - start) / n * 1000

    costs["extract JSON"] = per_batch(lambda: extract_items(text))
    items = extract_items(text).items
    costs["validate + score"] = per_batch(
        lambda: validate_items(items, ctx=ctx, run_id="r", batch=1, generated_at="t")
    )
    accepted, _ = validate_items(items, ctx=ctx, run_id="r", batch=1, generated_at="t")

    def dedup() -> None:
        # As the run does it: each pair's key from its normalised lines, then the set.
        d = Deduper("pair")
        for p in accepted:
            d.add_key(key_of_normalised(*p.normalised, "pair"))

    costs["dedup"] = per_batch(dedup)
    record = {"accepted": [p.to_json() for p in accepted], "reply": {"text": text}}
    with tempfile.TemporaryDirectory() as tmp:
        from client.storage.atomic import atomic_write_json

        costs["raw file (JSON + fsync)"] = per_batch(
            lambda: atomic_write_json(Path(tmp) / "b.json", record, fsync=True)
        )

    prompts = PromptSet.load(
        PROMPT,
        num_pairs=pairs,
        topics=settings.persona.topics,
        first_person="あーし",
        persona_name="あーし系ギャル",
    )
    body = {
        "model": "fake-model",
        "messages": [
            {"role": "system", "content": prompts.system},
            {"role": "user", "content": "x"},
        ],
        **job.request_params(settings, rules),
    }

    async def http(kind: str) -> float:
        from client.server.api import Endpoint, lanes_for, make_http_client

        lanes = 1 if kind == "one pool" else lanes_for(concurrency)
        size = -(-concurrency // lanes) + 1
        clients = [
            make_http_client(
                pool_size=size, request_timeout_s=60, connect_timeout_s=5, transport="httpx"
            )
            for _ in range(lanes)
        ]
        endpoint = Endpoint(
            base_url, http_clients=clients, api_key=None, request_timeout_s=60, connect_timeout_s=5
        )
        params = {k: v for k, v in body.items() if k not in ("model", "messages")}
        gate = asyncio.Semaphore(concurrency)
        turn = 0

        async def one() -> None:
            nonlocal turn
            async with gate:
                if kind == "client":
                    await endpoint.chat(
                        model="fake-model", messages=body["messages"], params=params
                    )
                else:
                    turn += 1
                    http = clients[turn % lanes]
                    (await http.post(f"{base_url}/chat/completions", json=body)).json()

        await asyncio.gather(*[one() for _ in range(50)])
        start = time.process_time()
        await asyncio.gather(*[one() for _ in range(n)])
        spent = (time.process_time() - start) / n * 1000
        for c in clients:
            await c.aclose()
        return spent

    costs[f"HTTP: bare httpx, one pool of {concurrency}"] = asyncio.run(http("one pool"))
    costs[f"HTTP: bare httpx, pools of {LANE_SIZE}"] = asyncio.run(http("lanes"))
    costs["HTTP: the client's Endpoint.chat (SDK, lanes)"] = asyncio.run(http("client"))
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", default="100,1000,2000", help="run sizes, comma-separated")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--pairs", type=int, default=30)
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per size; the median is reported"
    )
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with fake_server() as url, tempfile.TemporaryDirectory() as tmp:
        start_only = sorted(
            run_client(
                ["generate", "--base-url", "http://127.0.0.1:9/v1", "--log-format", "json"]
            ).cpu_s
            for _ in range(3)
        )[1]
        print(
            f"process start (imports, config, one failed connection): {start_only * 1000:.0f} ms CPU"
        )
        for batches in sorted({int(b) for b in args.batches.split(",")}):
            runs = []
            for i in range(args.repeat):
                run = run_client(
                    generate_args(
                        url,
                        Path(tmp),
                        f"b{batches}-{i}",
                        "--batches",
                        str(batches),
                        "--pairs-per-batch",
                        str(args.pairs),
                        "--concurrency",
                        str(args.concurrency),
                    )
                )
                assert run.code == 0, run.stderr[-2000:]
                runs.append(run)
            run = sorted(runs, key=lambda r: r.cpu_s)[len(runs) // 2]
            print(
                f"{batches:5d} batches x {args.pairs} pairs at concurrency {args.concurrency}: "
                f"wall {run.wall_s:.2f} s, {batches / run.wall_s:.0f} batches/s, "
                f"CPU {run.cpu_s:.2f} s (user {run.user_s:.2f}, sys {run.sys_s:.2f}) = "
                f"{run.cpu_s / batches * 1000:.2f} ms/batch with process start, "
                f"{(run.cpu_s - start_only) / batches * 1000:.2f} ms/batch without; "
                f"peak RSS {run.max_rss_mb:.0f} MB"
            )
        print("where the time goes, per batch (in-process, CPU ms):")
        for stage, ms in stage_costs(args.pairs, url, args.concurrency).items():
            print(f"  {stage:48s} {ms:6.2f}")


if __name__ == "__main__":
    main()
