"""Processed pairs to the JSONL formats fine-tuning tools read. Pure (storage.exports writes them).

| format | one line |
| --- | --- |
| openai-chat | {"messages": [system, user (standard), assistant (gyaru)]} |
| alpaca | {"instruction": system, "input": standard, "output": gyaru} |
| sharegpt | {"conversations": [system, human (standard), gpt (gyaru)]} |

`reverse` swaps the direction (gyaru in, standard out), for a model that
normalises the persona's speech.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, Literal

Format = Literal["openai-chat", "alpaca", "sharegpt"]
FORMATS: tuple[Format, ...] = ("openai-chat", "alpaca", "sharegpt")


def example(
    pair: dict[str, Any], fmt: Format, *, system: str | None, reverse: bool = False
) -> dict[str, Any]:
    source, target = (
        (pair["gyaru"], pair["standard"]) if reverse else (pair["standard"], pair["gyaru"])
    )
    if fmt == "openai-chat":
        messages = [{"role": "system", "content": system}] if system else []
        messages += [{"role": "user", "content": source}, {"role": "assistant", "content": target}]
        return {"messages": messages}
    if fmt == "alpaca":
        return {"instruction": system or "", "input": source, "output": target}
    if fmt == "sharegpt":
        turns = [{"from": "system", "value": system}] if system else []
        turns += [{"from": "human", "value": source}, {"from": "gpt", "value": target}]
        return {"conversations": turns}
    raise ValueError(f"unknown format {fmt!r}")


def split(
    pairs: Sequence[dict[str, Any]], val_fraction: float, *, seed: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A reproducible shuffle-split; the validation part is never empty when asked for."""
    if val_fraction <= 0:
        return list(pairs), []
    order = list(range(len(pairs)))
    random.Random(seed).shuffle(order)
    n_val = max(1, round(len(pairs) * val_fraction)) if pairs else 0
    val_idx = set(order[:n_val])
    train = [p for i, p in enumerate(pairs) if i not in val_idx]
    val = [p for i, p in enumerate(pairs) if i in val_idx]
    return train, val
