"""What the judge step of one batch came to, as it is stored in the batch's raw file.

`judged`: every pair has a verdict (kept, `judge`, or `judge_unreadable`).
`failed`: the judge could not be reached or refused the request; the pairs wait,
and a resumed run judges them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from client.pairs.judge import Verdict
from client.pairs.records import AttemptFailure, Completion

JudgeStatus = Literal["judged", "failed"]


@dataclass(frozen=True)
class JudgeOutcome:
    status: JudgeStatus
    model: str
    attempts: int
    started_at: str
    finished_at: str
    completion: Completion | None = None
    failures: list[AttemptFailure] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    error_reason: str | None = None
    error_message: str | None = None
    error_status: int | None = None

    @property
    def judged(self) -> bool:
        return self.status == "judged"

    def to_json(self) -> dict[str, Any]:
        completion = self.completion
        data: dict[str, Any] = {
            "status": self.status,
            "model": self.model,
            "endpoint": completion.endpoint if completion else None,
            "attempts": self.attempts,
            "failures": [f.to_json() for f in self.failures],
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "latency_s": round(completion.latency_s, 3) if completion else None,
            "reply": None,
            "kept": sum(v.kept for v in self.verdicts),
            "rejected": sum(not v.kept for v in self.verdicts),
            "error": None,
        }
        if completion is not None:
            data["reply"] = {
                "text": completion.text,
                "finish_reason": completion.finish_reason,
                "usage": {
                    "prompt_tokens": completion.prompt_tokens,
                    "completion_tokens": completion.completion_tokens,
                },
            }
        if self.status == "failed":
            data["error"] = {
                "reason": self.error_reason,
                "status": self.error_status,
                "message": self.error_message,
            }
        return data
