"""The fixed tuning / held-out split of the shipped labelled sets (personas/*/labels.jsonl).

    uv run python -m tests.label_split          # give every item without one an id and a split

Rules are tuned on the `tuning` part only; docs/dataset.md reports the `held-out`
part. The split is written into each item (`"split": "tuning" | "held-out"`), so it
is part of the data and a rule change cannot quietly move an item across it. Items
that already have a split keep it: new items are given one so that each stratum
(good; bad the rules can see; bad only a judge can see) stays near HELD_OUT_SHARE
held out. Within a stratum the items are ordered by kind and then by a seeded
shuffle, and every k-th is held out, so each kind of defect lands on both sides.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SETS = {"gyaru": REPO / "personas" / "gyaru" / "labels.jsonl",
        "ojousama": REPO / "personas" / "ojousama" / "labels.jsonl"}  # fmt: skip
SEED = 20_230
HELD_OUT_SHARE = 0.35
SPLITS = ("tuning", "held-out")


def stratum(item: dict[str, Any]) -> str:
    if item["label"] == "good":
        return "good"
    return f"bad/{item.get('seen_by', 'rules')}"


def _assign(items: list[dict[str, Any]], key: str) -> None:
    """Give the items of one stratum without a split one, held out so that the
    stratum's held-out share comes closest to HELD_OUT_SHARE."""
    new = [i for i in items if "split" not in i]
    if not new:
        return
    rng = random.Random(f"{SEED}:{key}")
    order = {id(i): rng.random() for i in new}
    new.sort(key=lambda i: (i.get("kind") or "", order[id(i)]))
    held = sum(i["split"] == "held-out" for i in items if "split" in i)
    wanted = min(round(HELD_OUT_SHARE * len(items)) - held, len(new))
    # Every k-th of the kind-ordered items, from a seeded offset: spread over the kinds.
    step = len(new) / max(wanted, 1)
    offset = rng.random() * step
    picks = {int(offset + n * step) for n in range(max(wanted, 0))}
    for position, item in enumerate(new):
        item["split"] = "held-out" if position in picks else "tuning"


def assign_splits(name: str, items: Sequence[dict[str, Any]]) -> None:
    """Ids and splits for the items that have none (in place)."""
    taken = {i["id"] for i in items if "id" in i}
    number = len(taken)
    for item in items:
        if "id" not in item:
            number += 1
            while f"{name}-{number:03d}" in taken:
                number += 1
            item["id"] = f"{name}-{number:03d}"
            taken.add(item["id"])
    strata: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        strata.setdefault(stratum(item), []).append(item)
    for key, members in sorted(strata.items()):
        _assign(members, f"{name}:{key}")


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def write(path: Path, items: Sequence[dict[str, Any]]) -> None:
    first = ("id", "split", "label", "kind", "seen_by", "topic", "standard", "gyaru", "persona")
    rows = [{k: i[k] for k in first if k in i} | i for i in items]
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    path.write_text(text, encoding="utf-8")


def main() -> None:
    for name, path in SETS.items():
        items = read(path)
        assign_splits(name, items)
        write(path, items)
        held = sum(i["split"] == "held-out" for i in items)
        print(f"{path.relative_to(REPO)}: {len(items)} items, {held} held out")


if __name__ == "__main__":
    main()
