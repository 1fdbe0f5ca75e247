"""The run manifest (raw/<run_id>/manifest.json): the config snapshot, the prompt hash,
the plan, the input it rewrites, each session and each batch's status, and the run's
summary at the end.

`Manifest` is the one place that knows its shape; `ManifestWriter` keeps it current
on disk without rewriting it after every one of thousands of batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from client.clock import Clock, monotonic
from client.pairs.fingerprint import FREE, InputFingerprint, RecordedInput
from client.pairs.records import BatchResult
from client.storage.atomic import (
    atomic_write_json,
    atomic_write_text,
    dump_chunks,
    read_json_object,
)
from client.storage.layout import FORMAT


@dataclass(frozen=True)
class RunFacts:
    """What a session knows once the server has answered: the manifest's header."""

    run_id: str
    model: str
    max_model_len: int | None
    endpoints: list[str]
    prompt_path: str
    prompt_sha: str
    base_seed: int
    plan: dict[str, Any]
    config: dict[str, Any]
    # What the run rewrites: an input file's fingerprint, or FREE (no --input). None:
    # not told, and the manifest keeps what an earlier session recorded, if anything.
    input: RecordedInput | None = None


def _input_json(recorded: RecordedInput) -> dict[str, Any] | None:
    """`input` in the manifest: the file's fingerprint, or null for free generation."""
    return recorded.to_json() if isinstance(recorded, InputFingerprint) else None


class Manifest:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    @classmethod
    def read(cls, path: Path) -> Manifest | None:
        data = read_json_object(path)
        return cls(data) if data is not None else None

    @classmethod
    def start(cls, previous: Manifest | None, facts: RunFacts, *, now: str) -> Manifest:
        """A new session's manifest: what an earlier session recorded (its sessions,
        batches and creation time) carried over."""
        before = previous.data if previous else {}
        sessions = list(before.get("sessions") or [])
        sessions.append({"started_at": now, "ended_at": None, "status": "running"})
        data: dict[str, Any] = {
            "format": FORMAT,
            "run_id": facts.run_id,
            "status": "running",
            "created_at": before.get("created_at", now),
            "updated_at": now,
            "model": facts.model,
            "max_model_len": facts.max_model_len,
            "endpoints": facts.endpoints,
            "system_prompt": {"path": facts.prompt_path, "sha256": facts.prompt_sha},
            "base_seed": facts.base_seed,
            "plan": facts.plan,
            "config": facts.config,
            "sessions": sessions,
            "batches": dict(before.get("batches") or {}),
            "summary": None,
        }
        if facts.input is not None:
            data["input"] = _input_json(facts.input)
        elif "input" in before:
            data["input"] = before["input"]
        return cls(data)

    @property
    def input(self) -> RecordedInput | None:
        """What the run rewrites, as recorded: a file's fingerprint, FREE, or None for
        a manifest that does not say (written before runs recorded it)."""
        if "input" not in self.data:
            return None
        recorded = self.data["input"]
        if recorded is None:
            return FREE
        return InputFingerprint.from_json(recorded)

    @property
    def base_seed(self) -> int | None:
        seed = self.data.get("base_seed")
        return seed if isinstance(seed, int) else None

    @property
    def prompt_sha(self) -> str | None:
        sha = (self.data.get("system_prompt") or {}).get("sha256")
        return sha if isinstance(sha, str) else None

    def set_batch(self, result: BatchResult, *, judge: str | None = None) -> None:
        """`judge`: the judge step's status ("judged", "failed"), None without one."""
        entry: dict[str, Any] = {
            "status": result.status,
            "attempts": result.attempts,
            "endpoint": result.completion.endpoint if result.completion else None,
            "topic_focus": result.spec.topic_focus,
            "seed": result.spec.seed,
            "accepted": len(result.accepted),
            "rejected": len(result.rejected),
            "finished_at": result.finished_at,
        }
        if result.status == "failed":
            entry["error"] = result.error_message
        if judge is not None:
            entry["judge"] = judge
        self.data.setdefault("batches", {})[str(result.spec.index)] = entry

    def set_judged(self, index: int, *, judge: str, accepted: int, rejected: int) -> None:
        """A batch of an earlier session, judged now."""
        entry = self.data.setdefault("batches", {}).setdefault(str(index), {})
        entry.update(judge=judge, accepted=accepted, rejected=rejected)

    def finish(self, status: str, summary: dict[str, Any], *, now: str) -> None:
        self.data["sessions"][-1].update({"ended_at": now, "status": status})
        self.data.update(status=status, updated_at=now, summary=summary)


class ManifestWriter:
    """Writes the manifest at most once per `interval_s` while the run goes (the raw
    files already hold every finished batch), and always on `write`.

    A manifest never written is due whatever the clock says: `clock` counts from an
    arbitrary origin (time.monotonic counts from boot), so no reading of it means "never".
    """

    def __init__(
        self,
        path: Path,
        manifest: Manifest,
        *,
        fsync: bool,
        interval_s: float = 1.0,
        clock: Clock = monotonic,
    ) -> None:
        self.path = path
        self.manifest = manifest
        self.fsync = fsync
        self.interval_s = interval_s
        self._clock = clock
        self._last_write: float | None = None
        self._dirty = False

    def set_batch(self, result: BatchResult, *, judge: str | None = None) -> None:
        self.manifest.set_batch(result, judge=judge)
        self._dirty = True

    def set_judged(self, index: int, *, judge: str, accepted: int, rejected: int) -> None:
        self.manifest.set_judged(index, judge=judge, accepted=accepted, rejected=rejected)
        self._dirty = True

    def due(self) -> bool:
        if not self._dirty:
            return False
        return self._last_write is None or self._clock() - self._last_write >= self.interval_s

    def render(self) -> list[str]:
        """The manifest as text, marked written: render on the event loop (workers keep
        changing it), then `write_text` in a thread (fsync blocks)."""
        self._last_write = self._clock()
        self._dirty = False
        return dump_chunks(self.manifest.data)

    def write_text(self, chunks: list[str]) -> None:
        atomic_write_text(self.path, [*chunks, "\n"], fsync=self.fsync)

    def write(self) -> None:
        self._last_write = self._clock()
        self._dirty = False
        atomic_write_json(self.path, self.manifest.data, fsync=self.fsync)
