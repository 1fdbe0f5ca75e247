"""A model that answers in its own shape, ignoring `response_format`.

A server without guided decoding (not vLLM, an older vLLM, guided decoding off, or
`--no-structured-output`) hands the JSON schema to the model as one more hint, and
the model answers the way it likes: no ids, prose around the JSON, a code fence,
grades in words or on a scale of ten, a grade short, keys nobody asked for, or the
pairs written back when it was asked to grade them. `OwnShape` is such a model. It
takes the reply the schema asks for (what the loopback server's `ok` answers) and
bends it into the model's own shape, so every test keeps the fakes' known pairs and
grades and only the shape changes.

Modes (`MODES`; each alone, or several mixed):

    generation and rewrite requests
      noids       rewrite items without their id, each input line copied verbatim
                  (free generation has no ids: its reply is unchanged)
      loosecopy   rewrite items without their id, each input line copied with its
                  width, spaces and punctuation changed (the same line once normalised)
      prose       the JSON with prose before and after it
      fenced      the JSON in a ```json fence with prose around it
      extrakeys   every item holds keys the schema does not have (`note`, `confidence`)
    judge requests (client.pairs.judge_request: "次のN組を採点してください")
      noids       grade objects without their pair number (still in order)
      prose       the grades JSON with prose before and after it
      fenced      the grades JSON in a ```json fence with prose around it
      extrakeys   every grade object holds `comment` and `total` besides its grades
      gradeprose  the grades written as sentences, no JSON at all
      outofrange  the grades on a scale of 1 to 10 (every grade doubled)
      fewer       grades for every pair but the last
      pairs       pairs instead of grades: the judged pairs written back as
                  {"pairs": [{"topic", "standard", "gyaru"}]}

A mode that has no meaning for a request's kind (`gradeprose` on a generation
request, `loosecopy` on a judge request) leaves that reply as the schema asks.

With several modes each request draws one of those that apply to its kind, from a
generator seeded by `seed` and the request's body: the same request always gets the
same shape, whatever order concurrent requests arrive in, and a retry that changes
its body (the judge's retry samples at another temperature) may draw another.

Use: `FakeServer(shape=OwnShape(["noids"]))`; `python -m tests.fakeserver --shape
noids,pairs --shape-seed 7`; in-process, `tests.helpers.own_shape_chat(shape)` answers
respx routes; `OwnShape.reply(body, schema_reply)` is the pure transformation.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from tests.judgefake import is_judge_request, judged_pairs

# What a mode does to the items of a generation reply, and to the grades of a judge reply.
ItemsShape = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
TextShape = Callable[[str], str]

GENERATION_ONLY = ("loosecopy",)
JUDGE_ONLY = ("gradeprose", "outofrange", "fewer", "pairs")
BOTH = ("noids", "prose", "fenced", "extrakeys")
MODES = (*BOTH, *GENERATION_ONLY, *JUDGE_ONLY)

_TO_WIDE = {c: chr(c + 0xFEE0) for c in range(0x21, 0x7F)}
CRITERIA_WORDS = (("meaning", "意味"), ("voice", "口調"), ("naturalness", "自然さ"),
                  ("safety", "安全性"))  # fmt: skip


def loose_copy(line: str) -> str:
    """`line` as a model copies it by hand: ASCII made full width, a space after each
    comma, the closing 。 dropped. The same line once normalised (NFKC, spaces and
    punctuation folded), never the same text."""
    copied = line.translate(_TO_WIDE).replace("、", "、 ").removesuffix("。")
    return copied if copied != line else f" {line}"


def _without_id(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != "id"}


def _noids(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [_without_id(item) for item in items]


def _loosecopy(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    shaped = _noids(items)
    for item in shaped:
        if isinstance(item.get("standard"), str) and "gyaru" in item:
            item["standard"] = loose_copy(item["standard"])
    return shaped


def _extrakeys(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**item, "note": "自然な言い方にしました", "confidence": 0.9} for item in items]


def _prose(doc: str) -> str:
    return f"以下が結果です。\n{doc}\n以上です。"


def _fenced(doc: str) -> str:
    return f"はい、できました！\n```json\n{doc}\n```\nどうでしょう？"


GENERATION_ITEMS: dict[str, ItemsShape] = {
    "noids": _noids,
    "loosecopy": _loosecopy,
    "extrakeys": _extrakeys,
}
WRAPPERS: dict[str, TextShape] = {"prose": _prose, "fenced": _fenced}


def _grade_extrakeys(grades: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**g, "comment": "全体的に良い", "total": sum(g.get(k, 0) for k, _ in CRITERIA_WORDS)}
        for g in grades
    ]


def _grade_tenpoint(grades: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**g, **{k: 2 * g[k] for k, _ in CRITERIA_WORDS}} for g in grades]


def _grade_noids(grades: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in g.items() if k != "pair"} for g in grades]


JUDGE_GRADES: dict[str, ItemsShape] = {
    "noids": _grade_noids,
    "extrakeys": _grade_extrakeys,
    "outofrange": _grade_tenpoint,
    "fewer": lambda grades: grades[:-1],
}


def grades_as_prose(grades: Iterable[dict[str, Any]]) -> str:
    """Grades as a chatty model writes them when nobody holds it to JSON."""
    lines = ["採点結果です。"]
    for g in grades:
        scores = "、".join(f"{word}{g[key]}点" for key, word in CRITERIA_WORDS)
        topic = "トピックは合っています" if g["topic_ok"] else "トピックが違います"
        lines.append(f"ペア{g['pair']}: {scores}。{topic}。理由: {g['reason']}")
    return "\n".join(lines)


def pairs_for_grades(body: Any) -> str:
    """The judged pairs written back as generation pairs: a model that lost track of
    what it was asked and answered the generation prompt's shape."""
    pairs = [
        {"topic": p["topic"], "standard": p["standard"], "gyaru": p["persona"]}
        for p in judged_pairs(body)
    ]
    return json.dumps({"pairs": pairs}, ensure_ascii=False)


def _body_digest(body: Any) -> str:
    text = json.dumps(body, ensure_ascii=False, sort_keys=True)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


@dataclass(frozen=True)
class OwnShape:
    """A model's own reply shapes: `modes` (from MODES), drawn per request by `seed`."""

    modes: tuple[str, ...]
    seed: int = 0

    def __init__(self, modes: Iterable[str], seed: int = 0) -> None:
        chosen = tuple(modes)
        unknown = [m for m in chosen if m not in MODES]
        if unknown or not chosen:
            raise ValueError(f"unknown or no shape modes {unknown} (known: {', '.join(MODES)})")
        object.__setattr__(self, "modes", chosen)
        object.__setattr__(self, "seed", seed)

    @classmethod
    def parse(cls, text: str, seed: int = 0) -> OwnShape:
        """From the command line: `noids,pairs` or `all`."""
        names = MODES if text.strip() == "all" else [m.strip() for m in text.split(",")]
        return cls([m for m in names if m], seed)

    def applicable(self, *, judge: bool) -> tuple[str, ...]:
        skip = GENERATION_ONLY if judge else JUDGE_ONLY
        return tuple(m for m in self.modes if m not in skip)

    def mode_for(self, body: Any) -> str:
        """The shape of the reply to this request: one of the modes that apply to its
        kind, or `ok` (the schema's own shape) when none does."""
        candidates = self.applicable(judge=is_judge_request(body))
        if not candidates:
            return "ok"
        if len(candidates) == 1:
            return candidates[0]
        rng = random.Random(f"{self.seed}:{_body_digest(body)}")
        return rng.choice(candidates)

    def reply(self, body: Any, schema_reply: str, mode: str | None = None) -> str:
        """The reply text in the model's shape, from `schema_reply`: the reply the
        schema asks for (`{"pairs": [...]}` or `{"grades": [...]}`)."""
        mode = self.mode_for(body) if mode is None else mode
        return reshape(mode, body, schema_reply)


def reshape(mode: str, body: Any, schema_reply: str) -> str:
    """`schema_reply` to the request `body` in the shape `mode` (or `ok`: unchanged)."""
    if mode == "ok":
        return schema_reply
    judge = is_judge_request(body)
    if judge and mode == "pairs":
        return pairs_for_grades(body)
    doc = json.loads(schema_reply)
    key = "grades" if judge else "pairs"
    if judge and mode == "gradeprose":
        return grades_as_prose(doc[key])
    shape_items = (JUDGE_GRADES if judge else GENERATION_ITEMS).get(mode)
    if shape_items is not None:
        doc[key] = shape_items(doc[key])
    text = json.dumps(doc, ensure_ascii=False)
    wrap = WRAPPERS.get(mode)
    return wrap(text) if wrap is not None else text
