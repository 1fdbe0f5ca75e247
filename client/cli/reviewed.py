"""What a review (`client review`) does to the commands that read a dataset: export and
stats use the dataset as its review file left it (rejected pairs out, edited lines in,
rescued run-rejected items added), unless --ignore-review."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from client.pairs.review import Reviewed
    from client.storage.dataset import Dataset


def add_ignore_review(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ignore-review",
        action="store_true",
        help="use the dataset as generated (default: rejected pairs left out and edited "
        "lines used, from the review file `client review` writes beside the dataset)",
    )


def apply_review(args: argparse.Namespace, dataset: Dataset) -> tuple[Dataset, Reviewed | None]:
    """The dataset to work on, and the review applied to it (None: none, or ignored)."""
    if args.ignore_review:
        return dataset, None
    from client.storage.review import reviewed_dataset

    reviewed, result = reviewed_dataset(dataset)
    return reviewed, None if reviewed is dataset else result


def review_fields(args: argparse.Namespace, review: Reviewed | None) -> dict[str, Any]:
    """The review's numbers for a log line."""
    if args.ignore_review:
        return {"review": "ignored"}
    if review is None:
        return {"reviewed": 0}
    return {
        "reviewed": review.reviewed,
        "review_rejected": review.counts["rejected"],
        "edited": review.counts["edited"],
        "rescued": review.rescued,
        "stale_decisions": review.stale,
    }


def review_line(args: argparse.Namespace, review: Reviewed | None) -> str | None:
    """The review in words, for a table row; None when there is no review to speak of."""
    if args.ignore_review:
        return "ignored (--ignore-review): the dataset as generated"
    if review is None:
        return None
    counts = review.counts
    line = (
        f"{review.reviewed} reviewed: {counts['rejected']} rejected (left out), "
        f"{counts['edited']} edited, {counts['accepted']} accepted"
    )
    if review.rescued:
        line += f"; {review.rescued} rescued from the run's rejections (added)"
    return line + (f"; {review.stale} stale decisions ignored" if review.stale else "")
