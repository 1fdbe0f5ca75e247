"""The shipped labelled sets against the checks: they keep good pairs and reject bad ones.

A bad item of a kind rules cannot see (a real topic that is the wrong one) is the
judge's and is left out of the reject rate.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from client.config import load_settings
from client.pairs.calibration import LabelledItem, parse_labels
from client.pairs.records import Pair
from client.pairs.validate import validate_item
from client.run.job import pair_rules, validation_context

REPO = Path(__file__).resolve().parents[2]
JUDGE_ONLY_KINDS = {"wrong_topic"}
SETS = [
    ("labels_gyaru.jsonl", "gyaru"),
    ("labels_ojousama.jsonl", "ojousama"),
]


def load(name: str) -> list[LabelledItem]:
    path = REPO / "tests" / "data" / name
    return parse_labels(path.read_text(encoding="utf-8"), str(path))


def acceptor(persona: str) -> Callable[[LabelledItem], bool]:
    """Validation as a run applies it: the schema rules, then the pair checks."""
    settings = load_settings(persona=persona)
    ctx = validation_context(settings, pair_rules(settings))

    def accepts(item: LabelledItem) -> bool:
        raw = {"topic": item.topic, "standard": item.standard, "gyaru": item.gyaru}
        outcome = validate_item(0, raw, ctx=ctx, pair_id="x", batch=1, generated_at="t")
        return isinstance(outcome, Pair)

    return accepts


def test_sets_are_big_enough_and_cover_every_kind() -> None:
    gyaru, ojousama = load("labels_gyaru.jsonl"), load("labels_ojousama.jsonl")
    assert len(gyaru) >= 80 and sum(i.good for i in gyaru) >= 40
    assert len(ojousama) >= 36
    kinds = {i.kind for i in gyaru if not i.good}
    assert {
        "meaning_changed", "repetition", "truncation", "keigo", "standard_slang",
        "copy_first_person", "insult", "wrong_topic", "english", "junk", "copy_ne",
    } <= kinds  # fmt: skip
    assert all(i.persona == "お嬢様" for i in ojousama)


@pytest.mark.parametrize(("labels", "config"), SETS)
def test_checks_keep_good_and_reject_bad(labels: str, config: str) -> None:
    accepts = acceptor(config)
    items = load(labels)
    good = [i for i in items if i.good]
    bad = [i for i in items if not i.good and i.kind not in JUDGE_ONLY_KINDS]
    kept = [i for i in good if accepts(i)]
    rejected = [i for i in bad if not accepts(i)]
    lost = [i.gyaru for i in good if i not in kept]
    let_through = [(i.kind, i.gyaru) for i in bad if i not in rejected]
    assert len(kept) >= 0.95 * len(good), lost
    assert len(rejected) >= 0.90 * len(bad), let_through
