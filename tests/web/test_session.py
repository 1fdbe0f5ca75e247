"""web.session: decisions are on disk before they are acknowledged, and a new session
(a restarted server) sees every one of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from client.config import load_settings
from client.storage.dataset import load_dataset
from client.web.session import DecisionError, ReviewSession, open_session
from tests.web.demo import Demo, write_demo

REPO = Path(__file__).resolve().parents[2]


def session_of(demo: Demo) -> ReviewSession:
    ticks = iter(range(1000))
    dataset = load_dataset(str(demo.dataset), demo.output_dir)
    return open_session(dataset, clock=lambda: f"t{next(ticks)}", fsync=False)


@pytest.fixture
def demo(tmp_path: Path) -> Demo:
    return write_demo(tmp_path / "outputs", pairs=90)  # three batches, with rejections


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
    assert payload["rejected"]
    assert all(r["id"].startswith(demo.run_id) for r in payload["rejected"])


def test_a_rescue_is_saved_with_the_item_and_seen_again(demo: Demo) -> None:
    first = session_of(demo)
    item = next(i for i in first.rejected.values() if i.rescuable)
    saved = first.decide(item.id, "edited", "あーし直したし！")
    assert saved.words["line"] == "あーし直したし！"
    again = session_of(demo)
    assert again.payload()["decisions"][item.id] == {
        "decision": "edited",
        "gyaru": "あーし直したし！",
    }
    document = json.loads(again.review.path.read_text(encoding="utf-8"))
    kept = document["run_rejected"][item.id]
    assert (kept["decision"], kept["item"]["standard"]) == ("edited", item.standard)
    assert document["decisions"] == {}, "the dataset's pairs are untouched"
    again.decide(item.id, "", None)
    assert session_of(demo).payload()["decisions"] == {}


def test_an_item_without_two_lines_cannot_be_decided(tmp_path: Path) -> None:
    demo = write_demo(tmp_path / "outputs", pairs=3)
    raw = tmp_path / "outputs" / "raw" / demo.run_id / "batch_0009.json"
    record = {"status": "ok", "accepted": [], "rejected": [
        {"index": 0, "reason": "schema", "detail": "not an object", "item": "text"}]}  # fmt: skip
    raw.write_text(json.dumps(record), encoding="utf-8")
    session = session_of(demo)
    (odd,) = [i for i in session.payload()["rejected"] if i["batch"] == 9]
    assert (odd["rescuable"], odd["checks"]) == (False, None)
    with pytest.raises(DecisionError, match="no standard and persona line"):
        session.decide(odd["id"], "accepted", None)


def test_run_items_say_what_the_checks_said_and_carry_a_score(demo: Demo) -> None:
    payload = session_of(demo).payload()
    for item in payload["rejected"]:
        assert item["checks"] is (item["reason"] == "judge")
        assert isinstance(item["quality"], float)


def test_words_follow_the_line_shown(demo: Demo) -> None:
    session = session_of(demo)
    pair = demo.pairs[0]
    words = session.words([pair["id"], "nothing"])
    assert list(words) == [pair["id"]]
    assert "".join(t for t, _ in words[pair["id"]]["gyaru"]) == pair["gyaru"]
    session.decide(pair["id"], "edited", "あーし書き直したし")
    (edited,) = session.words([pair["id"]]).values()
    assert edited["line"] == "あーし書き直したし"
    assert ["あーし", "voice"] in edited["gyaru"]
    with pytest.raises(DecisionError, match="list of strings"):
        session.words("x")


def test_the_persona_comes_from_the_settings(demo: Demo) -> None:
    dataset = load_dataset(str(demo.dataset), demo.output_dir)
    made_with = open_session(dataset, clock=lambda: "t", fsync=False).payload()["dataset"]
    assert (made_with["persona"], made_with["first_person"]) == ("あーし系ギャル", "あーし")
    assert made_with["thresholds"] == {
        "meaning": 4,
        "voice": 3,
        "naturalness": 3,
        "safety": 4,
        "topic_ok": True,
    }
    other = load_settings(persona="ojousama")
    named = open_session(dataset, clock=lambda: "t", settings=other, fsync=False)
    assert named.payload()["dataset"]["persona"] == "お嬢様"
