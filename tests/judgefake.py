"""Fake judge replies, for the loopback server (tests/fakeserver.py) and respx routes.

A judge request is told from a generation request by its user message, which
starts "次のN組を採点してください" (judge_request.user_message) with or without
structured output; its pairs are the JSON lines after that first line.

Actions for a judge request (the fake server takes them from its judge script):

    ok          grades from the grader for every pair (default: all 5s, topic right)
    fenced      the same inside a ```json fence with prose around it
    prose       no JSON at all
    broken      the JSON cut off in the middle of the second pair's grades
    short       grades for every pair but the last
    outofrange  every meaning grade 9
    strings     every grade as a string ("5") and topic_ok "yes", as a model without
                guided decoding writes them
    reversed    the grades in reverse order, each naming its pair

A grader maps a pair ({"pair", "topic", "standard", "persona"}) to its grades.
`grade_when("三連敗", meaning=1)` gives good grades except where a line holds the
text, and `grade_pair(4, voice=1)` the same for the 4th pair of every judge request
(whatever the generator wrote), which lets a test script exactly which pairs a judge
turns down.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx

JUDGE_RE = re.compile(r"^次の(\d+)組を採点してください")

Grader = Callable[[dict[str, Any]], dict[str, Any]]
GOOD = {"meaning": 5, "voice": 5, "naturalness": 5, "safety": 5, "topic_ok": True}


def good_grades(pair: dict[str, Any]) -> dict[str, Any]:
    return {"pair": pair["pair"], "reason": "問題なし", **GOOD}


def grade_when(text: str, *, reason: str = "意味が変わっている", **grades: Any) -> Grader:
    """Good grades, except `grades` (and `reason`) for pairs whose lines hold `text`."""

    def grader(pair: dict[str, Any]) -> dict[str, Any]:
        graded = good_grades(pair)
        if text in pair["standard"] or text in pair["persona"]:
            graded.update(grades, reason=reason)
        return graded

    return grader


def grade_pair(number: int, *, reason: str = "意味が変わっている", **grades: Any) -> Grader:
    """Good grades, except `grades` (and `reason`) for the pair numbered `number` (1-based)
    in each judge request."""

    def grader(pair: dict[str, Any]) -> dict[str, Any]:
        graded = good_grades(pair)
        if pair["pair"] == number:
            graded.update(grades, reason=reason)
        return graded

    return grader


def _user_text(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    return str(users[-1].get("content", "")) if users else ""


def is_judge_request(body: Any) -> bool:
    return JUDGE_RE.match(_user_text(body)) is not None


def judged_pairs(body: Any) -> list[dict[str, Any]]:
    """The pairs a judge request asks about, as the judge sees them."""
    lines = _user_text(body).splitlines()[1:]
    return [json.loads(line) for line in lines if line.strip()]


def judge_content(action: str, body: Any, grader: Grader = good_grades) -> tuple[str, str]:
    """(reply text, finish_reason) for a judge request under `action`."""
    grades = [grader(pair) for pair in judged_pairs(body)]
    doc = json.dumps({"grades": grades}, ensure_ascii=False)
    if action == "ok":
        return doc, "stop"
    if action == "fenced":
        return f"採点しました。\n```json\n{doc}\n```\n以上です。", "stop"
    if action == "prose":
        return "すべての組がよくできていると思います。", "stop"
    if action == "broken":
        second = doc.find('{"pair": 2')
        return doc[: (second if second > 0 else len(doc) // 2) + 25], "length"
    if action == "short":
        return json.dumps({"grades": grades[:-1]}, ensure_ascii=False), "stop"
    if action == "outofrange":
        return json.dumps({"grades": [{**g, "meaning": 9} for g in grades]}), "stop"
    if action == "strings":
        as_text = [
            {
                k: str(v) if isinstance(v, int) and not isinstance(v, bool) else v
                for k, v in g.items()
            }
            | {"topic_ok": "yes" if g["topic_ok"] else "no"}
            for g in grades
        ]
        return json.dumps({"grades": as_text}, ensure_ascii=False), "stop"
    if action == "reversed":
        return json.dumps({"grades": grades[::-1]}, ensure_ascii=False), "stop"
    raise ValueError(f"unknown judge action {action!r}")


def judge_response(
    request: httpx.Request, action: str = "ok", grader: Grader = good_grades
) -> httpx.Response:
    """A vLLM-shaped 200 answering a judge request (for respx side effects)."""
    text, finish = judge_content(action, json.loads(request.content), grader)
    return httpx.Response(
        200,
        json={
            "id": "chatcmpl-judge",
            "object": "chat.completion",
            "created": 0,
            "model": json.loads(request.content).get("model", "test-model"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": finish,
                }
            ],
            "usage": {
                "prompt_tokens": 300,
                "completion_tokens": max(len(text) // 2, 1),
                "total_tokens": 300 + len(text) // 2,
            },
        },
    )
