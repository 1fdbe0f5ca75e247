"""generate --input against a real vLLM 0.32 server (CPU, tiny random model).

The random model's rewrites are nonsense, but the rewrite schema fixes each reply
position's id and standard line: the real server's guided decoding must keep to it,
so every input comes back once, in order, tied to its own line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_helpers import gen_args, run_client
from tests.e2e.conftest import API_KEY
from tests.e2e.vllm_server import ServerInfo

pytestmark = pytest.mark.e2e

LINES = [
    "今日は晴れです。",
    '引用符の "テスト" と \\ 記号を含む文です。',
    "明日は雨が降ります。",
    "駅前に新しいカフェができました。",
    "週末は友だちと映画を見ます。",
]


def test_every_input_comes_back_once_in_order_tied_to_its_line(
    vllm: ServerInfo, tmp_path: Path
) -> None:
    source = tmp_path / "in.txt"
    source.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    args = gen_args(vllm.base_url, out, "--input", str(source), "--pairs-per-batch", "3",
                    "--concurrency", "2", "--max-new-tokens", "600")  # fmt: skip
    result = run_client(args, timeout=300, VLLM_API_KEY=API_KEY)
    assert result.code in (0, 1), result.stderr  # a random model may fail the persona checks
    records = [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((out / "raw" / "r1").glob("batch_*.json"))
    ]
    assert [r["status"] for r in records] == ["ok", "ok"]
    for record in records:
        reply = json.loads(record["reply"]["text"])["pairs"]
        asked = [json.loads(line) for line in record["request"]["user_message"].splitlines()[1:]]
        # The real server kept to the schema: ids and lines as asked, in order.
        assert [(i["id"], i["standard"]) for i in reply] == [
            (a["id"], a["standard"]) for a in asked
        ]
        assert not [r for r in record["rejected"] if r["reason"] in ("misaligned", "missing")]
        outcomes = record["accepted"] + record["rejected"]
        assert sorted(o["input"]["id"] for o in outcomes) == [a["id"] for a in asked]
    pairs = json.loads((out / "processed" / "gyaru_dataset_r1.json").read_text(encoding="utf-8"))[
        "pairs"
    ]
    assert all(p["standard"] == LINES[p["input"]["line"] - 1] for p in pairs)
