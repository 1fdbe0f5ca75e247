"""The live view of a run: counters the run keeps, and a rich progress display of them.

The display is for people at a terminal; when stderr is not a terminal (or with
--no-progress, or JSON logs) the run uses `QuietObserver` and only logs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from client.clock import Clock, monotonic
from client.pairs.records import AttemptFailure, BatchResult, BatchSpec


def _none_in_flight() -> int:
    return 0


@dataclass
class LiveStats:
    """What this invocation has done so far (resumed batches are not counted here)."""

    batches_planned: int
    clock: Clock = field(default=monotonic, repr=False)
    started: float = field(default_factory=monotonic)
    # The batches in flight, read from their one owner (the endpoint pool's admitted work).
    count_in_flight: Callable[[], int] = field(default=_none_in_flight, repr=False)
    # With --concurrency auto, the levels in use ("auto 16"); empty for a fixed level.
    concurrency: str = ""
    batches_done: int = 0
    batches_failed: int = 0
    unique_pairs: int = 0
    rejected: int = 0
    duplicates: int = 0
    retries: int = 0
    # The judge's retries (a reply it could not read, a server error), apart from
    # generation's.
    judge_retries: int = 0
    completion_tokens: int = 0
    prompt_tokens: int = 0
    # Input runs: lines of the file, and lines settled or set aside (blank, duplicate,
    # rejected without a request, answered): what the progress bar counts.
    input_lines: int | None = None
    input_lines_done: int = 0
    # From the first batch scheduled to the last one finished (server check and
    # finalising excluded): what scheduling efficiency is measured on.
    batches_started_at: float | None = None
    batches_ended_at: float | None = None

    @property
    def in_flight(self) -> int:
        return self.count_in_flight()

    @property
    def batch_phase_s(self) -> float:
        if self.batches_started_at is None:
            return 0.0
        end = self.clock() if self.batches_ended_at is None else self.batches_ended_at
        return end - self.batches_started_at

    @property
    def elapsed_s(self) -> float:
        return self.clock() - self.started

    @property
    def tokens_per_s(self) -> float:
        elapsed = self.elapsed_s
        return self.completion_tokens / elapsed if elapsed > 0 else 0.0


class QuietObserver:
    def __init__(self, stats: LiveStats) -> None:
        self.stats = stats

    def batch_started(self, spec: BatchSpec) -> None:
        return None

    def batch_retrying(self, spec: BatchSpec, failure: AttemptFailure) -> None:
        self.stats.retries += 1

    def batch_finished(self, result: BatchResult, new_unique: int) -> None:
        stats = self.stats
        stats.batches_done += 1
        stats.batches_failed += result.status == "failed"
        stats.unique_pairs += new_unique
        stats.rejected += len(result.rejected)
        stats.duplicates += len(result.accepted) - new_unique
        if result.finished:
            stats.input_lines_done += len(result.spec.inputs)
        if result.completion is not None:
            stats.completion_tokens += result.completion.completion_tokens
            stats.prompt_tokens += result.completion.prompt_tokens

    def __enter__(self) -> QuietObserver:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


def describe(s: LiveStats) -> str:
    """The counters of the progress line (rich markup)."""
    return (
        f"[green]{s.unique_pairs} ok[/] [red]{s.rejected} rejected[/] "
        f"{s.duplicates} dup · {s.in_flight} in flight"
        f"{f' ({s.concurrency})' if s.concurrency else ''} · {s.retries} retries"
        f"{f' · [red]{s.batches_failed} failed[/]' if s.batches_failed else ''}"
        f" · {s.tokens_per_s:,.0f} tok/s"
    )


class _StatsColumn(ProgressColumn):
    """The counters, read at every refresh of the display: what is in flight is the
    pool's count, which changes between the observer's events."""

    def __init__(self, stats: LiveStats) -> None:
        super().__init__()
        self.stats = stats

    def render(self, task: Task) -> Text:
        return Text.from_markup(describe(self.stats))


class ProgressObserver(QuietObserver):
    """A rich progress bar over batches (over pairs in target mode, over input lines in
    an input run)."""

    def __init__(self, stats: LiveStats, *, console: Console, target_pairs: int | None) -> None:
        super().__init__(stats)
        self.target_pairs = target_pairs
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _StatsColumn(stats),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            redirect_stderr=True,
            redirect_stdout=True,
            transient=False,
        )
        unit, total = "batches", stats.batches_planned
        if target_pairs:
            unit, total = "pairs", target_pairs
        elif stats.input_lines is not None:
            unit, total = "input lines", stats.input_lines
        self.task: TaskID = self.progress.add_task(unit, total=total)
        self._refresh()

    def _refresh(self) -> None:
        s = self.stats
        completed = s.batches_done
        if self.target_pairs:
            completed = min(s.unique_pairs, self.target_pairs)
        elif s.input_lines is not None:
            completed = s.input_lines_done
        self.progress.update(self.task, completed=completed)

    def batch_started(self, spec: BatchSpec) -> None:
        super().batch_started(spec)
        self._refresh()

    def batch_retrying(self, spec: BatchSpec, failure: AttemptFailure) -> None:
        super().batch_retrying(spec, failure)
        self._refresh()

    def batch_finished(self, result: BatchResult, new_unique: int) -> None:
        super().batch_finished(result, new_unique)
        self._refresh()

    def __enter__(self) -> ProgressObserver:
        self.progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._refresh()
        self.progress.stop()
