"""One review: a dataset, its review file and the run's rejected items, shared by the
requests of the review server. Decisions are saved before they are acknowledged.
The persona the page shows comes from client.web.persona.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from client.config import Settings
from client.pairs.quality import quality_score
from client.pairs.rescue import RunItem
from client.pairs.review import (
    MAX_EDIT_CHARS,
    VERDICTS,
    Decision,
    Review,
    RunDecision,
    Verdict,
    fingerprint,
    pair_key,
)
from client.pairs.worddiff import word_diff
from client.storage.dataset import Dataset
from client.storage.review import ReviewFile, rejections
from client.web.persona import ReviewPersona, persona_of, settings_of

# The fields of a pair the page shows; the rest (generated_at, ...) stays on disk.
PAIR_FIELDS = ("id", "topic", "standard", "gyaru", "quality", "judge", "batch")
# Words for at most this many items per request: a page is 100.
MAX_WORDS_IDS = 500
_WORDS_CACHE = 50_000


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


class DecisionError(ValueError):
    """A request the page sent that cannot be served; the message is shown to the user."""


@dataclass(frozen=True)
class Saved:
    item_id: str
    decision: str  # "" when cleared
    gyaru: str | None
    words: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.item_id,
            "decision": self.decision,
            "gyaru": self.gyaru,
            "words": self.words,
        }


class ReviewSession:
    def __init__(
        self,
        *,
        dataset_path: Path,
        metadata: Mapping[str, Any],
        pairs: list[dict[str, Any]],
        rejected: Sequence[RunItem],
        review: ReviewFile,
        persona: ReviewPersona,
        clock: Callable[[], str],
        fsync: bool = True,
    ) -> None:
        self.dataset_path = dataset_path
        self.metadata = metadata
        self.persona = persona
        self.pairs = {pair_key(p, i): p for i, p in enumerate(pairs)}
        self.review = review
        self.clock = clock
        self.fsync = fsync
        self.saved = review.load()
        self.rejected = self._run_items(rejected)
        # Requests run in a thread pool: one decision at a time reads, changes and
        # rewrites the file.
        self._lock = threading.Lock()
        self._fixed: bytes | None = None
        self._words: dict[tuple[str, str], dict[str, Any]] = {}

    def _run_items(self, found: Sequence[RunItem]) -> dict[str, RunItem]:
        """The run's rejected items with their quality score, and any the review file
        keeps that the raw files no longer hold (a rescue outlives them)."""
        items = {item.id: self._scored(item) for item in found}
        for item_id, decided in self.saved.run_items.items():
            items.setdefault(item_id, decided.item)
        return items

    def _scored(self, item: RunItem) -> RunItem:
        if not item.rescuable:
            return item
        p = self.persona
        return item.with_quality(
            quality_score(item.standard, item.gyaru, p.markers, p.first_person)
        )

    # ---- what the page reads ---------------------------------------------

    def payload(self) -> dict[str, Any]:
        """Everything the page needs, in one response."""
        payload: dict[str, Any] = json.loads(self.payload_json())
        return payload

    def _fixed_json(self) -> bytes:
        """The pairs and the run's items, serialised once (they never change while the
        server runs; 20,000 pairs take longer to encode than the rest of a request)."""
        if self._fixed is None:
            pairs = [
                {key: pair.get(key) for key in PAIR_FIELDS} | {"id": pair_id}
                for pair_id, pair in self.pairs.items()
            ]
            rejected = [
                item.to_json() | {"checks": item.checks, "rescuable": item.rescuable}
                for item in self.rejected.values()
            ]
            self._fixed = _dumps({"pairs": pairs, "rejected": rejected})[1:-1]
        return self._fixed

    def payload_json(self) -> bytes:
        fixed = self._fixed_json()
        with self._lock:
            decisions = {
                item_id: {"decision": d.verdict, "gyaru": d.gyaru}
                for item_id, d in self._applied().items()
            }
        p = self.persona
        dataset = {
            "name": self.dataset_path.name,
            "run_id": self.metadata.get("run_id"),
            "persona": p.name,
            "first_person": p.first_person,
            "markers": list(p.markers),
            "thresholds": p.thresholds_json(),
            "review_file": self.review.path.name,
        }
        head = _dumps({"dataset": dataset, "decisions": decisions})[:-1]
        return head + b"," + fixed + b"}"

    def _lines(self, item_id: str) -> tuple[str, str] | None:
        pair = self.pairs.get(item_id)
        if pair is not None:
            return pair["standard"], pair["gyaru"]
        item = self.rejected.get(item_id)
        return (item.standard, item.gyaru) if item is not None else None

    def _applied(self) -> dict[str, Decision]:
        """Every decision that applies to an item as the page shows it (a decision
        about other lines under the same id is stale)."""
        found: dict[str, Decision] = {}
        entries = [*self.saved.decisions.items()]
        entries += [(key, run.decision) for key, run in self.saved.run_items.items()]
        for item_id, decision in entries:
            lines = self._lines(item_id)
            if lines is not None and decision.lines == fingerprint(*lines):
                found[item_id] = decision
        return found

    def words(self, ids: Any) -> dict[str, dict[str, Any]]:
        """The word diff of each item as the page shows it (an edited line against
        the standard line), by id; ids of nothing are left out."""
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise DecisionError("ids must be a list of strings")
        if len(ids) > MAX_WORDS_IDS:
            raise DecisionError(f"at most {MAX_WORDS_IDS} ids a request")
        with self._lock:
            applied = self._applied()
        out = {}
        for item_id in ids:
            lines = self._lines(item_id)
            if lines is not None:
                decision = applied.get(item_id)
                shown = decision.gyaru if decision is not None and decision.gyaru else lines[1]
                out[item_id] = self._diff(lines[0], shown)
        return out

    def clear_words(self) -> None:
        """Forget every word diff worked out so far (the benchmark measures them afresh)."""
        self._words = {}

    def warm(self, count: int = 100) -> None:
        """Work out the word diff of the first `count` pairs ahead of the page's first
        request for them (the server runs this while the browser opens)."""
        self.words(list(self.pairs)[:count])

    def _diff(self, standard: str, gyaru: str) -> dict[str, Any]:
        key = (standard, gyaru)
        found = self._words.get(key)
        if found is None:
            if len(self._words) >= _WORDS_CACHE:
                self._words.clear()
            found = word_diff(standard, gyaru, self.persona.voice).to_json() | {"line": gyaru}
            self._words[key] = found
        return found

    # ---- decisions ---------------------------------------------------------

    def decide(self, item_id: Any, verdict: Any, gyaru: Any) -> Saved:
        """Record (or, with verdict "", clear) a decision and write the review file."""
        if not isinstance(item_id, str) or self._lines(item_id) is None:
            raise DecisionError("no such pair in this dataset")
        if verdict not in (*VERDICTS, ""):
            raise DecisionError(f"decision must be one of {', '.join(VERDICTS)} or empty")
        if verdict == "edited":
            if not isinstance(gyaru, str) or not 0 < len(gyaru.strip()) <= MAX_EDIT_CHARS:
                raise DecisionError(f"an edited line must hold 1 to {MAX_EDIT_CHARS} characters")
            gyaru = gyaru.strip()
        else:
            gyaru = None
        item = self.rejected.get(item_id) if item_id not in self.pairs else None
        if item is not None and not item.rescuable:
            raise DecisionError("this item has no standard and persona line to decide on")
        chosen: Verdict | None = verdict or None
        with self._lock:
            review = self._changed(item_id, item, chosen, gyaru)
            self.review.save(review, now=self.clock(), fsync=self.fsync)
            # Only a decision on disk is a decision.
            self.saved = review
        standard, line = self._lines(item_id) or ("", "")
        return Saved(item_id, verdict, gyaru, self._diff(standard, gyaru or line))

    def _changed(
        self, item_id: str, item: RunItem | None, verdict: Verdict | None, gyaru: str | None
    ) -> Review:
        """The review with this decision made (or, with no verdict, cleared)."""
        standard, line = self._lines(item_id) or ("", "")
        decisions = dict(self.saved.decisions)
        runs = dict(self.saved.run_items)
        if verdict is None:
            decisions.pop(item_id, None)
            runs.pop(item_id, None)
        elif item is None:
            decisions[item_id] = Decision(verdict, fingerprint(standard, line), self.clock(), gyaru)
        else:
            decision = Decision(verdict, fingerprint(standard, line), self.clock(), gyaru)
            runs[item_id] = RunDecision(decision, item)
        return Review(decisions=decisions, run_items=runs)


def open_session(
    dataset: Dataset,
    *,
    clock: Callable[[], str],
    settings: Settings | None = None,
    fsync: bool = True,
) -> ReviewSession:
    """The review of a loaded dataset: its review file beside it, its run's rejections,
    its persona from `settings` (default: the settings the dataset was made with)."""
    return ReviewSession(
        dataset_path=dataset.path,
        metadata=dataset.metadata,
        pairs=dataset.pairs,
        rejected=rejections(dataset.path, dataset.metadata),
        review=ReviewFile.beside(dataset.path),
        persona=persona_of(settings if settings is not None else settings_of(dataset)),
        clock=clock,
        fsync=fsync,
    )
