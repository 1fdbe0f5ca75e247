"""Where every pair a server returned went: the bookkeeping a run must balance.

Every item the server's replies held is in the dataset, removed as a duplicate or
near duplicate, waiting for the judge, or rejected with a reason and a detail; none
is lost, none counted twice. The loopback tests count what the loopback server
returned (`tests.fakeserver.FakeServer.chat_requests`), the in-process ones what the
respx routes were asked (`returned_by`), over every session of a run.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tests.fakeserver import inputs_of
from tests.judgefake import is_judge_request

# The input lines the own-shape flows rewrite: a comma, an exclamation mark and
# full-width letters, which a model copying them loosely changes.
LINES = [
    "今日は晴れです。",
    "明日は雨が降ります。",
    "駅前にカフェができました。",
    "新しいゲームを買いました。",
    "週末は友だちと映画を見ます。",
    "昨日は、とても寒かったです！",
    "ＰＣの画面が大きいです。",
]


def raw_records(out: Path, run_id: str) -> list[dict[str, Any]]:
    files = sorted((out / "raw" / run_id).glob("batch_*.json"))
    return [json.loads(p.read_text(encoding="utf-8")) for p in files]


def dataset(out: Path, run_id: str) -> dict[str, Any]:
    path = out / "processed" / f"gyaru_dataset_{run_id}.json"
    return dict(json.loads(path.read_text(encoding="utf-8")))


def returned_by(bodies: Iterable[Any]) -> int:
    """Items the replies to these generation requests held: a rewrite answers each of
    its inputs, a free batch the pairs it asked for (the fakes' shapes drop none)."""
    total = 0
    for body in bodies:
        if not isinstance(body, dict) or is_judge_request(body):
            continue
        inputs = inputs_of(body)
        if inputs:
            total += len(inputs)
        else:
            schema = body["response_format"]["json_schema"]["schema"]
            total += schema["properties"]["pairs"]["minItems"]
    return total


def assert_bookkeeping(out: Path, returned: int, run_id: str = "r1") -> Counter[str]:
    """Every item of the `returned` the server's replies held (over every session) is
    in the dataset, removed as a (near) duplicate, waiting for the judge, or rejected
    with a reason and a detail; none lost, none counted twice. Returns the rejections
    by reason."""
    data = dataset(out, run_id)
    summary = data["metadata"]["summary"]
    records = raw_records(out, run_id)
    # A `missing` rejection is an input line the reply had no item for, not an item.
    rejected = [r for rec in records for r in rec["rejected"] if r["reason"] != "missing"]
    assert all(r["reason"] and r["detail"] for r in rejected), rejected
    assert "judge_unreadable" not in {r["reason"] for r in rejected}
    pairs = data["pairs"]
    assert len({p["id"] for p in pairs}) == len(pairs)
    # No pair is both kept and turned down by the judge, nor in two records.
    stored = [p["id"] for rec in records for p in rec["accepted"]]
    stored += [r["item"]["id"] for r in rejected if r["reason"] == "judge"]
    assert len(set(stored)) == len(stored)
    waiting = sum(1 for rec in records for p in rec["accepted"] if "judge" not in p)
    if data["metadata"]["config"]["judge"]["enabled"]:
        assert summary["pairs_awaiting_judge"] == waiting
    else:
        assert summary["pairs_awaiting_judge"] == 0
        waiting = 0
    removed = summary["duplicates"] + summary["near_duplicates"]
    assert len(pairs) + removed + waiting + len(rejected) == returned
    assert summary["items_returned"] == returned
    return Counter(r["reason"] for r in rejected)
