"""The review file beside a dataset, and the run's rejected items the review page shows.

    processed/gyaru_dataset_<run_id>.json          the dataset (never modified by a review)
    processed/gyaru_dataset_<run_id>.review.json   {"format": 1, "dataset": ..., "updated_at": ...,
                                                    "decisions": {pair id: Decision.to_json()}}

The review file is rewritten whole after every decision (temporary file, fsync,
rename): a killed review server leaves the previous complete file or the new one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from client.errors import UsageError
from client.pairs.review import Decision, Reviewed, apply_review
from client.storage.atomic import atomic_write_json
from client.storage.dataset import Dataset
from client.storage.layout import RUN_ID_RE, rejected_path
from client.storage.runstore import RunStore

REVIEW_FORMAT = 1
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

    def load(self) -> dict[str, Decision]:
        """The decisions so far (none when there is no file yet); a damaged file is an
        error, never silently replaced by an empty review."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read review file {self.path}: {exc}") from None
        except ValueError as exc:
            raise UsageError(f"review file {self.path} is not valid JSON: {exc}") from None
        entries = data.get("decisions") if isinstance(data, dict) else None
        if not isinstance(entries, dict):
            raise UsageError(f"review file {self.path} has no 'decisions' mapping")
        decisions: dict[str, Decision] = {}
        for pair_id, entry in entries.items():
            try:
                decisions[pair_id] = Decision.from_json(entry)
            except (KeyError, TypeError, ValueError) as exc:
                raise UsageError(
                    f"review file {self.path}: the decision for {pair_id!r} is invalid ({exc})"
                ) from None
        return decisions

    def save(self, decisions: Mapping[str, Decision], *, now: str, fsync: bool = True) -> None:
        document = {
            "format": REVIEW_FORMAT,
            "dataset": self.dataset_name,
            "updated_at": now,
            "decisions": {pair_id: d.to_json() for pair_id, d in decisions.items()},
        }
        atomic_write_json(self.path, document, fsync=fsync, indent=1)


def _item_lines(item: Any) -> tuple[str, str, str]:
    if isinstance(item, dict):
        return (
            str(item.get("standard", "")),
            str(item.get("gyaru", "")),
            str(item.get("topic", "")),
        )
    # A reply item that was not even an object: show what the model wrote.
    return (json.dumps(item, ensure_ascii=False), "", "")


def _rejected_item(run_id: str, batch: int, rejection: dict[str, Any]) -> dict[str, Any]:
    item = rejection.get("item")
    standard, gyaru, topic = _item_lines(item)
    judge = item.get("judge") if isinstance(item, dict) else None
    index = rejection.get("index")
    return {
        "id": f"{run_id}-b{batch:04d}-x{index if isinstance(index, int) else 0:03d}",
        "batch": batch,
        "topic": topic,
        "standard": standard,
        "gyaru": gyaru,
        "reason": str(rejection.get("reason", "?")),
        "detail": str(rejection.get("detail", "")),
        "judge": judge if isinstance(judge, dict) else rejection.get("judge"),
    }


def _set_aside(dataset_path: Path) -> list[dict[str, Any]]:
    """The pairs a dataset's own writer left out (`client judge`: NAME.rejected.jsonl,
    {"reason", "detail", "judge", "pair"} a line); lines that are not such are skipped."""
    try:
        text = rejected_path(dataset_path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    items = []
    for number, line in enumerate(text.splitlines()):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("pair"), dict):
            pair = entry["pair"]
            item = {**pair, "judge": entry.get("judge") or pair.get("judge")}
            rejection = {
                "index": number,
                "reason": entry.get("reason"),
                "detail": entry.get("detail"),
                "item": item,
            }
            found = _rejected_item(dataset_path.stem, int(pair.get("batch") or 0), rejection)
            items.append(found | {"id": f"{pair.get('id', dataset_path.stem)}-x"})
    return items


def rejections(dataset_path: Path, metadata: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every item turned down on the way to this dataset: by the run, and by the step
    that wrote the dataset (`client judge`)."""
    return run_rejections(dataset_path, metadata) + _set_aside(dataset_path)


def run_rejections(dataset_path: Path, metadata: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The items the checks (or the judge) turned down in the run behind a dataset, read
    from its raw batch files; none when the run's folder is not where the run left it."""
    run_id = metadata.get("run_id")
    if not isinstance(run_id, str) or not RUN_ID_RE.fullmatch(run_id) or ".." in run_id:
        return []
    store = RunStore(dataset_path.parent.parent, run_id, fsync=False)
    items: list[dict[str, Any]] = []
    for batch, record in store.iter_records():
        if record is not None:
            items.extend(_rejected_item(run_id, batch, r) for r in record.rejected)
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
