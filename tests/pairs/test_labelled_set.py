"""The shipped labelled sets against the checks: they keep good pairs and reject the bad
ones rules can see, on the held-out part the rules were never tuned on and on the
tuning part alike (docs/dataset.md, "Calibration").

A bad item only a judge can tell (`seen_by: judge`: a real topic that is the wrong
one, a plan reversed with its words kept, the subject swapped) is left out of the
reject rate.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest

from client.config import load_settings
from client.pairs.calibration import LabelledItem, parse_labels
from client.pairs.records import Pair
from client.pairs.validate import validate_item
from client.run.job import pair_rules, validation_context
from tests import label_split

REPO = Path(__file__).resolve().parents[2]
# Each shipped persona, its labelled set in its folder.
SETS = ["gyaru", "ojousama"]


def load(name: str) -> list[LabelledItem]:
    path = REPO / "personas" / name / "labels.jsonl"
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
    gyaru, ojousama = load("gyaru"), load("ojousama")
    assert len(gyaru) >= 80 and sum(i.good for i in gyaru) >= 40
    assert len(ojousama) >= 36
    kinds = {i.kind for i in gyaru if not i.good}
    assert {
        "meaning_changed", "repetition", "truncation", "keigo", "standard_slang",
        "copy_first_person", "insult", "wrong_topic", "english", "junk", "copy_ne",
    } <= kinds  # fmt: skip
    assert all(i.persona == "お嬢様" for i in ojousama)
    # The 105 items written for the persona's register before the rules learned it.
    new = gyaru[112:]
    assert sum(i.good for i in new) >= 50 and sum(not i.good for i in new) >= 30
    assert all(i.seen_by in ("rules", "judge") for i in gyaru + ojousama if not i.good)


@pytest.mark.parametrize("split", ["tuning", "held-out"])
@pytest.mark.parametrize("persona", SETS)
def test_checks_keep_good_and_reject_bad(persona: str, split: str) -> None:
    """The issue's bar: good kept >= 97 %, rule-visible bad rejected >= 90 %."""
    accepts = acceptor(persona)
    items = [i for i in load(persona) if i.split == split]
    good = [i for i in items if i.good]
    bad = [i for i in items if i.rule_visible]
    lost = [i.id for i in good if not accepts(i)]
    let_through = [i.id for i in bad if accepts(i)]
    assert len(good) - len(lost) >= 0.97 * len(good), lost
    assert len(bad) - len(let_through) >= 0.90 * len(bad), let_through


@pytest.mark.parametrize("name", SETS)
def test_the_split_is_recorded_stratified_and_stable(name: str) -> None:
    """Every item has an id and a split; each stratum is about a third held out; running
    the split script again changes nothing (the split is data, not recomputed)."""
    items = label_split.read(label_split.SETS[name])
    assert len({i["id"] for i in items}) == len(items)
    assert {i["split"] for i in items} == set(label_split.SPLITS)
    strata: dict[str, list[str]] = {}
    for item in items:
        strata.setdefault(label_split.stratum(item), []).append(item["split"])
    for key, splits in strata.items():
        held = splits.count("held-out")
        # A stratum of a few items cannot be a third held out; it has one on each side.
        low, high = (0.25, 0.45) if len(splits) >= 6 else (1 / len(splits), 1 - 1 / len(splits))
        assert low <= held / len(splits) <= high, (key, splits)
    again = copy.deepcopy(items)
    label_split.assign_splits(name, again)
    assert again == items


def test_new_items_get_a_split_and_old_ones_keep_theirs() -> None:
    items = label_split.read(label_split.SETS["gyaru"])
    before = {i["id"]: i["split"] for i in items}
    new = [
        {"label": "good", "kind": "good", "standard": f"文{n}です。", "gyaru": f"あーし文{n}"}
        for n in range(10)
    ]
    label_split.assign_splits("gyaru", [*items, *new])
    assert {i["id"]: i["split"] for i in items} == before
    assert all(i["split"] in label_split.SPLITS and i["id"].startswith("gyaru-") for i in new)
    assert 2 <= sum(i["split"] == "held-out" for i in new) <= 5
