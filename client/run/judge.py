"""The judge step of a batch: one request grading every pair the checks kept.

It goes through the same attempt loop as generation (run.attempts): the same endpoint
pool and concurrency bound, the same retry policy, the same tuner feed and logs. A
reply that does not grade every pair is a content failure and is retried (sampling
instead of greedy, or the retry would repeat it); when those retries run out, what
could be read decides and the rest of the pairs are rejected as `judge_unreadable`
(`JudgeStage._reading`, the one place that says so). A judge that cannot be reached
fails only this step: the outcome says "failed", the generated pairs stay on disk,
and a resumed run judges them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog

from client.config import JudgeConfig
from client.errors import ContentError, FatalRequestError
from client.pairs.judge import RETRY_TEMPERATURE, Reading, Thresholds, read_reply, verdicts
from client.pairs.judge_outcome import JudgeOutcome
from client.pairs.judge_request import (
    REPLY_OVERHEAD_TOKENS,
    JudgedItem,
    JudgePrompt,
    max_tokens,
    response_format,
)
from client.pairs.records import Completion
from client.run.attempts import AttemptLoop, Call, RequestOutcome
from client.server.api import Endpoint

log = structlog.get_logger("client.run.judge")


class JudgeCall(Call[Reading]):
    """One batch's judge request. Before the first one it asks the server how long the
    prompt is: a batch of long lines leaves less than the budget asks for, and vLLM
    refuses such a request outright, so the request asks only for what fits; one whose
    prompt alone does not fit is not sent."""

    kind = "judge"

    def __init__(self, stage: JudgeStage, batch: int, pairs: Sequence[JudgedItem]) -> None:
        self.stage = stage
        self.index = batch
        self.num_pairs = len(pairs)
        self.model = stage.model
        self.messages = stage.prompt.messages(pairs)
        # Tokens the context leaves for the reply (0: unknown); None: not asked yet.
        self.room: int | None = None

    async def prepare(self, endpoint: Endpoint) -> None:
        if self.room is None:
            self.room = await self._room(endpoint)

    async def _room(self, endpoint: Endpoint) -> int:
        counted = await endpoint.prompt_tokens(model=self.model, messages=self.messages)
        if counted is None:
            return 0
        tokens, context = counted
        if tokens >= context - REPLY_OVERHEAD_TOKENS:
            raise FatalRequestError(
                f"{endpoint.base_url}: the judge's prompt with these {self.num_pairs} pairs is "
                f"{tokens} tokens and the model's max_model_len is {context}: judge fewer "
                "pairs at once (--pairs-per-batch) or serve a longer context",
                status=None,
            )
        return context - tokens

    def params(self, content_retries: int) -> dict[str, Any]:
        params = self.stage.params(self.num_pairs, content_retries=content_retries)
        if self.room:
            params["max_tokens"] = min(params["max_tokens"], self.room)
        return params

    def read(self, completion: Completion) -> Reading:
        reading = read_reply(completion.text, self.num_pairs)
        if not reading.complete:
            raise ContentError(
                f"judge reply (finish_reason={completion.finish_reason}): " + reading.summary(),
                raw_text=completion.text,
                finish_reason=completion.finish_reason,
            )
        return reading


class JudgeStage:
    def __init__(
        self,
        *,
        attempts: AttemptLoop,
        model: str,
        prompt: JudgePrompt,
        config: JudgeConfig,
        structured_output: bool,
    ) -> None:
        self.attempts = attempts
        self.model = model
        self.prompt = prompt
        self.config = config
        self.thresholds = Thresholds.from_config(config)
        self.structured_output = structured_output

    @property
    def run_id(self) -> str:
        return self.attempts.run_id

    def params(self, num_pairs: int, *, content_retries: int) -> dict[str, Any]:
        params: dict[str, Any] = {
            "temperature": self.config.temperature if not content_retries else RETRY_TEMPERATURE,
            "max_tokens": max_tokens(num_pairs, per_pair=self.config.max_tokens_per_pair),
        }
        if self.structured_output:
            params["response_format"] = response_format(
                num_pairs, reason_max_chars=self.config.reason_max_chars
            )
        return params

    async def judge(self, batch: int, pairs: Sequence[JudgedItem]) -> JudgeOutcome:
        """Grades and a verdict for every pair, or a failed outcome; never raises a
        RequestError."""
        outcome = await self.attempts.run(JudgeCall(self, batch, pairs))
        reading = self._reading(batch, outcome, len(pairs))
        if reading is None:
            return self._failed(batch, outcome)
        return self._judged(batch, outcome, reading)

    def _reading(
        self, batch: int, outcome: RequestOutcome[Reading], num_pairs: int
    ) -> Reading | None:
        """What decides the pairs: the reading of a reply that graded them all, or, once
        the content retries ran out, what could be read of the last reply (the pairs it
        left ungraded become `judge_unreadable`). None: no verdicts at all (the judge
        could not be reached, or refused the request)."""
        if outcome.value is not None:
            return outcome.value
        if outcome.out_of_content_retries and outcome.completion is not None:
            log.warning(
                "judge reply incomplete after retries",
                run_id=self.run_id,
                batch=batch,
                error=outcome.error_message,
            )
            return read_reply(outcome.completion.text, num_pairs)
        return None

    def _failed(self, batch: int, outcome: RequestOutcome[Reading]) -> JudgeOutcome:
        log.error(
            "judge failed for this batch",
            run_id=self.run_id,
            batch=batch,
            reason=outcome.error_reason,
            attempts=outcome.attempts,
            error=outcome.error_message,
        )
        return JudgeOutcome(
            status="failed",
            model=self.model,
            attempts=outcome.attempts,
            started_at=outcome.started_at,
            finished_at=outcome.finished_at,
            completion=outcome.completion,
            failures=outcome.failures,
            error_reason=outcome.error_reason,
            error_message=outcome.error_message,
            error_status=outcome.error_status,
        )

    def _judged(
        self, batch: int, outcome: RequestOutcome[Reading], reading: Reading
    ) -> JudgeOutcome:
        found = verdicts(reading, self.thresholds)
        log.debug(
            "batch judged",
            run_id=self.run_id,
            batch=batch,
            kept=sum(v.kept for v in found),
            rejected=sum(not v.kept for v in found),
            attempts=outcome.attempts,
        )
        return JudgeOutcome(
            status="judged",
            model=self.model,
            attempts=outcome.attempts,
            started_at=outcome.started_at,
            finished_at=outcome.finished_at,
            completion=outcome.completion,
            failures=outcome.failures,
            verdicts=found,
        )
