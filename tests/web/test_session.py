"""web.session: decisions are on disk before they are acknowledged, and a new session
(a restarted server) sees every one of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from client.storage.dataset import load_dataset
from client.web.session import DecisionError, ReviewSession, open_session
from tests.web.demo import Demo, write_demo


def session_of(demo: Demo) -> ReviewSession:
    ticks = iter(range(1000))
    dataset = load_dataset(str(demo.dataset), demo.output_dir)
    return open_session(dataset, clock=lambda: f"t{next(ticks)}", fsync=False)


@pytest.fixture
def demo(tmp_path: Path) -> Demo:
    return write_demo(tmp_path / "outputs", pairs=12)


def test_a_restarted_session_sees_every_decision(demo: Demo) -> None:
    first = session_of(demo)
    a, b, c = (p["id"] for p in demo.pairs[:3])
    first.decide(a, "rejected", None)
    first.decide(b, "edited", "  あーし書き直したし！ ")
    first.decide(c, "accepted", "ignored for accept")
    first.decide(c, "", None)  # undo: cleared
    again = session_of(demo).payload()["decisions"]
    assert again == {
        a: {"decision": "rejected", "gyaru": None},
        b: {"decision": "edited", "gyaru": "あーし書き直したし！"},
    }


def test_a_decision_that_cannot_be_saved_is_not_taken(demo: Demo) -> None:
    session = session_of(demo)
    session.review.path.mkdir()  # the file's name is taken by a folder: the write fails
    with pytest.raises(IsADirectoryError):
        session.decide(demo.pairs[0]["id"], "rejected", None)
    assert session.payload()["decisions"] == {}


@pytest.mark.parametrize(
    ("pair_id", "verdict", "gyaru"),
    [("nope", "rejected", None), (None, "rejected", None), ("ok", "rm", None), ("ok", "edited", 5)],
)
def test_bad_decisions_raise(demo: Demo, pair_id: object, verdict: object, gyaru: object) -> None:
    session = session_of(demo)
    real_id = demo.pairs[0]["id"] if pair_id == "ok" else pair_id
    with pytest.raises(DecisionError):
        session.decide(real_id, verdict, gyaru)
    assert not session.review.path.exists()


def test_payload_shows_the_run_and_hides_stale_decisions(demo: Demo) -> None:
    session = session_of(demo)
    session.decide(demo.pairs[0]["id"], "rejected", None)
    # The dataset is rebuilt with another line under the same id.
    document = json.loads(demo.dataset.read_text(encoding="utf-8"))
    document["pairs"][0]["gyaru"] = "あーし別の文"
    demo.dataset.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    payload = session_of(demo).payload()
    assert payload["decisions"] == {}
    assert payload["dataset"]["run_id"] == demo.run_id
    assert payload["dataset"]["review_file"] == demo.dataset.stem + ".review.json"
    assert "あーし" not in payload["dataset"]["markers"]
    assert "マジ" in payload["dataset"]["markers"]
    assert [p["id"] for p in payload["pairs"]] == [p["id"] for p in demo.pairs]
    assert set(payload["pairs"][0]) == {
        "id",
        "topic",
        "standard",
        "gyaru",
        "quality",
        "judge",
        "batch",
    }
    assert all(r["id"].startswith(demo.run_id) for r in payload["rejected"])
