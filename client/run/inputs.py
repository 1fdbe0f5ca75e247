"""The phases an input run (`generate --input FILE`) adds to generate's own.

    check_inputs            before the server is asked anything: read and screen the
                            whole file; a bad record stops the run (exit 2), nothing sent
    write_input_rejections  once the run's folder exists: the lines never sent, and why
    plan_inputs             after earlier sessions' records are read: what is left to send
    input_specs             the batches, streamed from the file as workers take them

The file is never held in memory: each pass reads it line by line, and what a pass
keeps is two 12-byte digests per unique line (the screen) and the keys of the
inputs earlier sessions settled.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import structlog

from client.pairs.inputs import InputCounts, InputItem, InputScreen, batches_of
from client.pairs.records import BatchSpec
from client.pairs.rewrites import InputTally, input_summary
from client.run.state import RunState
from client.storage.batch_record import BatchRecord
from client.storage.inputs import items, read_input, survey
from client.storage.processed import DatasetStats

log = structlog.get_logger("client.run")


def check_inputs(state: RunState) -> None:
    job = state.job
    if job.inputs is None:
        return
    screen = InputScreen(job.rules)
    for record in read_input(job.inputs):
        screen.screen(record)
    state.input_counts = screen.counts
    log.info("input file read", file=str(job.inputs.path), **screen.counts.to_json())


def write_input_rejections(state: RunState) -> None:
    job, store = state.job, state.store
    if job.inputs is not None:
        survey(job.inputs, InputScreen(job.rules), store.input_rejections_path, fsync=store.fsync)


def _items(state: RunState) -> Iterator[InputItem]:
    assert state.job.inputs is not None
    return items(state.job.inputs, InputScreen(state.job.rules))


def first_spec(state: RunState) -> BatchSpec:
    """The first batch this session would send (for the prompt-length check)."""
    plan = state.job.rewrite_plan(state.base_seed)
    first = next(batches_of(_items(state), plan.batch_size), None)
    return plan.spec(1, first or [InputItem(1, 1, "確認です。", "")])


def plan_inputs(state: RunState) -> None:
    """How many batches and input lines are left, for the progress display and the summary."""
    counts = state.input_counts
    if counts is None:
        return
    pending = max(counts.sent - len(state.settled), 0)
    batch_size = state.job.settings.generation.num_pairs_per_batch
    state.live.batches_planned = len(state.done) + math.ceil(pending / batch_size)
    state.live.input_lines = counts.lines
    state.live.input_lines_done = counts.lines - pending


def input_specs(state: RunState) -> Iterator[BatchSpec]:
    plan = state.job.rewrite_plan(state.base_seed)
    return plan.specs(_items(state), settled=state.settled, taken=state.done)


class InputSummary:
    """A rebuild hook: how every line of the file ended, as the summary's `inputs`."""

    def __init__(self, counts: InputCounts) -> None:
        self.counts = counts
        self.tally = InputTally()

    def record(self, record: BatchRecord) -> None:
        self.tally.add(record.data)

    def pair(self, batch: int, pair: dict[str, Any]) -> None:
        return None

    def finish(self, stats: DatasetStats) -> None:
        stats.extra["inputs"] = input_summary(self.counts, self.tally)
