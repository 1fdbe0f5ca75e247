"""The review file beside a dataset, and the run's rejected items the review page shows.

    processed/gyaru_dataset_<run_id>.json          the dataset (never modified by a review)
    processed/gyaru_dataset_<run_id>.review.json   {"format": 1, "dataset": ..., "updated_at": ...,
                                                    "decisions": {pair id: Decision.to_json()},
                                                    "run_rejected": {item id: RunDecision.to_json()}}

`run_rejected` (decisions about the items the run turned down, each with the item)
is absent from files written before rescue existed; they read as before.

The review file is rewritten whole after every decision (temporary file, fsync,
rename): a killed review server leaves the previous complete file or the new one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from client.errors import UsageError
from client.pairs.rescue import RunItem, run_item
from client.pairs.review import Decision, Review, Reviewed, RunDecision, apply_review
from client.storage.atomic import atomic_write_json
from client.storage.dataset import Dataset
from client.storage.layout import RUN_ID_RE, rejected_path
from client.storage.runstore import RunStore

REVIEW_FORMAT = 1
_T = TypeVar("_T")
REVIEW_SUFFIX = ".review.json"


def review_path(dataset_path: Path) -> Path:
    return dataset_path.with_name(dataset_path.stem + REVIEW_SUFFIX)


@dataclass(frozen=True)
class ReviewFile:
    path: Path
    dataset_name: str

    @classmethod
    def beside(cls, dataset_path: Path) -> ReviewFile:
        return cls(review_path(dataset_path), dataset_path.name)

    def load(self) -> Review:
        """The decisions so far (none when there is no file yet); a damaged file is an
        error, never silently replaced by an empty review."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return Review()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read review file {self.path}: {exc}") from None
        except ValueError as exc:
            raise UsageError(f"review file {self.path} is not valid JSON: {exc}") from None
        entries = data.get("decisions") if isinstance(data, dict) else None
        if not isinstance(entries, dict):
            raise UsageError(f"review file {self.path} has no 'decisions' mapping")
        runs = data.get("run_rejected", {})
        if not isinstance(runs, dict):
            raise UsageError(f"review file {self.path}: 'run_rejected' is not a mapping")
        return Review(
            decisions=self._read(entries, Decision.from_json, "decision for"),
            run_items=self._read(runs, RunDecision.from_json, "decision on the run's item"),
        )

    def _read(
        self, entries: Mapping[str, Any], read: Callable[[Any], _T], what: str
    ) -> dict[str, _T]:
        found: dict[str, _T] = {}
        for key, entry in entries.items():
            try:
                found[key] = read(entry)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise UsageError(
                    f"review file {self.path}: the {what} {key!r} is invalid ({exc})"
                ) from None
        return found

    def save(self, review: Review, *, now: str, fsync: bool = True) -> None:
        document: dict[str, Any] = {
            "format": REVIEW_FORMAT,
            "dataset": self.dataset_name,
            "updated_at": now,
            "decisions": {pair_id: d.to_json() for pair_id, d in review.decisions.items()},
        }
        if review.run_items:
            document["run_rejected"] = {
                item_id: d.to_json() for item_id, d in review.run_items.items()
            }
        atomic_write_json(self.path, document, fsync=fsync, indent=1)


def _unique(items: Iterable[RunItem]) -> list[RunItem]:
    """The items with ids of their own: an id names a reply position, and some
    rejections share one (every `missing` input of a batch has position -1)."""
    seen: dict[str, int] = {}
    out = []
    for item in items:
        count = seen.get(item.id, 0) + 1
        seen[item.id] = count
        out.append(item if count == 1 else replace(item, id=f"{item.id}.{count}"))
    return out


def _set_aside(dataset_path: Path) -> Iterator[RunItem]:
    """The pairs a dataset's own writer left out (`client judge`: NAME.rejected.jsonl,
    {"reason", "detail", "judge", "pair"} a line); lines that are not such are skipped."""
    try:
        text = rejected_path(dataset_path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("pair"), dict):
            pair = entry["pair"]
            rejection = {
                "reason": entry.get("reason"),
                "detail": entry.get("detail"),
                "item": {**pair, "judge": entry.get("judge") or pair.get("judge")},
            }
            batch = pair.get("batch")
            item_id = f"{pair.get('id', dataset_path.stem)}-x"
            yield run_item(item_id, batch if isinstance(batch, int) else 0, rejection)


def rejections(dataset_path: Path, metadata: Mapping[str, Any]) -> list[RunItem]:
    """Every item turned down on the way to this dataset: by the run, and by the step
    that wrote the dataset (`client judge`)."""
    return _unique([*run_rejections(dataset_path, metadata), *_set_aside(dataset_path)])


def run_rejections(dataset_path: Path, metadata: Mapping[str, Any]) -> list[RunItem]:
    """The items the checks (or the judge) turned down in the run behind a dataset, read
    from its raw batch files; none when the run's folder is not where the run left it."""
    run_id = metadata.get("run_id")
    if not isinstance(run_id, str) or not RUN_ID_RE.fullmatch(run_id) or ".." in run_id:
        return []
    store = RunStore(dataset_path.parent.parent, run_id, fsync=False)
    items: list[RunItem] = []
    for batch, record in store.iter_records():
        if record is None:
            continue
        for rejection in record.rejected:
            index = rejection.get("index")
            position = index if isinstance(index, int) else 0
            items.append(run_item(f"{run_id}-b{batch:04d}-x{position:03d}", batch, rejection))
    return items


def reviewed_dataset(dataset: Dataset) -> tuple[Dataset, Reviewed]:
    """The dataset as its review left it (the same dataset when there is no review yet);
    its metadata says how many pairs were reviewed, for whatever writes metadata."""
    review = ReviewFile.beside(dataset.path)
    result = apply_review(dataset.pairs, review.load())
    if not review.path.exists():
        return dataset, result
    metadata = {**dataset.metadata, "review": {"file": review.path.name, **result.to_json()}}
    return Dataset(path=dataset.path, metadata=metadata, pairs=result.pairs), result
