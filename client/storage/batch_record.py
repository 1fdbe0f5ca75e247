"""The raw batch file: what was asked, what came back, what was kept and why.

`BatchRecord` is the one place that knows this file's shape: it builds the JSON
from a `BatchResult`, and every reader (resume, the dataset rebuild, stats) goes
through its typed accessors. Readers are lenient: a missing field counts as empty.

A pair that passed the checks is in `accepted`; it carries the judge's grades
(`judge`) once the judge has kept it, and none while it waits for the judge (or when
the judge is off). Files written before only a readable grade was a verdict may hold
`judge_unreadable` rejections: `read` takes those pairs back as waiting ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from client.pairs.dedup import DedupKey, dedup_key
from client.pairs.judge_outcome import (
    JudgeOutcome,
    apply_verdicts_json,
    is_graded,
    pair_position,
    returned_unreadable,
)
from client.pairs.records import FINISHED_STATUSES, BatchResult
from client.storage.atomic import atomic_write_json, read_json_object
from client.storage.layout import FORMAT


@dataclass(frozen=True)
class BatchRecord:
    data: dict[str, Any]

    @classmethod
    def from_result(
        cls,
        result: BatchResult,
        *,
        run_id: str,
        model: str,
        params: Mapping[str, Any],
        prompt_sha: str,
        dedup: tuple[DedupKey, list[bytes]],
        judge: JudgeOutcome | None = None,
    ) -> BatchRecord:
        """`dedup` holds the dedup mode and the keys of the accepted pairs: the rebuild
        at the end reuses them instead of normalising every pair again. `judge` is the
        judge step's outcome; None: not judged (yet, or the judge is off)."""
        spec, completion = result.spec, result.completion
        data: dict[str, Any] = {
            "format": FORMAT,
            "run_id": run_id,
            "batch": spec.index,
            "status": result.status,
            "request": {
                "model": model,
                "num_pairs": spec.num_pairs,
                "topic_focus": spec.topic_focus,
                "seed": spec.seed,
                "sampling_seed": result.sampling_seed,
                "temperature": params.get("temperature"),
                "top_p": params.get("top_p"),
                "max_tokens": params.get("max_tokens"),
                "structured_output": "response_format" in params,
                "system_prompt_sha256": prompt_sha,
                "user_message": spec.user_message,
            },
            "endpoint": completion.endpoint if completion else None,
            "attempts": result.attempts,
            "failures": [f.to_json() for f in result.failures],
            "started_at": result.started_at,
            "finished_at": result.finished_at,
            "latency_s": round(completion.latency_s, 3) if completion else None,
            "reply": _reply(result),
            "extraction": result.extraction,
            "accepted": [p.to_json() for p in result.accepted],
            "rejected": [r.to_json() for r in result.rejected],
            "error": _error(result),
            "dedup": {"key": dedup[0], "keys": [k.hex() for k in dedup[1]]},
            "judge": judge.to_json() if judge is not None else None,
        }
        return cls(data)

    def with_judgement(self, outcome: JudgeOutcome) -> BatchRecord:
        """This record once the judge has graded its pairs without grades (a resumed
        run): kept pairs carry their grades, turned-down ones move to `rejected`, pairs
        the reply left unreadable still wait; a failed or stopped step changes nothing
        but the judge section."""
        data = dict(self.data)
        data["judge"] = outcome.to_json()
        if not outcome.graded:
            return BatchRecord(data)
        accepted, rejections, mask = apply_verdicts_json(self.accepted, outcome.verdicts)
        data["accepted"] = accepted
        rejected = [*(self.data.get("rejected") or []), *rejections]
        data["rejected"] = sorted(rejected, key=lambda r: int(r.get("index", -1)))
        return BatchRecord(_dedup_kept(data, self.data.get("dedup"), mask))

    @property
    def ungraded(self) -> list[dict[str, Any]]:
        """The accepted pairs the judge has not graded (all of them when it was off)."""
        return [p for p in self.accepted if not is_graded(p)]

    def graded_only(self) -> BatchRecord:
        """This record as the dataset sees it while the judge is on: its pairs waiting
        for the judge left out."""
        mask = [is_graded(p) for p in self.accepted]
        if all(mask):
            return self
        data = {**self.data, "accepted": [p for p, m in zip(self.accepted, mask, strict=True) if m]}
        return BatchRecord(_dedup_kept(data, self.data.get("dedup"), mask))

    @property
    def judge_usage(self) -> tuple[int, int]:
        """Prompt and completion tokens of the judge's reply (zeros when there was none)."""
        judge = self.data.get("judge") or {}
        usage = (judge.get("reply") or {}).get("usage") or {}
        return int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)

    @property
    def judge_status(self) -> str | None:
        """The judge step's status (`JudgeStatus`: "judged", "unreadable", "failed",
        "stopped"), or None (not judged: the judge was off, or the run stopped first)."""
        judge = self.data.get("judge")
        status = judge.get("status") if isinstance(judge, dict) else None
        return status if isinstance(status, str) else None

    def awaits_judge(self) -> bool:
        """Finished, with pairs the judge has not graded yet."""
        return self.finished and bool(self.ungraded)

    @classmethod
    def read(cls, path: Path) -> BatchRecord | None:
        """The record in a batch file; None when it cannot be read as one."""
        data = read_json_object(path)
        return cls(_unreadable_returned(data)) if data is not None else None

    def write(self, path: Path, *, fsync: bool) -> None:
        atomic_write_json(path, self.data, fsync=fsync)

    @property
    def status(self) -> str | None:
        status = self.data.get("status")
        return status if isinstance(status, str) else None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @property
    def num_pairs(self) -> int:
        return int((self.data.get("request") or {}).get("num_pairs") or 0)

    @property
    def attempts(self) -> int:
        return int(self.data.get("attempts") or 0)

    @property
    def usage(self) -> tuple[int, int]:
        """Prompt and completion tokens of the reply (zeros when there was none)."""
        usage = (self.data.get("reply") or {}).get("usage") or {}
        return int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)

    @property
    def error(self) -> tuple[Any, Any]:
        """The failure's reason and message."""
        error = self.data.get("error") or {}
        return error.get("reason"), error.get("message")

    @property
    def accepted(self) -> list[dict[str, Any]]:
        return list(self.data.get("accepted") or [])

    @property
    def rejection_reasons(self) -> list[str]:
        return [str(r.get("reason")) for r in self.data.get("rejected") or []]

    @property
    def rejected(self) -> list[dict[str, Any]]:
        """The rejected items ({index, reason, detail, item}); anything else is skipped."""
        return [r for r in self.data.get("rejected") or [] if isinstance(r, dict)]

    def dedup_keys(self, key: DedupKey) -> list[bytes]:
        """The dedup keys of the accepted pairs: as the run stored them, or computed
        when absent or made for another dedup mode."""
        accepted = self.accepted
        stored = self.data.get("dedup") or {}
        hexes = stored.get("keys")
        if stored.get("key") == key and isinstance(hexes, list) and len(hexes) == len(accepted):
            try:
                return [bytes.fromhex(h) for h in hexes]
            except (TypeError, ValueError):
                pass
        return [dedup_key(p["standard"], p["gyaru"], key) for p in accepted]


def _reply(result: BatchResult) -> dict[str, Any] | None:
    completion = result.completion
    if completion is None:
        return None
    return {
        "text": completion.text,
        "finish_reason": completion.finish_reason,
        "model": completion.model,
        "usage": {
            "prompt_tokens": completion.prompt_tokens,
            "completion_tokens": completion.completion_tokens,
        },
    }


def _error(result: BatchResult) -> dict[str, Any] | None:
    if result.status != "failed":
        return None
    return {
        "reason": result.error_reason,
        "status": result.error_status,
        "message": result.error_message,
    }


def _dedup_kept(data: dict[str, Any], stored: Any, mask: list[bool]) -> dict[str, Any]:
    """`data` with the stored dedup keys of the pairs `mask` keeps (dropped when they
    do not match the pairs: readers compute them again)."""
    keys = stored.get("keys") if isinstance(stored, dict) else None
    if isinstance(keys, list) and len(keys) == len(mask):
        data["dedup"] = {**stored, "keys": [k for k, keep in zip(keys, mask, strict=True) if keep]}
    else:
        data.pop("dedup", None)
    return data


def _unreadable_returned(data: dict[str, Any]) -> dict[str, Any]:
    """A record as this version writes it: the pairs an older run rejected as
    `judge_unreadable` back among the accepted ones, in reply order, waiting for the
    judge (their dedup keys are computed again)."""
    returned, rejected = returned_unreadable(data.get("rejected") or [])
    if not returned:
        return data
    accepted = [*(data.get("accepted") or []), *returned]
    accepted.sort(key=pair_position)
    upgraded = {**data, "accepted": accepted, "rejected": rejected}
    upgraded.pop("dedup", None)
    if isinstance(data.get("judge"), dict):
        upgraded["judge"] = {**data["judge"], "status": "unreadable"}
    return upgraded
