"""retry: what is retried, the waits, and the bounds."""

from __future__ import annotations

import pytest

from client.errors import ContentError, FatalRequestError, TransientError
from client.server.retry import RetryPolicy, RetryWait

POLICY = RetryPolicy(
    max_attempts=4, max_content_attempts=2, initial_wait_s=1.0, max_wait_s=8.0, max_elapsed_s=600
)


async def run(
    policy: RetryPolicy, errors: list[Exception], **kwargs: object
) -> tuple[int, list[float]]:
    attempts = 0
    waits: list[float] = []

    def before_sleep(wait: RetryWait) -> None:
        assert wait.attempt == attempts and wait.error is errors[attempts - 1]
        waits.append(wait.wait_s)

    queue = list(errors)

    async def attempt() -> None:
        nonlocal attempts
        attempts += 1
        if queue:
            raise queue.pop(0)

    await policy.run(attempt, before_sleep=before_sleep, **kwargs)  # type: ignore[arg-type]
    return attempts, waits


async def test_transient_errors_are_retried_with_growing_waits() -> None:
    attempts, waits = await run(POLICY, [TransientError("x", reason="http_500")] * 3)
    assert attempts == 4
    assert len(waits) == 3
    assert waits[0] < waits[2] <= 8.0 + 1.0


async def test_retry_after_is_honoured_and_capped() -> None:
    _, waits = await run(
        POLICY,
        [
            TransientError("x", reason="http_429", retry_after_s=3.0),
            TransientError("x", reason="http_429", retry_after_s=100.0),
        ],
    )
    assert waits == [3.0, 8.0]


async def test_attempts_are_bounded() -> None:
    with pytest.raises(TransientError):
        await run(POLICY, [TransientError("x", reason="connection")] * 10)


async def test_fatal_errors_are_not_retried() -> None:
    with pytest.raises(FatalRequestError):
        await run(POLICY, [FatalRequestError("bad", status=400), TransientError("x", reason="r")])


async def test_content_failures_have_their_own_smaller_bound() -> None:
    content = ContentError("no json", raw_text="", finish_reason="stop")
    with pytest.raises(ContentError):
        await run(POLICY, [content, content, content])
    attempts, _ = await run(POLICY, [content, TransientError("x", reason="http_500")])
    assert attempts == 3


async def test_failover_skips_the_wait() -> None:
    err = TransientError("x", reason="connection", endpoint_fault=True)
    _, waits = await run(POLICY, [err], failover=lambda exc: True)
    assert waits == [0.0]


async def test_total_time_is_bounded() -> None:
    policy = RetryPolicy(
        max_attempts=50,
        max_content_attempts=50,
        initial_wait_s=10.0,
        max_wait_s=10.0,
        max_elapsed_s=25,
    )
    with pytest.raises(TransientError):
        await run(policy, [TransientError("x", reason="http_500")] * 50)
