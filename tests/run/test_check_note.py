"""A pair the checks are unsure of goes to the judge with their note; with the judge off
it is kept, and the note stays with it in the raw file and the dataset (respx)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import respx

from client.config import Settings
from client.run.generate import generate
from tests.fakeserver import make_pairs
from tests.helpers import chat_ok, mock_vllm
from tests.judgefake import is_judge_request, judge_response, judged_pairs

# Part of the standard line's words gone (予定): the checks cannot tell, the judge can.
UNSURE = {
    "topic": "Daily",
    "standard": "週末はキャンプに行く予定です。",
    "gyaru": "あーし週末キャンプ行く〜！",
}


def reply(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    pairs = [UNSURE, *make_pairs(4, f"note-{body.get('seed')}")]
    return chat_ok(json.dumps({"pairs": pairs}, ensure_ascii=False))


def dataset(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "outputs" / "processed" / "gyaru_dataset_n1.json"
    return list(json.loads(path.read_text(encoding="utf-8"))["pairs"])


async def test_without_the_judge_the_pair_is_kept_with_its_note(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(judge={"enabled": False}, generation={"total_batches": 1})
    async with respx.mock(assert_all_called=False) as router:
        mock_vllm(router, chat=reply)
        summary = await generate(settings, api_key=None, run_id="n1", argv=["generate"])
    assert summary.exit_code == 0
    pairs = dataset(tmp_path)
    assert len(pairs) == 5
    noted = [p for p in pairs if "check_note" in p]
    assert [p["standard"] for p in noted] == [UNSURE["standard"]]
    assert noted[0]["check_note"].startswith(
        "meaning_drift: 37% of the standard line's word weight"
    )


async def test_the_judge_reads_the_note_and_decides(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    seen: list[list[dict[str, Any]]] = []

    def judge(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        pairs = judged_pairs(body)
        seen.append(pairs)

        def grader(pair: dict[str, Any]) -> dict[str, Any]:
            # A judge that agrees with the note: the plan (予定) is lost.
            meaning = 2 if "check_note" in pair else 5
            return {"pair": pair["pair"], "reason": "予定が消えている", "meaning": meaning,
                    "voice": 5, "naturalness": 5, "safety": 5, "topic_ok": True}  # fmt: skip

        return judge_response(request, grader=grader)

    settings = make_settings(generation={"total_batches": 1})
    async with respx.mock(assert_all_called=False) as router:
        route = mock_vllm(router, chat=reply, judge=judge)
        await generate(settings, api_key=None, run_id="n1", argv=["generate"])
    assert sum(is_judge_request(json.loads(c.request.content)) for c in route.calls) == 1
    (sent,) = seen
    assert [p.get("check_note", "")[:14] for p in sent] == ["meaning_drift:", "", "", "", ""]
    pairs = dataset(tmp_path)
    assert len(pairs) == 4 and UNSURE["standard"] not in {p["standard"] for p in pairs}
