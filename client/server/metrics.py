"""vLLM's Prometheus `/metrics`: fetch one scrape and read the engine's load from it.

The exposition lives at the server root (not under /v1) and, like the API, sits
behind `--api-key` when one is set. Parsing is prometheus_client's own parser;
only the few gauges and counters that say how loaded the engine is are kept,
summed over engines and filtered to the model being used when the server labels
it (vLLM labels every sample with `model_name` and `engine`).

vLLM's router (vllm-router) exports other names (`vllm_router_*`, on its own
`--prometheus-port`): what it knows of its servers (health, circuit breakers,
requests it has running on each, retries), but nothing of an engine's queue.
`scrape_url` reads either kind; `parse_router` reads the router's.

Every way a scrape can fail (no such route, 401, a slow answer, a body that is
not the exposition format or has none of vLLM's names) is one `MetricsUnavailable`
with a short reason, so the caller can fall back to its own signals.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from prometheus_client.samples import Sample

RUNNING = "vllm:num_requests_running"
WAITING = "vllm:num_requests_waiting"
KV_CACHE = "vllm:kv_cache_usage_perc"
# Counters carry `_total` in the exposition.
PREEMPTIONS = "vllm:num_preemptions_total"
GENERATION_TOKENS = "vllm:generation_tokens_total"
KNOWN = (RUNNING, WAITING, KV_CACHE, PREEMPTIONS, GENERATION_TOKENS)

# vllm-router's names, each labelled by `worker` (a server's URL).
ROUTER_HEALTH = "vllm_router_worker_health"
ROUTER_BREAKER = "vllm_router_cb_state"
ROUTER_RUNNING = "vllm_router_running_requests"
ROUTER_RETRIES = "vllm_router_retries_total"
ROUTER_KNOWN = (ROUTER_HEALTH, ROUTER_BREAKER, ROUTER_RUNNING, ROUTER_RETRIES)
BREAKER_OPEN = 1.0

# A scrape is a few kilobytes served by the API process; one that takes longer
# than this is a server too busy to be asked, not one to wait for.
SCRAPE_TIMEOUT_S = 2.0
MAX_BODY_BYTES = 4_000_000


class MetricsUnavailable(Exception):
    """No usable scrape; `reason` is a short label (absent, unauthorized, slow, garbage...)."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


@dataclass(frozen=True, slots=True)
class EngineLoad:
    """One scrape, summed over the engines serving the model.

    Fields a server does not export are None: the rate and the preemption count
    come from counters, compared between two scrapes by the caller.
    """

    running: float
    waiting: float
    kv_cache_usage: float | None
    preemptions_total: float | None
    generation_tokens_total: float | None


@dataclass(frozen=True, slots=True)
class RouterView:
    """What one scrape of vllm-router's metrics says about the servers behind it."""

    workers: int
    healthy: int
    # Servers whose circuit breaker is open: the router sends them nothing for now.
    open_breakers: int
    running: float
    retries_total: float

    def describe(self) -> str:
        return (
            f"{self.healthy}/{self.workers} servers healthy, {self.open_breakers} with an open "
            f"circuit breaker, {self.retries_total:g} retries"
        )


def metrics_url(root_url: str) -> str:
    return f"{root_url.rstrip('/')}/metrics"


def _samples(text: str) -> list[Sample]:
    # Imported here: only --concurrency auto scrapes /metrics, and the parser is a
    # tenth of a second of every other run's start.
    from prometheus_client.parser import text_string_to_metric_families

    try:
        return [s for family in text_string_to_metric_families(text) for s in family.samples]
    except (ValueError, TypeError, IndexError) as exc:
        raise MetricsUnavailable(
            f"not Prometheus text ({type(exc).__name__}: {str(exc)[:80]})", reason="garbage"
        ) from None


def _ours(samples: Iterable[Sample], model: str | None) -> list[Sample]:
    known = [s for s in samples if s.name in KNOWN]
    if model is None:
        return known
    labelled = [s for s in known if s.labels.get("model_name") == model]
    # A server that labels no sample with our model's name (an alias, or no labels
    # at all) is read as a whole rather than as idle.
    return labelled or known


def parse_load(text: str, *, model: str | None = None) -> EngineLoad:
    """The engine load in one exposition text; MetricsUnavailable when it holds none."""
    ours = _ours(_samples(text), model)
    sums: dict[str, float] = {}
    for sample in ours:
        sums[sample.name] = sums.get(sample.name, 0.0) + float(sample.value)
    if RUNNING not in sums or WAITING not in sums:
        raise MetricsUnavailable(f"no {RUNNING} / {WAITING} in the exposition", reason="not_vllm")
    kv = sums.get(KV_CACHE)
    engines = sum(1 for s in ours if s.name == KV_CACHE)
    return EngineLoad(
        running=sums[RUNNING],
        waiting=sums[WAITING],
        # A fraction of each engine's cache: the mean over engines, not the sum.
        kv_cache_usage=kv / engines if kv is not None and engines else None,
        preemptions_total=sums.get(PREEMPTIONS),
        generation_tokens_total=sums.get(GENERATION_TOKENS),
    )


def parse_router(text: str) -> RouterView:
    """The router's view of its servers; MetricsUnavailable when `text` has none of it."""
    samples = [s for s in _samples(text) if s.name in ROUTER_KNOWN]
    if not samples:
        raise MetricsUnavailable("no vllm_router_* names in the exposition", reason="not_router")
    health = {s.labels.get("worker"): s.value for s in samples if s.name == ROUTER_HEALTH}
    breakers = [s.value for s in samples if s.name == ROUTER_BREAKER]
    return RouterView(
        workers=len(health),
        healthy=sum(1 for value in health.values() if value >= 1),
        open_breakers=sum(1 for value in breakers if value == BREAKER_OPEN),
        running=sum(s.value for s in samples if s.name == ROUTER_RUNNING),
        retries_total=sum(s.value for s in samples if s.name == ROUTER_RETRIES),
    )


def parse_reading(text: str, *, model: str | None = None) -> EngineLoad | RouterView:
    """A vLLM server's load, or else a router's view; MetricsUnavailable when neither."""
    try:
        return parse_load(text, model=model)
    except MetricsUnavailable as exc:
        if exc.reason != "not_vllm":
            raise
    try:
        return parse_router(text)
    except MetricsUnavailable:
        raise MetricsUnavailable(
            "neither vLLM's nor vllm-router's names in the exposition", reason="not_vllm"
        ) from None


async def scrape(
    http: httpx.AsyncClient,
    root_url: str,
    *,
    api_key: str | None,
    model: str | None,
    timeout_s: float = SCRAPE_TIMEOUT_S,
) -> EngineLoad:
    """GET /metrics once and parse it; raises MetricsUnavailable on any failure."""
    url = metrics_url(root_url)
    text = await _fetch(http, url, api_key=api_key, timeout_s=timeout_s)
    try:
        return parse_load(text, model=model)
    except MetricsUnavailable as exc:
        raise MetricsUnavailable(f"{url}: {exc.message}", reason=exc.reason) from None


async def scrape_url(
    http: httpx.AsyncClient,
    url: str,
    *,
    api_key: str | None,
    model: str | None,
    timeout_s: float = SCRAPE_TIMEOUT_S,
) -> EngineLoad | RouterView:
    """GET one Prometheus exposition (a server's or a router's) and read it."""
    text = await _fetch(http, url, api_key=api_key, timeout_s=timeout_s)
    try:
        return parse_reading(text, model=model)
    except MetricsUnavailable as exc:
        raise MetricsUnavailable(f"{url}: {exc.message}", reason=exc.reason) from None


async def _fetch(
    http: httpx.AsyncClient, url: str, *, api_key: str | None, timeout_s: float
) -> str:
    """The exposition's text; MetricsUnavailable when there is none to read."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = await http.get(url, headers=headers, timeout=timeout_s)
    except httpx.TimeoutException:
        raise MetricsUnavailable(
            f"{url} did not answer within {timeout_s:g} s", reason="slow"
        ) from None
    except httpx.HTTPError as exc:
        raise MetricsUnavailable(f"{url}: {type(exc).__name__}", reason="connection") from None
    status = response.status_code
    if status in (401, 403):
        raise MetricsUnavailable(f"{url} answered HTTP {status}", reason="unauthorized")
    if status == 404:
        raise MetricsUnavailable(f"{url} answered HTTP 404", reason="absent")
    if status != 200:
        raise MetricsUnavailable(f"{url} answered HTTP {status}", reason=f"http_{status}")
    if len(response.content) > MAX_BODY_BYTES:
        raise MetricsUnavailable(f"{url} answered {len(response.content)} bytes", reason="garbage")
    try:
        return response.content.decode("utf-8")
    except UnicodeDecodeError:
        raise MetricsUnavailable(f"{url} answered non-UTF-8 bytes", reason="garbage") from None
