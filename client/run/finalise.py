"""The last phase of a run: rebuild the dataset from every raw file, decide the run's
status, close the manifest's session and build the `RunSummary`."""

from __future__ import annotations

from typing import Any

from client.clock import utc_now
from client.run.deciles import DecileSummary
from client.run.diversity import DiversitySummary
from client.run.inputs import InputSummary
from client.run.state import RunState
from client.run.summary import RunStatus, RunSummary, resume_command
from client.storage.processed import DatasetStats, RebuildHook, build_dataset, dataset_metadata


def finalise(state: RunState) -> RunSummary:
    settings, store = state.job.settings, state.store
    signum = state.interrupts.signum
    endpoints = list(settings.server.endpoints)
    stats = DatasetStats()
    files: dict[str, str] = {}
    status: RunStatus = "interrupted" if signum is not None else "incomplete"
    # The rebuild keeps its own de-duplication: the run's keys can go before it starts.
    state.deduper = None
    state.near = None
    if state.manifest is not None:
        stats, path = build_dataset(
            store,
            key=settings.validation.dedup_key,
            earlier=state.earlier,
            near=state.job.near_duplicates(state.earlier_pairs),
            metadata=dataset_metadata(
                run_id=store.run_id,
                created_at=utc_now(),
                model=state.model,
                persona=settings.persona.name,
                topics=list(settings.persona.topics),
                prompt_sha=state.manifest.manifest.prompt_sha,
                endpoints=endpoints,
                config=settings.snapshot(),
            ),
            hooks=_hooks(state),
            require_judge=settings.judge.enabled,
        )
        if signum is None:
            status = _status(state, stats)
        files = {
            "raw_dir": str(store.raw_dir),
            "manifest": str(store.manifest_path),
            "processed": str(path),
        }
    summary = RunSummary(
        run_id=store.run_id,
        status=status,
        model=state.model,
        endpoints=endpoints,
        stats=stats,
        wall_s=state.clock() - state.started,
        batches_planned=state.live.batches_planned,
        batches_skipped=state.skipped,
        live=state.live,
        target_pairs=settings.generation.target_pairs,
        files=files,
        endpoint_served={s.url: s.served for s in state.pool.states},
        interrupted_by=signum,
        concurrency=_concurrency(state),
    )
    if state.manifest is not None:
        if status != "complete":
            summary.resume_command = resume_command(state.argv, store.run_id)
        state.manifest.manifest.finish(status, summary.to_json(), now=utc_now())
        state.manifest.write()
    return summary


def _hooks(state: RunState) -> list[RebuildHook]:
    hooks: list[RebuildHook] = [DiversitySummary(state.job)]
    if state.input_counts is not None:
        hooks.append(InputSummary(state.input_counts))
    else:
        # Deciles of the batches the run actually has (a target run may stop early).
        last = max((index for index, _ in state.store.batch_files()), default=1)
        first_person = state.job.settings.persona.first_person
        hooks.append(DecileSummary(last, first_person))
    return hooks


def _status(state: RunState, stats: DatasetStats) -> RunStatus:
    """Complete: no batch failed, unreadable or waiting for the judge, and the plan (or
    the target, or every input line) is met."""
    target = state.job.settings.generation.target_pairs
    all_done = (
        stats.batches_failed == 0
        and stats.batches_unreadable == 0
        and stats.batches_awaiting_judge == 0
    )
    if "inputs" in stats.extra:
        enough = stats.extra["inputs"]["pending"] == 0
    elif target:
        enough = stats.pairs_unique >= target
    else:
        enough = stats.batches_finished >= state.job.limit
    return "complete" if all_done and enough else "incomplete"


def _concurrency(state: RunState) -> dict[str, Any]:
    """The level used: fixed, or what auto did on each endpoint."""
    gen = state.job.settings.generation
    if state.levels is not None:
        return state.levels.to_json()
    if gen.auto_concurrency:
        return {"mode": "auto", "max_concurrency": gen.max_concurrency, "endpoints": {}}
    return {"mode": "fixed", "level": gen.concurrency}
