"""Reply text to JSON items, recovering every complete item there is.

Order of attempts, cheapest first:
1. the whole reply is JSON (what guided decoding returns);
2. a fenced block (```json ... ```), whose closing fence must match the opening;
3. the first JSON value that starts anywhere in the text (prose around it);
4. salvage: every complete object that looks like a pair, wherever it stands
   (a reply cut short, or broken in the middle).

Strings may hold raw control characters (newlines, tabs): models write them and
the standard library's non-strict decoder accepts them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

Method = Literal["json", "fenced", "embedded", "salvaged", "none"]

_DECODER = json.JSONDecoder(strict=False)
_FENCE_RE = re.compile(r"^(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+-]*)[^\n]*\n", re.MULTILINE)
_PAIR_KEYS = frozenset({"standard", "gyaru"})
_CONTAINER_KEYS = ("pairs", "data", "items", "examples", "results")


@dataclass(frozen=True, slots=True)
class Extracted:
    items: list[Any]
    method: Method
    # The reply did not hold one complete JSON value: items were salvaged.
    broken: bool

    @property
    def found(self) -> bool:
        return bool(self.items)


def _items_of(value: Any) -> list[Any] | None:
    """The pair list inside a decoded value, or None when there is none."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        if _PAIR_KEYS & value.keys():
            return [value]
        for key in _CONTAINER_KEYS:
            if isinstance(value.get(key), list):
                return list(value[key])
        for inner in value.values():
            if isinstance(inner, list) and any(isinstance(x, dict) for x in inner):
                return inner
    return None


def _fenced_blocks(text: str) -> list[str]:
    blocks: list[tuple[int, str]] = []
    for match in _FENCE_RE.finditer(text):
        fence = match.group("fence")
        # The closing fence is the same run of the same character, alone on its line.
        closing = re.compile(rf"^[ \t]*{re.escape(fence)}[ \t]*$", re.MULTILINE)
        end = closing.search(text, match.end())
        body = text[match.end() : end.start()] if end else text[match.end() :]
        lang = match.group("lang").lower()
        blocks.append((0 if lang == "json" else 1, body))
    blocks.sort(key=lambda b: b[0])
    return [body for _, body in blocks]


def _first_value(text: str) -> Any:
    """The first JSON object or array holding pairs that decodes, starting anywhere."""
    broken_before = False
    for match in re.finditer(r"[\[{]", text):
        try:
            value, _ = _DECODER.raw_decode(text, match.start())
        except ValueError:
            broken_before = True
            continue
        if _items_of(value) is None:
            continue
        if broken_before and isinstance(value, dict) and _PAIR_KEYS & value.keys():
            # A lone pair inside a container that did not decode: the container was
            # cut or broken, so its other items are salvaged rather than dropped.
            break
        return value
    raise ValueError("no JSON value")


def _salvage(text: str) -> list[Any]:
    """Every complete object holding pair keys, in order, however the text around breaks."""
    items: list[Any] = []
    pos = text.find("{")
    while pos != -1:
        try:
            value, end = _DECODER.raw_decode(text, pos)
        except ValueError:
            pos = text.find("{", pos + 1)
            continue
        if isinstance(value, dict) and _PAIR_KEYS & value.keys():
            items.append(value)
            pos = text.find("{", end)
        else:
            # A container that decoded whole would have been found earlier; look inside.
            pos = text.find("{", pos + 1)
    return items


def extract_items(text: str) -> Extracted:
    stripped = text.strip()
    if not stripped:
        return Extracted([], "none", broken=False)
    if stripped[0] in "[{":
        try:
            items = _items_of(_DECODER.decode(stripped))
        except ValueError:
            items = None
        if items is not None:
            return Extracted(items, "json", broken=False)
    for block in _fenced_blocks(stripped):
        try:
            items = _items_of(_DECODER.decode(block.strip()))
        except ValueError:
            continue
        if items is not None:
            return Extracted(items, "fenced", broken=False)
    try:
        items = _items_of(_first_value(stripped))
    except ValueError:
        items = None
    if items is not None:
        return Extracted(items, "embedded", broken=False)
    salvaged = _salvage(stripped)
    if salvaged:
        return Extracted(salvaged, "salvaged", broken=True)
    return Extracted([], "none", broken=False)
