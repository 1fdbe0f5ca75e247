"""What a run remembers of the file it rewrites, and when a resumed session's input is
another one. Pure.

An `InputFingerprint` is the file's name, its record count and a digest of its
normalised lines (`InputDigest`, fed by the input screen as it reads the file); a
run without --input is `FREE`. The manifest records one or the other, and
`input_refusal` gives the one line that stops a resumed session whose input is not
the run's: another file, --input on a free run, or an input run resumed without it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, Literal

from client.pairs.dedup import normalise

FREE: Final = "free"


@dataclass(frozen=True, slots=True)
class InputFingerprint:
    """What a run remembers of the file it rewrites."""

    file: str  # the file's name, without its folder
    lines: int  # records read, blank ones included
    digest: str  # input_digest of its lines

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "lines": self.lines, "digest": self.digest}

    @classmethod
    def from_json(cls, data: Any) -> InputFingerprint | None:
        """The fingerprint a manifest holds; None when it is not one."""
        if not isinstance(data, dict):
            return None
        file, lines, digest = data.get("file"), data.get("lines"), data.get("digest")
        if isinstance(file, str) and isinstance(lines, int) and isinstance(digest, str):
            return cls(file, lines, digest)
        return None


# What a run's manifest says it rewrites: a file, or nothing (free generation).
RecordedInput = InputFingerprint | Literal["free"]


class InputDigest:
    """A digest of a file's non-blank lines, each normalised (NFKC, case, whitespace
    and punctuation folded) as the input keys are: saving the file again with other
    line endings, a byte-order mark or trailing spaces leaves it as it was; changing,
    adding, dropping or moving a line changes it."""

    def __init__(self) -> None:
        self._hash = hashlib.blake2b(digest_size=16)

    def add(self, normalised: str) -> None:
        # A normalised line holds no control character, so a newline ends it unambiguously.
        self._hash.update(normalised.encode("utf-8") + b"\n")

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def input_digest(lines: Iterable[str]) -> str:
    """The digest of these lines' texts (blank ones skipped), as InputDigest makes it."""
    digest = InputDigest()
    for line in lines:
        if line.strip():
            digest.add(normalise(line.strip()))
    return digest.hexdigest()


def input_differences(recorded: InputFingerprint, current: InputFingerprint) -> list[str]:
    """What differs between the input a run was made from and this one, in words."""
    found = []
    if current.file != recorded.file:
        found.append(f"file {current.file}, not {recorded.file}")
    if current.lines != recorded.lines:
        found.append(f"{current.lines} lines, not {recorded.lines}")
    elif current.digest != recorded.digest:
        found.append("the same number of lines, with other text")
    return found


_WAY_OUT = "start a new run with a new --run-id"


def input_refusal(
    run_id: str, recorded: RecordedInput | None, current: InputFingerprint | None
) -> str | None:
    """The one line that refuses to resume run `run_id` with the input `current` (None:
    no --input), or None when it may go on. `recorded`: what the run's manifest says
    it rewrites (None: a manifest from before runs recorded it, so nothing to check).
    A file renamed but with the same lines is the same input."""
    if recorded is None or (recorded == FREE and current is None):
        return None
    if recorded == FREE:
        assert current is not None
        return (
            f"run {run_id} generates its own pairs from no input file, and --input "
            f"{current.file} cannot join it: {_WAY_OUT}"
        )
    made = f"run {run_id} was made from {recorded.file} ({recorded.lines} lines)"
    if current is None:
        return (
            f"{made}; without --input it would turn into free generation: resume it with "
            f"--input {recorded.file}, or {_WAY_OUT}"
        )
    if current.lines == recorded.lines and current.digest == recorded.digest:
        return None
    differs = "; ".join(input_differences(recorded, current))
    return (
        f"{made}, and --input {current.file} differs ({differs}): resume it with the file "
        f"it was made from, or {_WAY_OUT}"
    )
