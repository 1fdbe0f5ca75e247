"""The judge step of a batch: one request grading every pair the checks kept.

It goes through the same endpoint pool (so the same concurrency bound) and the
same retry policy as generation. A reply that does not grade every pair is a
content failure and is retried (sampling instead of greedy, or the retry would
repeat it); when those retries run out, what could be read decides and the rest
of the pairs are rejected as `judge_unreadable`. A judge that cannot be reached
fails only this step: the outcome says "failed", the generated pairs stay on
disk, and a resumed run judges them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from tenacity import RetryCallState

from client.clock import utc_now
from client.config import JudgeConfig
from client.errors import ContentError, FatalRequestError, RequestError, TransientError
from client.pairs.judge import RETRY_TEMPERATURE, Reading, Thresholds, read_reply, verdicts
from client.pairs.judge_outcome import JudgeOutcome
from client.pairs.judge_request import (
    REPLY_OVERHEAD_TOKENS,
    JudgedItem,
    JudgePrompt,
    max_tokens,
    response_format,
)
from client.pairs.records import AttemptFailure, Completion
from client.server.api import Endpoint
from client.server.pool import EndpointPool
from client.server.retry import RetryPolicy

log = structlog.get_logger("client.run.judge")


@dataclass
class _Judging:
    """What one judge request's attempts have gathered so far."""

    batch: int
    num_pairs: int
    messages: list[dict[str, str]]
    started_at: str
    failures: list[AttemptFailure] = field(default_factory=list)
    attempts: int = 0
    content_retries: int = 0
    last_url: str | None = None
    completion: Completion | None = None
    reading: Reading | None = None
    # Room left in the context for the reply, once the server has counted the prompt.
    room: int | None = None


class JudgeStage:
    def __init__(
        self,
        *,
        pool: EndpointPool,
        policy: RetryPolicy,
        model: str,
        prompt: JudgePrompt,
        config: JudgeConfig,
        structured_output: bool,
        run_id: str,
    ) -> None:
        self.pool = pool
        self.policy = policy
        self.model = model
        self.prompt = prompt
        self.config = config
        self.thresholds = Thresholds.from_config(config)
        self.structured_output = structured_output
        self.run_id = run_id

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
        state = _Judging(
            batch=batch,
            num_pairs=len(pairs),
            messages=self.prompt.messages(pairs),
            started_at=utc_now(),
        )
        retrying = self.policy.retrying(
            before_sleep=lambda rs: self._before_sleep(state, rs),
            failover=lambda exc: self.pool.can_failover(exc, state.last_url),
        )
        try:
            async for attempt in retrying:
                with attempt:
                    await self._attempt(state)
        except ContentError as exc:
            # Out of content retries: what could be read still decides.
            state.failures.append(self._failure(state, exc, wait_s=None))
            log.warning(
                "judge reply incomplete after retries",
                run_id=self.run_id,
                batch=batch,
                error=exc.message,
            )
        except RequestError as exc:
            return self._failed(state, exc)
        return self._judged(state)

    async def _attempt(self, state: _Judging) -> None:
        state.attempts += 1
        params = self.params(state.num_pairs, content_retries=state.content_retries)
        async with self.pool.slot(avoid=state.last_url) as endpoint:
            state.last_url = endpoint.base_url
            if state.room is None:
                state.room = await self._room(endpoint, state)
            if state.room > 0:
                params["max_tokens"] = min(params["max_tokens"], state.room)
            try:
                completion = await endpoint.chat(
                    model=self.model, messages=state.messages, params=params
                )
            except TransientError as exc:
                self.pool.report_failure(endpoint, exc)
                raise
            self.pool.report_success(endpoint)
        state.completion = completion
        state.reading = read_reply(completion.text, state.num_pairs)
        if not state.reading.complete:
            state.content_retries += 1
            raise ContentError(
                f"judge reply (finish_reason={completion.finish_reason}): "
                + state.reading.summary(),
                raw_text=completion.text,
                finish_reason=completion.finish_reason,
            )

    async def _room(self, endpoint: Endpoint, state: _Judging) -> int:
        """Tokens the context leaves for the reply (0: unknown). A batch of long lines
        leaves less than the budget asks for, and vLLM refuses such a request outright,
        so the request asks only for what fits; one whose prompt alone does not fit is
        not sent."""
        counted = await endpoint.prompt_tokens(model=self.model, messages=state.messages)
        if counted is None:
            return 0
        tokens, context = counted
        if tokens >= context - REPLY_OVERHEAD_TOKENS:
            raise FatalRequestError(
                f"{endpoint.base_url}: the judge's prompt with these {state.num_pairs} pairs is "
                f"{tokens} tokens and the model's max_model_len is {context}: judge fewer "
                "pairs at once (--pairs-per-batch) or serve a longer context",
                status=None,
            )
        return context - tokens

    def _failure(
        self, state: _Judging, exc: RequestError, *, wait_s: float | None
    ) -> AttemptFailure:
        return AttemptFailure(
            attempt=state.attempts,
            reason=exc.reason,
            message=exc.message,
            endpoint=state.last_url,
            wait_s=wait_s,
        )

    def _before_sleep(self, state: _Judging, retry_state: RetryCallState) -> None:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if not isinstance(exc, RequestError):
            return
        failure = self._failure(state, exc, wait_s=round(retry_state.upcoming_sleep, 3))
        state.failures.append(failure)
        log.warning(
            "retrying judge",
            run_id=self.run_id,
            batch=state.batch,
            attempt=state.attempts,
            reason=exc.reason,
            wait_s=failure.wait_s,
            error=exc.message,
        )

    def _failed(self, state: _Judging, exc: RequestError) -> JudgeOutcome:
        state.failures.append(self._failure(state, exc, wait_s=None))
        log.error(
            "judge failed for this batch",
            run_id=self.run_id,
            batch=state.batch,
            reason=exc.reason,
            attempts=state.attempts,
            error=exc.message,
        )
        return JudgeOutcome(
            status="failed",
            model=self.model,
            attempts=state.attempts,
            started_at=state.started_at,
            finished_at=utc_now(),
            completion=state.completion,
            failures=state.failures,
            error_reason=exc.reason,
            error_message=exc.message,
            error_status=exc.status if isinstance(exc, FatalRequestError) else None,
        )

    def _judged(self, state: _Judging) -> JudgeOutcome:
        assert state.reading is not None  # a reply arrived, or the step failed
        found = verdicts(state.reading, self.thresholds)
        outcome = JudgeOutcome(
            status="judged",
            model=self.model,
            attempts=state.attempts,
            started_at=state.started_at,
            finished_at=utc_now(),
            completion=state.completion,
            failures=state.failures,
            verdicts=found,
        )
        log.debug(
            "batch judged",
            run_id=self.run_id,
            batch=state.batch,
            kept=sum(v.kept for v in found),
            rejected=sum(not v.kept for v in found),
            attempts=state.attempts,
        )
        return outcome
