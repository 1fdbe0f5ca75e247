"""What an input run (`generate --input FILE`) adds to generate's setup and its batches.

    check_inputs            before the server is asked anything: read and screen the
                            whole file (an `InputFile`, with its fingerprint); a bad
                            record stops the run (exit 2), nothing sent
    check_same_input        a resumed run's input is the one it was made from (the
                            manifest's fingerprint), or the run is refused (exit 2)
    write_input_rejections  once the run's folder exists: the lines never sent, and why
    InputFile.left          after earlier sessions' records are read: what is left to
                            send (an `InputRun`)
    InputFile.specs         the batches, streamed from the file as workers take them

The file is never held in memory: each pass reads it line by line, and what a pass
keeps is two 12-byte digests per unique line (the screen) and the keys of the
inputs earlier sessions settled.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

import structlog

from client.errors import UsageError
from client.pairs.digests import DigestSet
from client.pairs.fingerprint import InputFingerprint, input_refusal
from client.pairs.inputs import InputCounts, InputItem, InputScreen, batches_of
from client.pairs.records import BatchSpec
from client.pairs.rewrite import RewritePlan, RewritePrompts
from client.pairs.rewrites import InputTally, input_summary
from client.pairs.schema import PairRules
from client.run.job import Job
from client.storage.batch_record import BatchRecord
from client.storage.inputs import InputSource, items, read_input, survey
from client.storage.manifest import Manifest
from client.storage.processed import DatasetStats
from client.storage.runstore import RunStore

log = structlog.get_logger("client.run")


@dataclass(frozen=True)
class InputFile:
    """An input run's file, screened once: where it is, how its lines are checked and
    rewritten, and what it holds."""

    source: InputSource
    rules: PairRules
    prompts: RewritePrompts
    batch_size: int
    counts: InputCounts
    # What the run's manifest records of the file (and a resumed run checks).
    fingerprint: InputFingerprint

    def plan(self, base_seed: int) -> RewritePlan:
        return RewritePlan(prompts=self.prompts, batch_size=self.batch_size, base_seed=base_seed)

    def items(self) -> Iterator[InputItem]:
        return items(self.source, InputScreen(self.rules))

    def first_spec(self, base_seed: int) -> BatchSpec:
        """The first batch this session would send (for the prompt-length check)."""
        plan = self.plan(base_seed)
        first = next(batches_of(self.items(), plan.batch_size), None)
        return plan.spec(1, first or [InputItem(1, 1, "確認です。", "")])

    def specs(
        self, base_seed: int, *, settled: DigestSet, done: Collection[int]
    ) -> Iterator[BatchSpec]:
        """The batches, streamed from the file as workers take them."""
        return self.plan(base_seed).specs(self.items(), settled=settled, taken=done)

    def left(self, *, done: Collection[int], settled: DigestSet) -> InputRun:
        """What is left once earlier sessions' batches are read."""
        pending = max(self.counts.sent - len(settled), 0)
        return InputRun(self, pending, len(done) + math.ceil(pending / self.batch_size))


@dataclass(frozen=True)
class InputRun:
    """An input run as this session takes it up: the file, and what is left of it."""

    file: InputFile
    # Lines to send that no earlier session settled.
    pending: int
    # Batches the run has in all: earlier sessions' and those left.
    batches: int

    @property
    def counts(self) -> InputCounts:
        return self.file.counts

    @property
    def lines_done(self) -> int:
        """Lines settled or set aside (blank, duplicate, rejected without a request)."""
        return self.counts.lines - self.pending


def check_inputs(job: Job) -> InputFile | None:
    """Read and screen the whole file before the server is asked anything (None in free
    generation); a bad record stops the run (UsageError, exit 2)."""
    if job.inputs is None or job.rewrite is None:
        return None
    screen = InputScreen(job.rules)
    for record in read_input(job.inputs):
        screen.screen(record)
    log.info("input file read", file=str(job.inputs.path), **screen.counts.to_json())
    batch_size = job.settings.generation.num_pairs_per_batch
    fingerprint = screen.fingerprint(job.inputs.path.name)
    return InputFile(job.inputs, job.rules, job.rewrite, batch_size, screen.counts, fingerprint)


def check_same_input(run_id: str, previous: Manifest | None, inputs: InputFile | None) -> None:
    """Refuse (UsageError, exit 2) to resume a run with another input than the one it
    was made from: another file, --input on a free run, none on an input run. Before
    any request, so a refused run costs nothing."""
    recorded = previous.input if previous is not None else None
    refusal = input_refusal(run_id, recorded, inputs.fingerprint if inputs else None)
    if refusal is not None:
        raise UsageError(refusal)


def write_input_rejections(inputs: InputFile, store: RunStore) -> None:
    """Once the run's folder exists: the lines never sent, and why."""
    survey(inputs.source, InputScreen(inputs.rules), store.input_rejections_path, fsync=store.fsync)


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
        # An input run's pairs are one per line: the pairs waiting are the lines.
        stats.extra["inputs"] = input_summary(
            self.counts, self.tally, awaiting=stats.pairs_awaiting_judge
        )
