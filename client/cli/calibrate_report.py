"""How `client calibrate` writes its figures: a rate with its interval, kappa's interval."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def interval(bounds: Sequence[float] | None, percent: bool = False) -> str:
    if bounds is None:
        return ""
    low, high = bounds
    return f" [{low:.1%}-{high:.1%}]" if percent else f" [{low:.2f}-{high:.2f}]"


def rate_line(name: str, rate: dict[str, Any]) -> str:
    if not rate["of"]:
        return f"{name} -"
    share = f"{rate['rate']:.1%}"
    return f"{name} {rate['hits']}/{rate['of']} = {share}{interval(rate['interval_95'], True)}"
