"""The judge's two phases of a generate run (see run.generate): find its server and
model once the generating server has answered, and grade the batches an earlier
session generated but did not judge (the judge was down, the run was stopped
between the two steps, or the judge was off then)."""

from __future__ import annotations

import anyio
import structlog

from client.errors import ModelNotServedError, ServerUnavailableError
from client.pairs.judge_request import DictPair
from client.run.state import RunState
from client.server.readiness import resolve_model, wait_for_endpoints

log = structlog.get_logger("client.run")


async def prepare_judge(state: RunState) -> None:
    """The judge step: the generating pool and model unless judge.base_url / judge.model
    name others. A judge server that does not answer now does not stop the run: its
    batches wait for the judge, and a resumed run grades them."""
    assert state.model is not None
    config = state.job.settings.judge
    pool, model = state.pool, config.model or state.model
    try:
        if state.judge_pool is not None:
            pool = state.judge_pool
            statuses = await wait_for_endpoints(pool.endpoints, wait_s=0)
            model = resolve_model(config.model or "auto", statuses)
        elif config.model is not None:
            model = resolve_model(config.model, state.statuses)
    except ModelNotServedError as exc:
        hint = str(exc).replace("--model or server.model", "--judge-model or judge.model")
        raise ModelNotServedError(f"judge: {hint}") from None
    except ServerUnavailableError as exc:
        log.warning("the judge server is not ready; its batches wait for it", error=str(exc))
    state.judge = state.job.judge_stage(pool, model, run_id=state.store.run_id)


async def judge_leftovers(state: RunState) -> None:
    """Judge every batch of an earlier session that waits for the judge, before new
    batches are asked for; as many at once as the pool allows."""
    if state.judge is None or not state.to_judge:
        return
    log.info(
        "judging batches generated earlier but not judged",
        run_id=state.store.run_id,
        batches=len(state.to_judge),
    )
    async with anyio.create_task_group() as tg:
        for index in state.to_judge:
            tg.start_soon(_judge_one, state, index)


async def _judge_one(state: RunState, index: int) -> None:
    assert state.judge is not None
    assert state.deduper is not None
    assert state.manifest is not None
    record = state.store.read_batch(index)
    if record is None or not record.awaits_judge():
        return
    pairs = [DictPair(p) for p in record.accepted]
    outcome = await state.judge.judge(index, pairs)
    judged = record.with_judgement(outcome)
    await state.write_record(index, judged)
    if outcome.judged:
        for digest in judged.dedup_keys(state.job.settings.validation.dedup_key):
            state.deduper.add_key(digest)
    state.manifest.set_judged(
        index,
        judge=outcome.status,
        accepted=len(judged.accepted),
        rejected=len(judged.rejection_reasons),
    )
    await state.write_manifest_if_due()
