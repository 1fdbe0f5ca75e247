"""The values that flow through a run, in order (docs/architecture.md has the whole chain):

BatchSpec -> Completion -> Extracted (pairs.extract) -> Pair | Rejection -> BatchResult
-> BatchRecord (storage) -> dataset -> RunSummary (run.summary)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from client.pairs.inputs import InputItem
from client.pairs.judge import Grades

BatchStatus = Literal["ok", "truncated", "failed"]
FINISHED_STATUSES: frozenset[str] = frozenset({"ok", "truncated"})


@dataclass(frozen=True, slots=True)
class BatchSpec:
    index: int  # 1-based, stable across resumes: it names the raw file
    num_pairs: int
    topic_focus: str
    seed: int
    user_message: str
    # A rewrite batch (generate --input): the inputs it asks to rewrite, in order.
    inputs: tuple[InputItem, ...] = ()


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    model: str
    latency_s: float
    endpoint: str


def input_ref(item: InputItem, *, tied_by_text: bool) -> dict[str, Any]:
    """How a raw record names the input an outcome belongs to."""
    ref = item.to_json()
    if tied_by_text:
        ref["tied_by"] = "text"
    return ref


@dataclass(frozen=True, slots=True)
class Pair:
    id: str
    batch: int
    topic: str
    standard: str
    gyaru: str
    generated_at: str
    quality: float
    # Normalised standard and gyaru lines (dedup.normalise), computed once during
    # validation and reused for duplicate detection; never written out.
    normalised: tuple[str, str] = field(default=("", ""), repr=False, compare=False)
    # The input line this pair rewrites (generate --input); None in free generation.
    input: InputItem | None = None
    # Tied to its input by its standard line, the reply's item having no usable id
    # (client.pairs.align); written as `"input": {..., "tied_by": "text"}`.
    tied_by_text: bool = False
    # The judge's grades, once it kept the pair (None: not judged, or the judge is off).
    judge: Grades | None = None
    # What a pair check was not sure of (client.pairs.checks): the judge reads it; with
    # the judge off the pair is kept and the note stays with it in the dataset.
    check_note: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "batch": self.batch,
            "topic": self.topic,
            "standard": self.standard,
            "gyaru": self.gyaru,
            "generated_at": self.generated_at,
            "quality": self.quality,
        }
        if self.input is not None:
            data["input"] = input_ref(self.input, tied_by_text=self.tied_by_text)
        if self.judge is not None:
            data["judge"] = self.judge.to_json()
        if self.check_note is not None:
            data["check_note"] = self.check_note
        return data


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int  # position of the item in the reply
    reason: str  # a short code, counted in summaries
    detail: str  # what exactly was wrong, for a human
    item: Any
    # The input line the item was tied to (generate --input); None when there is none.
    input: InputItem | None = None
    tied_by_text: bool = False  # as for Pair

    def to_json(self) -> dict[str, Any]:
        data = {
            "index": self.index,
            "reason": self.reason,
            "detail": self.detail,
            "item": self.item,
        }
        if self.input is not None:
            data["input"] = input_ref(self.input, tied_by_text=self.tied_by_text)
        return data


@dataclass(frozen=True, slots=True)
class AttemptFailure:
    attempt: int
    reason: str
    message: str
    endpoint: str | None
    wait_s: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "attempt": self.attempt,
            "reason": self.reason,
            "message": self.message,
            "endpoint": self.endpoint,
            "wait_s": self.wait_s,
        }


@dataclass(slots=True)
class BatchResult:
    spec: BatchSpec
    status: BatchStatus
    attempts: int
    started_at: str
    finished_at: str
    completion: Completion | None = None
    accepted: list[Pair] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    extraction: str | None = None
    failures: list[AttemptFailure] = field(default_factory=list)
    # The seed sent with the last attempt (None when seeds are not sent).
    sampling_seed: int | None = None
    error_reason: str | None = None
    error_message: str | None = None
    error_status: int | None = None
    # The near-duplicate signature of each of `accepted` as checked (before the judge),
    # one row each (client.pairs.neardup); None when the run keeps no near-duplicate index.
    signatures: Any = field(default=None, repr=False, compare=False)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES
