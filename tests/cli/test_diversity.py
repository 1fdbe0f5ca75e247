"""Free generation tells later batches what the run overuses, through the real CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_helpers import gen_args, run_client
from tests.fakeserver import FakeServer

pytestmark = pytest.mark.loopback
HINT = "これまでの出力で次の表現が多すぎます。"


def user_messages(server: FakeServer) -> list[str]:
    return [r.body["messages"][1]["content"] for r in server.chat_requests]


def test_later_batches_are_told_the_openings_endings_and_phrases_to_avoid(tmp_path: Path) -> None:
    # Every line the loopback server writes opens and ends the same way.
    with FakeServer() as server:
        args = gen_args(server.base_url, tmp_path, "--batches", "3", "--pairs-per-batch", "5",
                        "--concurrency", "1")  # fmt: skip
        assert run_client(args).code == 0
    first, *later = user_messages(server)
    assert HINT not in first
    for message in later:
        assert HINT in message
        assert "書き出し「これ試験」" in message and "文末「ちゃう！」" in message
        assert "あーし" not in message.split(HINT)[1]


def test_the_hint_is_off_with_no_avoid_phrases(tmp_path: Path) -> None:
    with FakeServer() as server:
        args = gen_args(server.base_url, tmp_path, "--batches", "3", "--pairs-per-batch", "5",
                        "--concurrency", "1", "--no-avoid-phrases")  # fmt: skip
        assert run_client(args).code == 0
    assert all(HINT not in m for m in user_messages(server))
