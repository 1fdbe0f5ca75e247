"""A loopback server that behaves like a GPU inference engine, with vLLM-shaped /metrics.

The engine batches continuously: at most `capacity` (K) requests run at once and
each step gives every running request one token; a step takes longer the more
requests share it (`step_s * (1 + growth * (running - 1))`), so output tokens/s
grows with the batch up to K and not past it. Requests beyond K wait in a queue.
/metrics prints vLLM 0.32's names (running, waiting, KV cache usage, preemptions,
generation tokens; labelled by model_name and engine), written by prometheus_client
as vLLM itself does. Chat replies are the fake server's valid pairs; the usage
they report is the simulated token count.

    python -m tests.gpusim --port 8000 --capacity 16 [--no-metrics] [--kv-tokens N]

`metrics` chooses what /metrics does: "vllm" (the exposition), "absent" (404),
"garbage" (HTML), "unauthorized" (401), "slow" (answers after 5 s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from tests.fakeserver import FakeServer, chat_completion
from tests.judgefake import judge_content, judged_pairs

METRICS_MODES = ("vllm", "absent", "garbage", "unauthorized", "slow")


@dataclass
class Seq:
    prompt_tokens: int
    tokens_left: int
    generated: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Engine:
    capacity: int
    step_s: float = 0.01
    growth: float = 0.02
    # KV cache blocks are sized so that K sequences at full length fill this share...
    kv_share_at_capacity: float = 0.9
    max_seq_tokens: int = 1
    # ...unless the cache holds just this many tokens: then it, not K, bounds the
    # batch. A request is admitted only when its prompt fits; when the running ones
    # outgrow the cache the newest is preempted (back to the head of the queue, to be
    # prefilled again later), as vLLM does.
    kv_tokens: int | None = None

    def __post_init__(self) -> None:
        self.waiting: list[Seq] = []
        self.running: list[Seq] = []
        self.generation_tokens = 0
        self.preemptions = 0
        self._wake = asyncio.Event()

    def step_time(self, running: int) -> float:
        return self.step_s * (1 + self.growth * max(running - 1, 0))

    @property
    def held(self) -> int:
        return sum(s.prompt_tokens + s.generated for s in self.running)

    @property
    def kv_usage(self) -> float:
        full = self.kv_tokens or self.capacity * self.max_seq_tokens / self.kv_share_at_capacity
        return min(self.held / full, 1.0)

    def _admit(self) -> None:
        while self.waiting and len(self.running) < self.capacity:
            prompt = self.waiting[0].prompt_tokens + self.waiting[0].generated
            if self.kv_tokens and self.running and self.held + prompt >= self.kv_tokens:
                return
            self.running.append(self.waiting.pop(0))

    def _preempt(self) -> None:
        while self.kv_tokens and self.held > self.kv_tokens and len(self.running) > 1:
            self.waiting.insert(0, self.running.pop())
            self.preemptions += 1

    async def generate(self, prompt_tokens: int, tokens: int) -> None:
        seq = Seq(prompt_tokens, max(tokens, 1))
        self.max_seq_tokens = max(self.max_seq_tokens, prompt_tokens + tokens)
        self.waiting.append(seq)
        self._wake.set()
        await seq.done.wait()

    async def run(self) -> None:
        while True:
            if not self.waiting and not self.running:
                self._wake.clear()
                await self._wake.wait()
            self._admit()
            await asyncio.sleep(self.step_time(len(self.running)))
            for seq in self.running:
                seq.generated += 1
                seq.tokens_left -= 1
            self.generation_tokens += len(self.running)
            self._preempt()
            for seq in [s for s in self.running if s.tokens_left <= 0]:
                self.running.remove(seq)
                seq.done.set()


def exposition(engine: Engine, model: str) -> bytes:
    """The engine's state as vLLM's Prometheus text (names, labels, counter suffixes)."""
    registry = CollectorRegistry()
    labels = ["model_name", "engine"]
    values = (model, "0")
    gauges = {
        "vllm:num_requests_running": len(engine.running),
        "vllm:num_requests_waiting": len(engine.waiting),
        "vllm:kv_cache_usage_perc": engine.kv_usage,
    }
    for name, value in gauges.items():
        Gauge(name, name, labels, registry=registry).labels(*values).set(value)
    counters = {
        "vllm:num_preemptions": engine.preemptions,
        "vllm:generation_tokens": engine.generation_tokens,
    }
    for name, value in counters.items():
        Counter(name, name, labels, registry=registry).labels(*values).inc(value)
    return generate_latest(registry)


@dataclass
class GpuSim(FakeServer):
    capacity: int = 16
    step_s: float = 0.01
    growth: float = 0.02
    tokens_per_pair: int = 30
    kv_tokens: int | None = None
    # Replies vary in length (+-25 % here), as real ones do; it keeps requests from
    # finishing in lockstep.
    jitter: float = 0.25
    metrics: str = "vllm"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.metrics not in METRICS_MODES:
            raise ValueError(f"metrics must be one of {METRICS_MODES}")
        self.engine = Engine(
            self.capacity, step_s=self.step_s, growth=self.growth, kv_tokens=self.kv_tokens
        )
        self.metrics_scrapes = 0
        self._lengths = random.Random(0)

    async def serve(self) -> None:
        engine_task = asyncio.create_task(self.engine.run())
        try:
            await super().serve()
        finally:
            engine_task.cancel()

    async def _dispatch(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body_bytes: bytes,
        writer: asyncio.StreamWriter,
    ) -> bool:
        if path != "/metrics":
            return await super()._dispatch(method, path, headers, body_bytes, writer)
        self.metrics_scrapes += 1
        await self._send_metrics(headers, writer)
        return True

    async def _send_metrics(self, headers: dict[str, str], writer: asyncio.StreamWriter) -> None:
        mode = self.metrics
        if mode == "slow":
            await asyncio.sleep(5)
        if mode == "absent":
            await self._send(writer, 404, {"detail": "Not Found"})
            return
        if mode == "unauthorized" or not self._authorised(headers):
            await self._send(writer, 401, {"error": "Unauthorized"})
            return
        body = (
            b"<html><body>metrics moved</body></html>\n"
            if mode == "garbage"
            else exposition(self.engine, self.model)
        )
        head = f"HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {len(body)}\r\n\r\n"
        writer.write(head.encode() + body)
        await writer.drain()

    async def _act(
        self, action: str, body: dict[str, Any], writer: asyncio.StreamWriter, *, judge: bool
    ) -> bool:
        if action != "ok":
            return await super()._act(action, body, writer, judge=judge)
        # A judge request takes GPU time too: about as many tokens per pair graded.
        pairs = len(judged_pairs(body)) if judge else self._requested_pairs(body)
        prompt = sum(len(str(m.get("content", ""))) for m in body.get("messages", [])) // 2
        spread = 1 + self.jitter * (2 * self._lengths.random() - 1)
        tokens = max(1, round((self.tokens_per_pair * pairs + 20) * spread))
        await self.engine.generate(prompt, tokens)
        if judge:
            text, finish = judge_content("ok", body, self.judge_grader)
        else:
            text, finish = self._content("ok", body)
        await self._send(
            writer,
            200,
            chat_completion(
                f"chatcmpl-sim-{self.engine.generation_tokens}",
                self.model,
                text,
                finish,
                prompt_tokens=prompt,
                completion_tokens=tokens,
                total_tokens=prompt + tokens,
            ),
        )
        return True


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--capacity", type=int, default=16, help="K: requests batched at once")
    parser.add_argument("--step-s", type=float, default=0.01, help="one decode step, alone")
    parser.add_argument("--growth", type=float, default=0.02, help="step time added per request")
    parser.add_argument("--tokens-per-pair", type=int, default=30)
    parser.add_argument(
        "--kv-tokens", type=int, default=None, help="a KV cache this small bounds the batch"
    )
    parser.add_argument("--metrics", choices=METRICS_MODES, default="vllm")
    parser.add_argument("--no-metrics", action="store_const", const="absent", dest="metrics")
    parser.add_argument("--model", default="fake-model")
    parser.add_argument("--api-key", default=None)
    args = parser.parse_args()
    server = GpuSim(
        capacity=args.capacity,
        step_s=args.step_s,
        growth=args.growth,
        tokens_per_pair=args.tokens_per_pair,
        kv_tokens=args.kv_tokens,
        metrics=args.metrics,
        model=args.model,
        api_key=args.api_key,
        host=args.host,
        port=args.port,
        record_bodies=False,
    )
    print(
        f"serving {server.model} on http://{args.host}:{args.port}/v1, K={args.capacity}, "
        f"/metrics: {args.metrics}",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(server.serve())


if __name__ == "__main__":
    main()
