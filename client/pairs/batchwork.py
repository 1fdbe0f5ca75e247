"""A batch's CPU-heavy pair work as one pure function of picklable values, so it can
run in a worker process (client.run.workers) or inline with the same result.

`check_batch` takes a finished reply's items and returns the batch's pairs and
rejections (client.pairs.validate, or client.pairs.rewrites for a rewrite batch: the
analyser and every pair check) and the near-duplicate signatures of its pairs
(client.pairs.neardup). The near-duplicate index itself, and every decision that
depends on the order batches finish in, stay with the run: only the signatures are
made here.

The dataset rebuild at the end of a run asks the same workers for `LineFacts`: the
signatures of a raw file's pairs and the words of its persona lines (the diversity
report's), so the run's own process need not load the analyser's dictionary at all.

A `CheckRecipe` is what a worker needs to build its `Checker` once (the persona's
compiled checks hold lambdas, which do not pickle); the `Checker` then serves every
batch the worker is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from client.config.checks import ChecksConfig, NearDuplicateRules
from client.pairs.inputs import InputItem
from client.pairs.records import Pair, Rejection
from client.pairs.schema import PairRules

if TYPE_CHECKING:
    from client.pairs.diversity import Words
    from client.pairs.neardup import MinHasher, Signatures
    from client.pairs.validate import ValidationContext

# A raw file's pairs as (standard, gyaru) lines.
Lines = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class CheckRecipe:
    """Everything that decides a batch's outcome, in picklable values."""

    rules: PairRules
    style_markers: tuple[str, ...]
    min_quality: float
    first_person: str | None  # the persona's (checks set it aside wherever it is)
    checks: ChecksConfig | None  # None: the Japanese-aware checks are off
    near: NearDuplicateRules | None  # None: no signatures (near duplicates off)


@dataclass(frozen=True)
class BatchWork:
    """One finished reply's items, as the run hands them over."""

    items: Sequence[Any]
    run_id: str
    batch: int
    generated_at: str
    # A rewrite batch's inputs, in order; () in free generation.
    inputs: tuple[InputItem, ...] = ()


@dataclass(frozen=True)
class BatchChecked:
    accepted: list[Pair]
    rejected: list[Rejection]
    # One row per accepted pair, in order; None when near duplicates are off.
    signatures: Signatures | None = None


@dataclass(frozen=True)
class LineFacts:
    """What the dataset rebuild needs of a raw file's pairs, made ahead of it."""

    # One row per pair, in order; None when near duplicates are off.
    signatures: Signatures | None
    # Each persona line's words (client.pairs.diversity.words_without).
    words: list[list[str]]


class Checker:
    """A recipe built once: the validation context and the signature maker."""

    def __init__(self, recipe: CheckRecipe) -> None:
        from client.pairs.checks import PairChecker
        from client.pairs.validate import ValidationContext

        self.recipe = recipe
        self.context: ValidationContext = ValidationContext(
            rules=recipe.rules,
            style_markers=recipe.style_markers,
            min_quality=recipe.min_quality,
            checker=(
                None if recipe.checks is None else PairChecker(recipe.checks, recipe.first_person)
            ),
        )
        self.hasher: MinHasher | None = None
        if recipe.near is not None:
            from client.pairs.neardup import MinHasher

            self.hasher = MinHasher(recipe.near.num_perm, recipe.near.ngram)
        self._words: Words | None = None

    def warm_up(self) -> None:
        """Load what the first batch would otherwise wait for (the analyser's dictionary)."""
        from client.pairs.analyzer import analyse

        analyse("あーし")

    def check(self, work: BatchWork) -> BatchChecked:
        return check_batch(work, self.context, self.hasher)

    def facts(self, lines: Lines) -> LineFacts:
        """The signatures of `lines` (raw, not normalised) and their persona lines' words."""
        if self._words is None:
            from client.pairs.diversity import words_without

            self._words = words_without(self.recipe.first_person)
        signatures = None if self.hasher is None else self.hasher.signatures(lines)
        return LineFacts(signatures, [self._words(gyaru) for _, gyaru in lines])


def check_batch(
    work: BatchWork, context: ValidationContext, hasher: MinHasher | None
) -> BatchChecked:
    """The batch's pairs and rejections, and its pairs' signatures."""
    from client.pairs.rewrites import check_rewrites
    from client.pairs.validate import validate_items

    if work.inputs:
        accepted, rejected = check_rewrites(
            work.inputs,
            work.items,
            ctx=context,
            run_id=work.run_id,
            batch=work.batch,
            generated_at=work.generated_at,
        )
    else:
        accepted, rejected = validate_items(
            work.items,
            ctx=context,
            run_id=work.run_id,
            batch=work.batch,
            generated_at=work.generated_at,
        )
    signatures = None
    if hasher is not None:
        signatures = hasher.signatures([p.normalised for p in accepted], normalised=True)
    return BatchChecked(accepted, rejected, signatures)
