"""The `generate` job: from settings to raw batch files, a manifest and a processed dataset.

Order of work: check what can be checked locally (prompt, output dir), check the
server (reachable, serving the model), then run every batch not already finished
under this run id, writing each one the moment it ends, and finally rebuild the
processed dataset from all raw files. An interrupt cancels what is in flight and
still finalises; a second one exits at once.
"""

from __future__ import annotations

import os
import shlex
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
import anyio.to_thread
import structlog
from pydantic import SecretStr

from client.config import Settings
from client.errors import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_SIGINT,
    EXIT_SIGTERM,
    ConfigError,
    OutputDirError,
    unwrap_group,
)
from client.pairs.dedup import Deduper, key_of_normalised
from client.pairs.prompts import BatchPlan, new_base_seed, sha256_text
from client.pairs.records import BatchResult
from client.run import job as pipeline
from client.run.progress import LiveStats, QuietObserver
from client.run.runner import BatchRunner, RequestTemplate, TargetGate, schedule
from client.server.api import Endpoint
from client.server.pool import EndpointPool
from client.server.readiness import max_model_len, resolve_model, wait_for_endpoints
from client.storage.processed import DatasetStats, build_dataset, previous_run_keys, record_keys
from client.storage.runstore import (
    ManifestWriter,
    RunStore,
    dumps,
    ensure_writable,
    new_run_id,
    utc_now,
)

log = structlog.get_logger("client.run.generate")

RunStatus = Literal["complete", "incomplete", "interrupted"]
MANIFEST_FORMAT = 1


@dataclass
class RunSummary:
    run_id: str
    status: RunStatus
    model: str | None
    endpoints: list[str]
    stats: DatasetStats
    wall_s: float
    batches_planned: int
    batches_skipped: int
    live: LiveStats
    target_pairs: int | None
    files: dict[str, str]
    endpoint_served: dict[str, int] = field(default_factory=dict)
    interrupted_by: int | None = None
    resume_command: str | None = None

    @property
    def pairs_per_minute(self) -> float:
        return self.live.unique_pairs / (self.wall_s / 60) if self.wall_s > 0 else 0.0

    @property
    def target_reached(self) -> bool | None:
        if self.target_pairs is None:
            return None
        return self.stats.pairs_unique >= self.target_pairs

    @property
    def exit_code(self) -> int:
        if self.interrupted_by == signal.SIGTERM:
            return EXIT_SIGTERM
        if self.interrupted_by is not None:
            return EXIT_SIGINT
        # Every batch answered but nothing survived validation is not a success either.
        ok = self.status == "complete" and self.stats.pairs_unique > 0
        return EXIT_OK if ok else EXIT_FAILED

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "model": self.model,
            "endpoints": self.endpoints,
            "wall_s": round(self.wall_s, 3),
            "batch_phase_s": round(self.live.batch_phase_s, 3),
            "batches_planned": self.batches_planned,
            "batches_skipped_as_done": self.batches_skipped,
            "batches_run": self.live.batches_done,
            "retries": self.live.retries,
            "pairs_per_minute": round(self.pairs_per_minute, 1),
            "target_pairs": self.target_pairs,
            "target_reached": self.target_reached,
            "endpoint_served": self.endpoint_served,
            "dataset": self.stats.to_json(),
            "files": self.files,
        }


def resume_command(argv: Sequence[str], run_id: str) -> str:
    """The command line that continues this run: the same one, with --run-id set."""
    args: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--run-id":
            skip = True
            continue
        if arg.startswith("--run-id="):
            continue
        args.append(arg)
    prefix = ["uv", "run", "client"] if "UV" in os.environ else ["client"]
    return shlex.join([*prefix, *args, "--run-id", run_id])


def batch_record(
    result: BatchResult, *, run_id: str, template: RequestTemplate, prompt_sha: str
) -> dict[str, Any]:
    spec = result.spec
    completion = result.completion
    record: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "run_id": run_id,
        "batch": spec.index,
        "status": result.status,
        "request": {
            "model": template.model,
            "num_pairs": spec.num_pairs,
            "topic_focus": spec.topic_focus,
            "seed": spec.seed,
            "sampling_seed": result.sampling_seed,
            "temperature": template.params.get("temperature"),
            "top_p": template.params.get("top_p"),
            "max_tokens": template.params.get("max_tokens"),
            "structured_output": "response_format" in template.params,
            "system_prompt_sha256": prompt_sha,
            "user_message": spec.user_message,
        },
        "endpoint": completion.endpoint if completion else None,
        "attempts": result.attempts,
        "failures": [f.to_json() for f in result.failures],
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "latency_s": round(completion.latency_s, 3) if completion else None,
        "reply": None,
        "extraction": result.extraction,
        "accepted": [p.to_json() for p in result.accepted],
        "rejected": [r.to_json() for r in result.rejected],
        "error": None,
    }
    if completion is not None:
        record["reply"] = {
            "text": completion.text,
            "finish_reason": completion.finish_reason,
            "model": completion.model,
            "usage": {
                "prompt_tokens": completion.prompt_tokens,
                "completion_tokens": completion.completion_tokens,
            },
        }
    if result.status == "failed":
        record["error"] = {
            "reason": result.error_reason,
            "status": result.error_status,
            "message": result.error_message,
        }
    return record


def _manifest_entry(result: BatchResult) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "status": result.status,
        "attempts": result.attempts,
        "endpoint": result.completion.endpoint if result.completion else None,
        "topic_focus": result.spec.topic_focus,
        "seed": result.spec.seed,
        "accepted": len(result.accepted),
        "rejected": len(result.rejected),
        "finished_at": result.finished_at,
    }
    if result.status == "failed":
        entry["error"] = result.error_message
    return entry


class _Interrupts:
    """First SIGINT/SIGTERM: cancel the run and finalise. Second SIGINT: exit at once."""

    def __init__(self) -> None:
        self.signum: int | None = None

    async def watch(self, run_scope: anyio.CancelScope) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                if self.signum is None:
                    self.signum = signum
                    log.warning(
                        "interrupted: stopping, keeping finished batches "
                        "(press Ctrl-C again to exit at once)",
                        signal=signal.Signals(signum).name,
                    )
                    run_scope.cancel()
                else:
                    os._exit(EXIT_SIGTERM if signum == signal.SIGTERM else EXIT_SIGINT)


async def generate(
    settings: Settings,
    *,
    api_key: SecretStr | None,
    run_id: str | None,
    argv: Sequence[str],
    make_observer: Any = None,
) -> RunSummary:
    gen, val, persona = settings.generation, settings.validation, settings.persona
    store = RunStore(
        settings.output.output_dir, run_id or new_run_id(), fsync=settings.output.fsync
    )
    prompts = pipeline.prompt_set(settings)
    prompt_sha = sha256_text(prompts.system)
    # Before any GPU time is spent: the run's own folders are made once the server answers.
    ensure_writable(settings.output.output_dir)

    rules = pipeline.pair_rules(settings)
    validation = pipeline.validation_context(settings, rules)
    limit = batch_limit(settings)
    endpoints_urls = list(settings.server.endpoints)

    pool = pipeline.endpoint_pool(settings, api_key, capacity=gen.concurrency)
    interrupts = _Interrupts()
    started = time.monotonic()
    live = LiveStats(batches_planned=limit)
    model: str | None = None
    skipped = 0
    earlier: set[bytes] = set()
    manifest: ManifestWriter | None = None
    try:
        async with anyio.create_task_group() as tg:
            run_scope = anyio.CancelScope()
            tg.start_soon(interrupts.watch, run_scope)
            with run_scope:
                statuses = await wait_for_endpoints(pool.endpoints, wait_s=settings.server.wait_s)
                model = resolve_model(settings.server.model, statuses)
                context = max_model_len(statuses, model)
                if context is not None and gen.max_new_tokens >= context:
                    raise ConfigError(
                        f"generation.max_new_tokens {gen.max_new_tokens} is not below the "
                        f"model's max_model_len {context}: the server would reject every "
                        "request (lower --max-new-tokens, or serve a longer context)"
                    )
                for status in statuses:
                    if not status.ready:
                        pool.take_out(status.endpoint, status.error or "not ready")
                        log.warning(
                            "endpoint not ready; it joins when it answers",
                            endpoint=status.endpoint.base_url,
                            error=status.error,
                        )
                previous = store.read_manifest()
                base_seed = _base_seed(previous, gen.seed)
                plan = BatchPlan(
                    prompts=prompts,
                    num_pairs=gen.num_pairs_per_batch,
                    topics=persona.topics,
                    base_seed=base_seed,
                    limit=limit,
                    scenes=persona.scenes,
                )
                template = RequestTemplate(
                    model=model,
                    system_prompt=prompts.system,
                    params=pipeline.request_params(settings, rules),
                    send_seed=gen.send_seed,
                )
                ready = next(s.endpoint for s in statuses if s.ready)
                await _check_prompt_fits(
                    ready, template, template.messages(plan.spec(1)), gen.max_new_tokens
                )
                store.prepare()
                if previous and previous.get("system_prompt", {}).get("sha256") != prompt_sha:
                    log.warning(
                        "the system prompt changed since this run started", run_id=store.run_id
                    )

                if val.dedup_against_previous_runs:
                    earlier = previous_run_keys(
                        settings.output.output_dir, store.run_id, val.dedup_key
                    )
                deduper = Deduper(val.dedup_key, earlier=earlier)
                # One pass over what earlier sessions finished: which batches to skip,
                # and the pairs they already contributed.
                done: set[int] = set()
                for index, record in store.finished_records():
                    done.add(index)
                    for key in record_keys(record, val.dedup_key):
                        deduper.add_key(key)
                skipped = len(done)

                manifest = ManifestWriter(
                    store,
                    _initial_manifest(
                        previous,
                        settings,
                        store,
                        model=model,
                        base_seed=base_seed,
                        prompt_sha=prompt_sha,
                        limit=limit,
                        max_len=context,
                    ),
                )
                manifest.write()
                log.info(
                    "run started",
                    run_id=store.run_id,
                    model=model,
                    endpoints=endpoints_urls,
                    batches=limit,
                    already_done=skipped,
                    concurrency=gen.concurrency,
                    output=str(store.raw_dir),
                )

                observer = make_observer(live) if make_observer else QuietObserver(live)
                runner = BatchRunner(
                    pool=pool,
                    policy=pipeline.retry_policy(settings),
                    template=template,
                    validation=validation,
                    run_id=store.run_id,
                    observer=observer,
                    quiet_success=make_observer is not None,
                )
                write_lock = anyio.Lock()
                manifest_ref = manifest

                async def on_result(result: BatchResult) -> int:
                    keys = [
                        key_of_normalised(*p.normalised, val.dedup_key) for p in result.accepted
                    ]
                    record = batch_record(
                        result, run_id=store.run_id, template=template, prompt_sha=prompt_sha
                    )
                    # The rebuild at the end reuses these instead of normalising every
                    # pair again; it recomputes them when the dedup mode differs.
                    record["dedup"] = {"key": val.dedup_key, "keys": [k.hex() for k in keys]}
                    try:
                        await anyio.to_thread.run_sync(store.write_batch, result.spec.index, record)
                    except OSError as exc:
                        raise OutputDirError(
                            f"cannot write {store.batch_path(result.spec.index)}: "
                            f"{exc.strerror or exc}"
                        ) from None
                    new_unique = 0
                    if result.finished:
                        new_unique = sum(deduper.add_key(k) for k in keys)
                    manifest_ref.set_batch(result.spec.index, _manifest_entry(result))
                    observer.batch_finished(result, new_unique)
                    if manifest_ref.due():
                        async with write_lock:
                            await _write_manifest(manifest_ref)
                    return new_unique

                gate = (
                    TargetGate(
                        gen.target_pairs,
                        num_pairs=gen.num_pairs_per_batch,
                        unique_so_far=len(deduper),
                    )
                    if gen.target_pairs
                    else None
                )
                with observer:
                    live.batches_started_at = time.monotonic()
                    await schedule(
                        plan.specs(done),
                        workers=pool.total_capacity,
                        run_batch=runner.run,
                        on_result=on_result,
                        gate=gate,
                    )
                    live.batches_ended_at = time.monotonic()
            # Finalising reads every raw file: off the event loop, so a second
            # Ctrl-C is still heard.
            summary = await anyio.to_thread.run_sync(
                lambda: _finalise(
                    store,
                    settings,
                    manifest,
                    earlier,
                    interrupts.signum,
                    model,
                    started,
                    skipped,
                    live,
                    pool,
                    argv,
                )
            )
            tg.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        raise unwrap_group(group) from None
    finally:
        with anyio.CancelScope(shield=True):
            await pool.aclose()
    return summary


async def _check_prompt_fits(
    endpoint: Endpoint,
    template: RequestTemplate,
    messages: list[dict[str, str]],
    max_new_tokens: int,
) -> None:
    """Ask vLLM how long the prompt is: one that cannot fit the context fails here,
    not once per batch; one that leaves less room than max_new_tokens is reported."""
    counted = await endpoint.prompt_tokens(model=template.model, messages=messages)
    if counted is None:
        return
    tokens, context = counted
    if tokens >= context:
        raise ConfigError(
            f"the prompt is {tokens} tokens but the model's max_model_len is {context}: "
            "shorten the system prompt or serve a longer context"
        )
    if tokens + max_new_tokens > context:
        log.warning(
            "replies will be cut short: the prompt and max_new_tokens exceed max_model_len",
            prompt_tokens=tokens,
            max_new_tokens=max_new_tokens,
            max_model_len=context,
            room_for_reply=context - tokens,
        )


async def _write_manifest(manifest: ManifestWriter) -> None:
    # Rendered here, on the event loop, because workers keep changing the dict;
    # written in a thread because fsync blocks.
    text = dumps(manifest.manifest)
    manifest.mark_written()
    await anyio.to_thread.run_sync(manifest.write_text, text)


def batch_limit(settings: Settings) -> int:
    """The last batch index a run may schedule: the plan, or the cap in target mode."""
    gen = settings.generation
    return gen.max_batches if gen.target_pairs else gen.total_batches


def _base_seed(previous: dict[str, Any] | None, configured: int | None) -> int:
    # A resumed run keeps its seeds, so batch N asks for the same thing it always did.
    if previous and isinstance(previous.get("base_seed"), int):
        return int(previous["base_seed"])
    return configured if configured is not None else new_base_seed()


def _initial_manifest(
    previous: dict[str, Any] | None,
    settings: Settings,
    store: RunStore,
    *,
    model: str,
    base_seed: int,
    prompt_sha: str,
    limit: int,
    max_len: int | None,
) -> dict[str, Any]:
    now = utc_now()
    sessions = list((previous or {}).get("sessions") or [])
    sessions.append({"started_at": now, "ended_at": None, "status": "running"})
    return {
        "format": MANIFEST_FORMAT,
        "run_id": store.run_id,
        "status": "running",
        "created_at": (previous or {}).get("created_at", now),
        "updated_at": now,
        "model": model,
        "max_model_len": max_len,
        "endpoints": list(settings.server.endpoints),
        "system_prompt": {"path": str(settings.prompt.system_prompt_path), "sha256": prompt_sha},
        "base_seed": base_seed,
        "plan": {
            "batches": limit,
            "num_pairs_per_batch": settings.generation.num_pairs_per_batch,
            "target_pairs": settings.generation.target_pairs,
            "topics": list(settings.persona.topics),
        },
        "config": settings.snapshot(),
        "sessions": sessions,
        "batches": dict((previous or {}).get("batches") or {}),
        "summary": None,
    }


def _finalise(
    store: RunStore,
    settings: Settings,
    manifest: ManifestWriter | None,
    earlier: set[bytes],
    signum: int | None,
    model: str | None,
    started: float,
    skipped: int,
    live: LiveStats,
    pool: EndpointPool,
    argv: Sequence[str],
) -> RunSummary:
    served = {s.url: s.served for s in pool.states}
    endpoints = list(settings.server.endpoints)
    limit = batch_limit(settings)
    files: dict[str, str] = {}
    stats = DatasetStats()
    status: RunStatus = "interrupted" if signum is not None else "incomplete"
    if manifest is not None:
        stats, path = build_dataset(
            store,
            key=settings.validation.dedup_key,
            earlier=earlier,
            metadata={
                "run_id": store.run_id,
                "created_at": utc_now(),
                "model": model,
                "persona": settings.persona.name,
                "topics": list(settings.persona.topics),
                "system_prompt_sha256": manifest.manifest["system_prompt"]["sha256"],
                "endpoints": endpoints,
                "config": settings.snapshot(),
            },
        )
        if signum is None:
            target = settings.generation.target_pairs
            all_done = stats.batches_failed == 0 and stats.batches_unreadable == 0
            enough = stats.pairs_unique >= target if target else stats.batches_finished >= limit
            status = "complete" if all_done and enough else "incomplete"
        files = {
            "raw_dir": str(store.raw_dir),
            "manifest": str(store.manifest_path),
            "processed": str(path),
        }
    wall = time.monotonic() - started
    summary = RunSummary(
        run_id=store.run_id,
        status=status,
        model=model,
        endpoints=endpoints,
        stats=stats,
        wall_s=wall,
        batches_planned=limit,
        batches_skipped=skipped,
        live=live,
        target_pairs=settings.generation.target_pairs,
        files=files,
        endpoint_served=served,
        interrupted_by=signum,
    )
    if status != "complete" and manifest is not None:
        summary.resume_command = resume_command(argv, store.run_id)
    if manifest is not None:
        sessions = manifest.manifest["sessions"]
        sessions[-1].update({"ended_at": utc_now(), "status": status})
        manifest.update(status=status, updated_at=utc_now(), summary=summary.to_json())
        manifest.write()
    return summary
