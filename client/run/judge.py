"""The judge step of a batch: one request grading every pair the checks kept.

It goes through the same attempt loop as generation (run.attempts): the same endpoint
pool and concurrency bound, the same retry policy, the same tuner feed and logs. A
reply that does not grade every pair is a content failure and is retried (sampling
instead of greedy, or the retry would repeat it).

Only a readable grade is a verdict (`JudgeStage._outcome`, the one place that says
so). When the content retries run out, the last reply decides the pairs it graded
readably (each grade naming its pair, or one grade per pair in order) and leaves
the others waiting for the judge (`unreadable`): a person would rather re-grade a
few pairs than lose grades that were read, or keep pairs no grade was read for. A
judge that cannot be reached fails only this step (`failed`). Either way the pairs
stay on disk, and a resumed run judges them.

A judge whose replies could not be read batch after batch is not going to change by
itself: after `STOP_AFTER` batches in a row it could not read, the stage stops
sending (`stopped` outcomes, no request) and says once, through `on_stop`, what to
change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from client.clock import utc_now
from client.config import JudgeConfig
from client.errors import ContentError, FatalRequestError
from client.pairs.judge import (
    RETRY_TEMPERATURE,
    UNREADABLE,
    Reading,
    Thresholds,
    read_reply,
    verdicts,
)
from client.pairs.judge_outcome import STOPPED_REASON, JudgeOutcome, JudgeStatus
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

# Batches in a row the judge could not read before the stage stops sending.
STOP_AFTER = 3


class JudgeStopped(FatalRequestError):
    """The stage had stopped before this request went out: nothing is sent."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=None)
        self.reason = STOPPED_REASON


@dataclass
class UnreadableStreak:
    """Batches in a row the judge could not read (a reply read in full resets it; a
    judge that could not be reached neither adds to it nor resets it: that is the
    retry policy's and the pool's to handle). Trips once, at `limit`."""

    limit: int = STOP_AFTER
    count: int = 0
    tripped: bool = False
    last_problem: str = ""

    def add(self, outcome: JudgeOutcome) -> bool:
        """Count an outcome; True for the one that trips it."""
        if outcome.judged:
            self.count = 0
        elif outcome.status == "unreadable":
            self.count += 1
            self.last_problem = outcome.error_message or ""
            if self.count >= self.limit and not self.tripped:
                self.tripped = True
                return True
        return False


def remedies(config: JudgeConfig, *, structured_output: bool, flags: bool, no_judge: bool) -> str:
    """What a user can change when the judge's replies cannot be read, in the terms of
    the settings in force. `flags`: the command takes --structured-output; `no_judge`:
    it takes --no-judge (generate)."""
    found = [
        f"another judge model (--judge-model NAME; now {config.model})"
        if config.model
        else "a judge model that follows the grading format (--judge-model NAME)",
        f"another judge server (--judge-base-url URL; now {config.base_url})"
        if config.base_url
        else "a judge server of its own (--judge-base-url URL)",
    ]
    if not structured_output:
        where = "--structured-output" if flags else "generation.structured_output: true"
        found.append(f"structured output, which holds the reply to the grading schema ({where})")
    else:
        found.append(
            "a server that honours structured output (vLLM with guided decoding: "
            "this one does not hold the reply to the schema)"
        )
    if no_judge:
        found.append("or --no-judge, which lets the waiting pairs into the dataset unjudged")
    return "; ".join(found)


def judge_params(
    config: JudgeConfig, num_pairs: int, *, structured_output: bool, content_retries: int = 0
) -> dict[str, Any]:
    """The sampling parameters (and schema) of a request grading `num_pairs` pairs."""
    params: dict[str, Any] = {
        "temperature": config.temperature if not content_retries else RETRY_TEMPERATURE,
        "max_tokens": max_tokens(num_pairs, per_pair=config.max_tokens_per_pair),
    }
    if structured_output:
        params["response_format"] = response_format(
            num_pairs, reason_max_chars=config.reason_max_chars
        )
    return params


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
        if self.stage.streak.tripped:
            # Stopped while this request waited for a slot.
            raise JudgeStopped(self.stage.stopped_message())
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
    """The judge of a run (or of `client judge`, `client calibrate`): grades a batch of
    pairs at a time; `on_stop` hears once, with the one message, when it stops sending."""

    def __init__(
        self,
        *,
        attempts: AttemptLoop,
        model: str,
        prompt: JudgePrompt,
        config: JudgeConfig,
        structured_output: bool,
        on_stop: Callable[[str], None] | None = None,
        advice: str = "",
    ) -> None:
        self.attempts = attempts
        self.model = model
        self.prompt = prompt
        self.config = config
        self.thresholds = Thresholds.from_config(config)
        self.structured_output = structured_output
        self.streak = UnreadableStreak()
        self.on_stop = on_stop
        # What to change, said when it stops (`remedies`, in the caller's terms).
        self.advice = advice

    @property
    def run_id(self) -> str:
        return self.attempts.run_id

    @property
    def stopped(self) -> bool:
        return self.streak.tripped

    def stopped_message(self) -> str:
        last = f" (last: {self.streak.last_problem})" if self.streak.last_problem else ""
        advice = f". To have the pairs graded: {self.advice}" if self.advice else ""
        return (
            f"the judge ({self.model}) could not be read in {self.streak.limit} batches in a "
            f"row{last}: nothing more is sent to it{advice}"
        )

    def params(self, num_pairs: int, *, content_retries: int) -> dict[str, Any]:
        return judge_params(
            self.config,
            num_pairs,
            structured_output=self.structured_output,
            content_retries=content_retries,
        )

    async def judge(self, batch: int, pairs: Sequence[JudgedItem]) -> JudgeOutcome:
        """Verdicts for the pairs whose grades could be read, or an outcome saying why
        there are none; never raises a RequestError."""
        if self.stopped:
            return self._stopped()
        attempts = await self.attempts.run(JudgeCall(self, batch, pairs))
        outcome = self._outcome(batch, attempts, len(pairs))
        if self.streak.add(outcome):
            self._stop()
        return outcome

    def _stop(self) -> None:
        message = self.stopped_message()
        if self.on_stop is not None:
            self.on_stop(message)
        else:
            log.error(message, run_id=self.run_id)

    def _outcome(
        self, batch: int, outcome: RequestOutcome[Reading], num_pairs: int
    ) -> JudgeOutcome:
        """What the attempts decide: every pair graded (`judged`); once the content
        retries ran out, the last reply's readable grades, the rest waiting
        (`unreadable`); or no verdict at all (the judge could not be reached, refused
        the request, or had stopped)."""
        if outcome.value is not None:
            return self._judged(batch, outcome, outcome.value)
        if outcome.out_of_content_retries and outcome.completion is not None:
            reading = read_reply(outcome.completion.text, num_pairs)
            return self._unreadable(batch, outcome, reading)
        if outcome.error_reason == STOPPED_REASON:
            return self._stopped()
        return self._failed(batch, outcome)

    def _failed(self, batch: int, outcome: RequestOutcome[Reading]) -> JudgeOutcome:
        log.error(
            "judge failed for this batch",
            run_id=self.run_id,
            batch=batch,
            reason=outcome.error_reason,
            attempts=outcome.attempts,
            error=outcome.error_message,
        )
        return self._sent(
            "failed",
            outcome,
            error_reason=outcome.error_reason,
            error_message=outcome.error_message,
            error_status=outcome.error_status,
        )

    def _stopped(self) -> JudgeOutcome:
        now = utc_now()
        return JudgeOutcome(
            status="stopped",
            model=self.model,
            attempts=0,
            started_at=now,
            finished_at=now,
            error_reason=STOPPED_REASON,
            error_message="not sent: the judge had stopped (it could not be read)",
        )

    def _unreadable(
        self, batch: int, outcome: RequestOutcome[Reading], reading: Reading
    ) -> JudgeOutcome:
        found = verdicts(reading, self.thresholds)
        problem = reading.summary()
        if outcome.completion is not None and outcome.completion.finish_reason == "length":
            problem += " (cut at max_tokens: raise judge.max_tokens_per_pair)"
        log.warning(
            "judge reply unreadable after retries: the pairs it did not grade get no verdict",
            run_id=self.run_id,
            batch=batch,
            graded=len(found) - reading.unreadable,
            waiting=reading.unreadable,
            attempts=outcome.attempts,
            error=problem,
        )
        return self._sent(
            "unreadable", outcome, verdicts=found, error_reason=UNREADABLE, error_message=problem
        )

    def _judged(
        self, batch: int, outcome: RequestOutcome[Reading], reading: Reading
    ) -> JudgeOutcome:
        found = verdicts(reading, self.thresholds)
        log.debug(
            "batch judged",
            run_id=self.run_id,
            batch=batch,
            kept=sum(v is not None and v.kept for v in found),
            rejected=sum(v is not None and not v.kept for v in found),
            attempts=outcome.attempts,
        )
        return self._sent("judged", outcome, verdicts=found)

    def _sent(
        self, status: JudgeStatus, outcome: RequestOutcome[Reading], **fields: Any
    ) -> JudgeOutcome:
        """What the judge step made of a request it sent: its status, the request's
        attempts, times, last reply and failures, and `fields` (verdicts, error)."""
        return JudgeOutcome(
            status=status,
            model=self.model,
            attempts=outcome.attempts,
            started_at=outcome.started_at,
            finished_at=outcome.finished_at,
            completion=outcome.completion,
            failures=outcome.failures,
            **fields,
        )
