"""The client through vLLM's real router, in front of the real vLLM server and a loopback fake.

The router is PyPI's `vllm-router` (a dev dependency, tests/routerproc.py); behind it,
the tier's real vLLM CPU server (listed first: the router sends plain GETs such as
/v1/models to its first worker) and the project's fake server serving the same model
name, API key and context length, as a second replica would. What it proves:

- `client check` through the router, with the policy compose.yaml uses, exits 0;
- `--concurrency auto` through the router reads the real server's own /metrics (the
  router lists it at /workers), not the router's GET /metrics, which is only its first
  server's exposition passed on;
- `client generate` through the router with the fake killed while it holds a request
  loses nothing and counts nothing twice: every batch ends ok exactly once, the killed
  request's batch is answered by vLLM, every reply the fake finished is the reply of
  exactly one batch and its pairs land in the dataset once, and the manifest's counts
  are the raw files' counts. The kill is triggered by the fake receiving its second
  generation request (which it holds), not by a timer.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import gen_args, run_client, start_client
from tests.e2e.conftest import API_KEY, NO_PAIR_CHECKS
from tests.e2e.vllm_server import DEFAULT_MAX_MODEL_LEN, ServerInfo
from tests.fakeserver import FakeServer, RecordedRequest
from tests.routerproc import metrics_text, running_router

pytestmark = pytest.mark.e2e

BATCHES = 8
# The fake holds its 2nd generation request, and is killed once it has it.
KILL_AT = 2


@dataclass
class ReplicaFake(FakeServer):
    """The fake as a second replica of the tier's model, recording what it finished."""

    sent: list[str] = field(default_factory=list)

    async def _send(  # type: ignore[override]
        self, writer: Any, status: int, payload: Any, headers: dict[str, str] | None = None
    ) -> None:
        await FakeServer._send(writer, status, payload, headers)
        if status == 200 and isinstance(payload, dict) and "choices" in payload:
            # Written and drained: this reply left the fake in full.
            self.sent.append(payload["choices"][0]["message"]["content"])

    def stop(self) -> None:
        """Stop once: the test kills it mid-run, and cleans up after a failure too."""
        if self._loop is not None and not self._loop.is_closed():
            super().stop()


def replica(vllm: ServerInfo, **kwargs: Any) -> ReplicaFake:
    return ReplicaFake(
        model=vllm.model, api_key=API_KEY, max_model_len=DEFAULT_MAX_MODEL_LEN, **kwargs
    )


def root(fake: FakeServer) -> str:
    return f"http://{fake.host}:{fake.port}"


def test_check_through_the_router_says_ready(vllm: ServerInfo, tmp_path: Path) -> None:
    with (
        replica(vllm) as fake,
        running_router([vllm.root_url, root(fake)], policy="cache_aware", log_dir=tmp_path) as r,
    ):
        result = run_client(
            ["check", "--base-url", r.base_url, "--log-format", "json"], VLLM_API_KEY=API_KEY
        )
    assert result.code == 0, result.stderr + result.stdout
    assert "tiny-qwen2" in result.stdout and str(DEFAULT_MAX_MODEL_LEN) in result.stdout
    assert "ok (" in result.stdout  # structured output, through the router


def test_auto_through_the_router_reads_the_servers_own_metrics(
    vllm: ServerInfo, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    with running_router([vllm.root_url], policy="cache_aware", log_dir=tmp_path) as router:
        # What the client must not read as the router's load: its first server's, passed on.
        request = urllib.request.Request(
            f"{router.root_url}/metrics", headers={"Authorization": f"Bearer {API_KEY}"}
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert "vllm:num_requests_running" in resp.read().decode()
        result = run_client(
            gen_args(router.base_url, out, "--no-judge", "--concurrency", "auto",
                     "--batches", "6", "--pairs-per-batch", "3", run_id="auto"),
            timeout=300, VLLM_API_KEY=API_KEY, **NO_PAIR_CHECKS,
        )  # fmt: skip
    assert result.code == 0, result.stderr[-3000:]
    assert [e for e in result.events if e.get("level") == "warning"] == []
    manifest = json.loads((out / "raw" / "auto" / "manifest.json").read_text(encoding="utf-8"))
    (endpoint,) = manifest["summary"]["concurrency"]["endpoints"].values()
    assert endpoint["signals"] == "metrics"
    assert endpoint["source"] == "/metrics of the server behind the router"
    assert endpoint["metrics_sources"] == [f"{vllm.root_url}/metrics"]
    assert "from /metrics of the server behind the router" in result.stdout


class Killer:
    """Holds the fake's KILL_AT-th generation request and says when it has it."""

    def __init__(self) -> None:
        self.holding = threading.Event()
        self.held_batch: int | None = None
        self._count = itertools.count(1)

    def __call__(self, request: RecordedRequest) -> str | None:
        if request.judge or request.batch is None or next(self._count) != KILL_AT:
            return None
        self.held_batch = request.batch
        self.holding.set()
        return "hang:600"


def read_run(out: Path, run_id: str) -> tuple[list[dict[str, Any]], dict[str, Any], list[Any]]:
    raw = [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((out / "raw" / run_id).glob("batch_*.json"))
    ]
    manifest = json.loads((out / "raw" / run_id / "manifest.json").read_text(encoding="utf-8"))
    dataset = json.loads(
        (out / "processed" / f"gyaru_dataset_{run_id}.json").read_text(encoding="utf-8")
    )["pairs"]
    return raw, manifest, dataset


def test_a_replica_killed_mid_run_loses_nothing_and_counts_nothing_twice(
    vllm: ServerInfo, tmp_path: Path
) -> None:
    killer = Killer()
    out = tmp_path / "out"
    fake = replica(vllm, chooser=killer).start()
    try:
        with running_router(
            [vllm.root_url, root(fake)], policy="round_robin", log_dir=tmp_path
        ) as router:
            proc = start_client(
                gen_args(router.base_url, out, "--no-judge", "--batches", str(BATCHES),
                         "--pairs-per-batch", "3", "--concurrency", "4", run_id="kill"),
                VLLM_API_KEY=API_KEY, **NO_PAIR_CHECKS,
            )  # fmt: skip
            assert killer.holding.wait(300), "the fake never got its generation request"
            fake.stop()
            stdout, stderr = proc.communicate(timeout=600)
            router_metrics = metrics_text(router)
    finally:
        fake.stop()
    assert proc.returncode == 0, stderr[-3000:]
    assert "Traceback" not in stderr
    assert "run kill: complete" in stdout, stdout

    raw, manifest, dataset = read_run(out, "kill")
    # Every batch once, every one answered.
    assert sorted(r["batch"] for r in raw) == list(range(1, BATCHES + 1))
    assert all(r["status"] == "ok" for r in raw), [(r["batch"], r["status"]) for r in raw]
    # The batch the fake held when it died was answered by vLLM instead.
    fake_texts = Counter(fake.sent)
    (held,) = [r for r in raw if r["batch"] == killer.held_batch]
    assert held["reply"]["text"] not in fake_texts
    # Every reply the fake finished is the reply of exactly one batch...
    replies = Counter(r["reply"]["text"] for r in raw)
    assert fake.sent, "the fake answered nothing before it was killed"
    for text in fake_texts:
        assert replies[text] == 1, text[:80]
    # ...and each of its pairs is in the dataset once.
    in_dataset = Counter((p["standard"], p["gyaru"]) for p in dataset)
    for text in fake_texts:
        for pair in json.loads(text)["pairs"]:
            assert in_dataset[(pair["standard"], pair["gyaru"])] == 1, pair
    # The router did retry the held request elsewhere.
    assert retries(router_metrics) >= 1, router_metrics
    assert_counts_match_files(raw, manifest, dataset)


def retries(metrics: str) -> float:
    return sum(
        float(m[1])
        for m in re.finditer(r"^vllm_router_retries_total\{[^}]*\} (\S+)$", metrics, re.M)
    )


def assert_counts_match_files(
    raw: list[dict[str, Any]], manifest: dict[str, Any], dataset: list[Any]
) -> None:
    """The manifest counts what the raw files hold, once; the dataset is its unique pairs."""
    run, summary = manifest["summary"], manifest["summary"]["dataset"]
    assert run["batches_run"] == sum(run["endpoint_served"].values()) == len(raw)
    assert summary["batches_ok"] == len(raw) and summary["batches_failed"] == 0
    assert summary["items_returned"] == sum(len(r["accepted"]) + len(r["rejected"]) for r in raw)
    assert summary["completion_tokens"] == sum(
        r["reply"]["usage"]["completion_tokens"] for r in raw
    )
    ids = [p["id"] for p in dataset]
    assert len(ids) == len(set(ids)) == summary["pairs_unique"]
    accepted = {p["id"] for r in raw for p in r["accepted"]}
    assert set(ids) <= accepted
    assert {b: e["status"] for b, e in manifest["batches"].items()} == {
        str(r["batch"]): r["status"] for r in raw
    }
