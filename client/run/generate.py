"""The `generate` job: from settings to raw batch files, a manifest and a processed dataset.

    Settings ──Session.open──> Session        the job, the run's folder, the pools
             ──prepare──────> Prepared        checks, seed, plan, judge, what is done
             ──BatchSink.open─> BatchSink     manifest started, display made
             ──judge_leftovers, run_batches─> every batch: BatchRunner (the attempt
                                              loop, a RequestOutcome) -> sink.record
             ──finalise─────> RunSummary      the dataset rebuilt from the raw files

An interrupt cancels what is in flight and still finalises; a second one exits at once.
A pair-check worker process that dies stops the run the same way (`WorkerError`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import anyio
import anyio.to_thread
import structlog
from pydantic import SecretStr

from client.clock import Clock, monotonic
from client.config import Settings
from client.errors import WorkerError, unwrap_group
from client.pairs.prompts import new_base_seed
from client.run.finalise import finalise
from client.run.looplag import LoopLagProbe, probing
from client.run.prepare import prepare
from client.run.schedule import TargetGate, schedule
from client.run.session import Session
from client.run.sink import BatchSink, MakeObserver, judge_leftovers
from client.run.summary import RunSummary

log = structlog.get_logger("client.run")


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
    session = Session.open(settings, api_key=api_key, run_id=run_id, argv=argv, clock=clock)
    # None until the run is prepared: an interrupt before then finalises without it.
    sink: BatchSink | None = None
    batch_lag: LoopLagProbe | None = None
    try:
        async with anyio.create_task_group() as tg:
            run_scope = anyio.CancelScope()
            tg.start_soon(session.interrupts.watch, run_scope)
            with run_scope:
                sink = BatchSink.open(await prepare(session, new_seed=new_seed), make_observer)
                with probing() as batch_lag:
                    await judge_leftovers(sink)
                    await run_batches_or_stop(sink, quiet_success=quiet_success)
            # Finalising reads every raw file: off the event loop, so a second
            # Ctrl-C is still heard.
            summary = await anyio.to_thread.run_sync(finalise, session, sink)
            if batch_lag is not None:
                summary.batch_loop_lag = batch_lag.summary()
            tg.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        raise unwrap_group(group) from None
    finally:
        with anyio.CancelScope(shield=True):
            await session.aclose()
    return summary


def _gate(sink: BatchSink) -> TargetGate | None:
    """Target mode: stop admitting batches once those in flight would reach the target."""
    gen = sink.prepared.settings.generation
    if not gen.target_pairs:
        return None
    return TargetGate(
        gen.target_pairs, num_pairs=gen.num_pairs_per_batch, unique_so_far=len(sink.prepared.seen)
    )


async def run_batches_or_stop(sink: BatchSink, *, quiet_success: bool) -> None:
    """`run_batches`; a worker process that died stops them as an interrupt would: the
    batches in flight are dropped, what is written stays, the run is finalised (its
    status says it is not complete, so the exit code is not 0) and can be resumed."""
    try:
        await run_batches(sink, quiet_success=quiet_success)
    except WorkerError as exc:
        log.error(str(exc), run_id=sink.prepared.store.run_id)


def _judge_stopped(sink: BatchSink) -> Callable[[], bool] | None:
    """A judge whose replies cannot be read stops the batches too: pairs made now
    would only join those waiting for it."""
    judge = sink.prepared.judge
    return None if judge is None else lambda: judge.stopped


async def run_batches(sink: BatchSink, *, quiet_success: bool) -> None:
    """Every batch left, through the runner and into the sink, as many at once as the
    pool admits (with --concurrency auto, as its tuners set)."""
    prepared, live = sink.prepared, sink.live
    runner = prepared.job.runner(
        prepared.pool,
        prepared.template,
        run_id=prepared.store.run_id,
        observer=sink.observer,
        quiet_success=quiet_success,
        checks=prepared.session.checks,
    )

    async def batches() -> None:
        await schedule(
            prepared.specs(),
            pool=prepared.pool,
            run_batch=runner.run,
            on_result=sink.record,
            gate=_gate(sink),
            halted=_judge_stopped(sink),
            # A reply's files are written while the next request is already out: on a
            # machine whose cores the server keeps busy, each write's thread hand-off
            # can wait a long time for a core, and the server should not wait with it.
            store_ahead=prepared.pool.total_capacity,
        )

    with sink.observer:
        live.batches_started_at = prepared.session.clock()
        levels = prepared.levels
        if levels is None:
            await batches()
        else:
            levels.on_change = lambda label: setattr(live, "concurrency", label)
            await levels.running(batches)
        live.batches_ended_at = prepared.session.clock()
