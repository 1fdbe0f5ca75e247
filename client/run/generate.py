"""The `generate` job: from settings to raw batch files, a manifest and a processed dataset.

A run is a short list of phases over one `RunState`: check the server, restore what
an earlier session of this run id left (seeds), check the prompt fits, prepare the
output, seed the de-duplication, start the manifest, run the batches, finalise. An
interrupt cancels what is in flight and still finalises; a second one exits at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import anyio
import anyio.to_thread
import structlog
from pydantic import SecretStr

from client.clock import Clock, monotonic, utc_now
from client.config import Settings
from client.errors import unwrap_group
from client.pairs.dedup import Deduper
from client.pairs.digests import hex64
from client.pairs.phrases import PhraseCounter
from client.pairs.prompts import new_base_seed, sha256_text
from client.pairs.rewrites import settled_keys
from client.run.autoconc import Tuning
from client.run.autolevels import AutoLevels
from client.run.finalise import finalise
from client.run.inputs import check_inputs, input_specs, plan_inputs, write_input_rejections
from client.run.job import Job
from client.run.judge_phases import judge_leftovers, prepare_judge
from client.run.preflight import check_prompt_fits, check_server
from client.run.progress import LiveStats, QuietObserver
from client.run.schedule import TargetGate, schedule
from client.run.state import RunState
from client.run.summary import RunSummary
from client.storage.atomic import ensure_writable
from client.storage.layout import new_run_id
from client.storage.manifest import Manifest, ManifestWriter, RunFacts
from client.storage.processed import previous_run_keys, previous_run_pairs
from client.storage.runstore import RunStore

log = structlog.get_logger("client.run")

MakeObserver = Callable[[LiveStats], QuietObserver]


async def generate(
    settings: Settings,
    *,
    api_key: SecretStr | None,
    run_id: str | None,
    argv: Sequence[str],
    make_observer: MakeObserver | None = None,
    quiet_success: bool = False,
    clock: Clock = monotonic,
    new_seed: Callable[[], int] = new_base_seed,
) -> RunSummary:
    """`clock` times the run; `new_seed` draws the base seed of a new run that has none
    configured (a resumed run keeps the one its manifest holds)."""
    state = _new_state(settings, api_key, run_id, argv, clock)
    state.new_seed = new_seed
    try:
        async with anyio.create_task_group() as tg:
            run_scope = anyio.CancelScope()
            tg.start_soon(state.interrupts.watch, run_scope)
            with run_scope:
                check_inputs(state)
                await check_server(state)
                await prepare_judge(state)
                restore_seed_and_plan(state)
                await check_prompt_fits(state)
                prepare_output(state)
                write_input_rejections(state)
                seed_dedup(state)
                plan_inputs(state)
                start_manifest(state)
                await judge_leftovers(state)
                await run_batches(state, make_observer, quiet_success=quiet_success)
            # Finalising reads every raw file: off the event loop, so a second
            # Ctrl-C is still heard.
            summary = await anyio.to_thread.run_sync(finalise, state)
            tg.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        raise unwrap_group(group) from None
    finally:
        with anyio.CancelScope(shield=True):
            await state.close_pools()
    return summary


def _new_state(
    settings: Settings,
    api_key: SecretStr | None,
    run_id: str | None,
    argv: Sequence[str],
    clock: Clock,
) -> RunState:
    store = RunStore(
        settings.output.output_dir, run_id or new_run_id(), fsync=settings.output.fsync
    )
    job = Job.from_settings(settings)
    # Before any GPU time is spent: the run's own folders are made once the server answers.
    ensure_writable(settings.output.output_dir)
    avoid = settings.generation.avoid_overused and job.inputs is None
    return RunState(
        job=job,
        store=store,
        pool=job.pool(api_key),
        api_key=api_key,
        judge_pool=job.judge_pool(api_key),
        argv=argv,
        clock=clock,
        prompt_sha=sha256_text(job.system_prompt),
        started=clock(),
        live=LiveStats(batches_planned=job.limit, clock=clock, started=clock()),
        phrases=PhraseCounter(first_person=settings.persona.first_person) if avoid else None,
    )


def restore_seed_and_plan(state: RunState) -> None:
    """A resumed run keeps its base seed, so batch N asks for what it always did."""
    assert state.model is not None
    state.previous = state.store.read_manifest()
    restored = state.previous.base_seed if state.previous else None
    configured = state.job.settings.generation.seed
    if restored is not None:
        state.base_seed = restored
    else:
        state.base_seed = configured if configured is not None else state.new_seed()
    phrases = state.phrases
    state.plan = state.job.plan(state.base_seed, hint=phrases.hint if phrases else None)
    state.template = state.job.template(state.model)


def prepare_output(state: RunState) -> None:
    state.store.prepare()
    previous = state.previous
    if previous is not None and previous.data and previous.prompt_sha != state.prompt_sha:
        log.warning("the system prompt changed since this run started", run_id=state.store.run_id)


def seed_dedup(state: RunState) -> None:
    """One pass over what earlier sessions finished: which batches to skip, and the
    pairs they already contributed (plus, if asked, every earlier run's pairs)."""
    settings = state.job.settings
    key = settings.validation.dedup_key
    if settings.validation.dedup_against_previous_runs:
        state.earlier_pairs = previous_run_pairs(settings.output.output_dir, state.store.run_id)
        state.earlier = previous_run_keys(state.earlier_pairs, key)
    state.deduper = Deduper(key, earlier=state.earlier)
    state.near = state.job.near_duplicates(state.earlier_pairs)
    for index, record in state.store.finished_records():
        state.done.add(index)
        for input_key in settled_keys(record.data):
            state.settled.add(hex64(input_key))
        if settings.judge.enabled and record.awaits_judge():
            # Judged before new batches; its inputs are not sent again either.
            state.to_judge.append(index)
            continue
        for digest, pair in zip(record.dedup_keys(key), record.accepted, strict=True):
            if state.deduper.add_key(digest) and state.near is not None:
                state.near.add(pair["id"], pair["standard"], pair["gyaru"])
        if state.phrases is not None:
            state.phrases.add(str(p.get("gyaru", "")) for p in record.accepted)


def start_manifest(state: RunState) -> None:
    assert state.model is not None
    settings, store = state.job.settings, state.store
    facts = RunFacts(
        run_id=store.run_id,
        model=state.model,
        max_model_len=state.max_model_len,
        endpoints=list(settings.server.endpoints),
        prompt_path=str(settings.prompt.system_prompt_path),
        prompt_sha=state.prompt_sha,
        base_seed=state.base_seed,
        plan={
            "batches": state.live.batches_planned,
            "num_pairs_per_batch": settings.generation.num_pairs_per_batch,
            "target_pairs": settings.generation.target_pairs,
            "topics": list(settings.persona.topics),
        },
        config=settings.snapshot(),
    )
    manifest = Manifest.start(state.previous, facts, now=utc_now())
    state.manifest = ManifestWriter(
        store.manifest_path, manifest, fsync=store.fsync, clock=state.clock
    )
    state.manifest.write()
    log.info(
        "run started",
        run_id=store.run_id,
        model=state.model,
        endpoints=facts.endpoints,
        batches=state.live.batches_planned,
        already_done=state.skipped,
        concurrency=settings.generation.concurrency,
        output=str(store.raw_dir),
    )


async def run_batches(
    state: RunState, make_observer: MakeObserver | None, *, quiet_success: bool
) -> None:
    assert state.template is not None
    assert state.plan is not None
    assert state.deduper is not None
    gen = state.job.settings.generation
    observer = make_observer(state.live) if make_observer else QuietObserver(state.live)
    state.observer = observer
    runner = state.job.runner(
        state.pool,
        state.template,
        run_id=state.store.run_id,
        observer=observer,
        quiet_success=quiet_success,
    )
    gate = None
    if gen.target_pairs:
        gate = TargetGate(
            gen.target_pairs, num_pairs=gen.num_pairs_per_batch, unique_so_far=len(state.deduper)
        )
    specs = input_specs(state) if state.job.inputs is not None else state.plan.specs(state.done)
    with observer:
        state.live.batches_started_at = state.clock()
        levels = _auto_levels(state) if gen.auto_concurrency else None
        if levels is None:
            await schedule(
                specs,
                workers=state.pool.total_capacity,
                run_batch=runner.run,
                on_result=state.record,
                gate=gate,
            )
        else:
            # As many workers as auto may ever allow; its admission bound runs them.
            workers = gen.max_concurrency * len(state.pool.endpoints)
            await levels.running(
                lambda: schedule(
                    specs,
                    workers=workers,
                    run_batch=runner.run,
                    on_result=state.record,
                    gate=gate,
                    admission=levels.admission,
                )
            )
        state.live.batches_ended_at = state.clock()


def _auto_levels(state: RunState) -> AutoLevels:
    """--concurrency auto: a tuner per endpoint, its levels shown in the progress line."""
    gen = state.job.settings.generation
    levels = AutoLevels.over(
        state.pool,
        tuning=Tuning(max_level=gen.max_concurrency),
        api_key=state.api_key,
        model=state.model,
        metrics_urls=state.job.settings.server.metrics_urls,
    )
    state.levels = levels
    levels.on_change = lambda label: setattr(state.live, "concurrency", label)
    state.live.concurrency = levels.label()
    return levels
