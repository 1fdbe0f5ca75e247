"""web.app: what the page gets when a decision cannot be written."""

from __future__ import annotations

from tests.web.conftest import Live


def test_an_unwritable_review_file_is_a_clear_refusal(live: Live) -> None:
    live.session.review.path.mkdir()  # the file's name is taken: every write fails
    pair_id = live.demo.pairs[0]["id"]
    response = live.http.post(
        live.base + "/api/decision",
        json={"id": pair_id, "decision": "rejected"},
        headers=live.auth(),
    )
    assert response.status_code == 500
    assert response.text.startswith(f"cannot write {live.session.review.path.name}: ")
    data = live.http.get(live.base + "/api/data", headers=live.auth()).json()
    assert data["decisions"] == {}, "a decision not on disk is not taken"
