"""One review: a dataset, its review file and the run's rejected items, shared by the
requests of the review server. Decisions are saved before they are acknowledged."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from client.pairs.review import MAX_EDIT_CHARS, VERDICTS, Decision, fingerprint, pair_key
from client.storage.dataset import Dataset
from client.storage.review import ReviewFile, rejections

# The fields of a pair the page shows; the rest (generated_at, ...) stays on disk.
PAIR_FIELDS = ("id", "topic", "standard", "gyaru", "quality", "judge", "batch")


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


class DecisionError(ValueError):
    """A decision the page sent that cannot be taken; the message is shown to the user."""


@dataclass(frozen=True)
class Saved:
    pair_id: str
    decision: str  # "" when cleared
    gyaru: str | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.pair_id, "decision": self.decision, "gyaru": self.gyaru}


def _markers(metadata: Mapping[str, Any]) -> list[str]:
    """The persona's style markers from the config the dataset was made with (none
    for a dataset without a config snapshot: no persona is assumed)."""
    config = metadata.get("config")
    persona = config.get("persona") if isinstance(config, dict) else None
    markers = persona.get("style_markers") if isinstance(persona, dict) else None
    if isinstance(markers, list) and all(isinstance(m, str) for m in markers):
        return markers
    return []


class ReviewSession:
    def __init__(
        self,
        *,
        dataset_path: Path,
        metadata: Mapping[str, Any],
        pairs: list[dict[str, Any]],
        rejected: list[dict[str, Any]],
        review: ReviewFile,
        clock: Callable[[], str],
        fsync: bool = True,
    ) -> None:
        self.dataset_path = dataset_path
        self.metadata = metadata
        self.pairs = {pair_key(p, i): p for i, p in enumerate(pairs)}
        self.rejected = rejected
        self.review = review
        self.clock = clock
        self.fsync = fsync
        self.decisions = review.load()
        # Requests run in a thread pool: one decision at a time reads, changes and
        # rewrites the file.
        self._lock = threading.Lock()
        self._fixed: bytes | None = None

    def payload(self) -> dict[str, Any]:
        """Everything the page needs, in one response."""
        payload: dict[str, Any] = json.loads(self.payload_json())
        return payload

    def payload_json(self) -> bytes:
        """payload() as JSON: the pairs serialised once (they never change while the server
        runs; 20,000 of them take longer to encode than the rest of a request)."""
        if self._fixed is None:
            pairs = [
                {key: pair.get(key) for key in PAIR_FIELDS} | {"id": pair_id}
                for pair_id, pair in self.pairs.items()
            ]
            self._fixed = _dumps({"pairs": pairs, "rejected": self.rejected})[1:-1]
        with self._lock:
            decisions = {
                pair_id: {"decision": d.verdict, "gyaru": d.gyaru}
                for pair_id, d in self.decisions.items()
                if pair_id in self.pairs and d.applies_to(self.pairs[pair_id])
            }
        dataset = {
            "name": self.dataset_path.name,
            "run_id": self.metadata.get("run_id"),
            "persona": self.metadata.get("persona"),
            "markers": _markers(self.metadata),
            "review_file": self.review.path.name,
        }
        head = _dumps({"dataset": dataset, "decisions": decisions})[:-1]
        return head + b"," + self._fixed + b"}"

    def decide(self, pair_id: Any, verdict: Any, gyaru: Any) -> Saved:
        """Record (or, with verdict "", clear) a decision and write the review file."""
        if not isinstance(pair_id, str) or pair_id not in self.pairs:
            raise DecisionError("no such pair in this dataset")
        if verdict not in (*VERDICTS, ""):
            raise DecisionError(f"decision must be one of {', '.join(VERDICTS)} or empty")
        if verdict == "edited":
            if not isinstance(gyaru, str) or not 0 < len(gyaru.strip()) <= MAX_EDIT_CHARS:
                raise DecisionError(f"an edited line must hold 1 to {MAX_EDIT_CHARS} characters")
            gyaru = gyaru.strip()
        else:
            gyaru = None
        pair = self.pairs[pair_id]
        with self._lock:
            decisions = dict(self.decisions)
            if verdict:
                lines = fingerprint(pair["standard"], pair["gyaru"])
                decisions[pair_id] = Decision(verdict, lines, self.clock(), gyaru)
            else:
                decisions.pop(pair_id, None)
            self.review.save(decisions, now=self.clock(), fsync=self.fsync)
            # Only a decision on disk is a decision.
            self.decisions = decisions
        return Saved(pair_id, verdict, gyaru)


def open_session(
    dataset: Dataset, *, clock: Callable[[], str], fsync: bool = True
) -> ReviewSession:
    """The review of a loaded dataset: its review file beside it, its run's rejections."""
    return ReviewSession(
        dataset_path=dataset.path,
        metadata=dataset.metadata,
        pairs=dataset.pairs,
        rejected=rejections(dataset.path, dataset.metadata),
        review=ReviewFile.beside(dataset.path),
        clock=clock,
        fsync=fsync,
    )
