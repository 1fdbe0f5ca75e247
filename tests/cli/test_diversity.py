"""Free generation tells later batches what the run overuses, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import gen_args, run_client
from tests.fakeserver import FakeServer

pytestmark = pytest.mark.loopback
HINT = "これまでの出力で次の表現が多すぎます。"


class SameShapeServer(FakeServer):
    """Replies whose persona lines all open with てかマジ and end with じゃん！, the habit
    a long free-generation run falls into."""

    def _content(self, name: str, body: dict[str, Any]) -> tuple[str, str]:
        text, finish = super()._content(name, body)
        if name != "ok":
            return text, finish
        doc = json.loads(text)
        for pair in doc["pairs"]:
            middle = pair["gyaru"].rsplit("あーし", 1)[0]
            pair["gyaru"] = f"てかマジ、{middle}あーし的にアリじゃん！"
        return json.dumps(doc, ensure_ascii=False), finish


def user_messages(server: FakeServer) -> list[str]:
    return [r.body["messages"][1]["content"] for r in server.chat_requests]


def test_later_batches_are_told_the_openings_endings_and_phrases_to_avoid(tmp_path: Path) -> None:
    # Every line this server writes opens and ends the same way.
    with SameShapeServer() as server:
        args = gen_args(server.base_url, tmp_path, "--batches", "3", "--pairs-per-batch", "5",
                        "--concurrency", "1")  # fmt: skip
        assert run_client(args).code == 0
    first, *later = user_messages(server)
    assert HINT not in first
    for message in later:
        assert HINT in message
        assert "書き出し「てかマジ」" in message and "文末「じゃん！」" in message
        assert "あーし" not in message.split(HINT)[1]


def test_the_hint_is_off_with_no_avoid_phrases(tmp_path: Path) -> None:
    with FakeServer() as server:
        args = gen_args(server.base_url, tmp_path, "--batches", "3", "--pairs-per-batch", "5",
                        "--concurrency", "1", "--no-avoid-phrases")  # fmt: skip
        assert run_client(args).code == 0
    assert all(HINT not in m for m in user_messages(server))
