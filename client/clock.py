"""Time, in one place, so behaviour that depends on it can be handed a fake clock.

`Clock` is what a component that measures intervals takes (default `time.monotonic`);
`utc_now` is the wall-clock timestamp written into files.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

# Seconds from an arbitrary origin: only differences mean anything.
Clock = Callable[[], float]

monotonic: Clock = time.monotonic


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
