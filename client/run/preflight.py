"""The checks against the server before any batch: is it ready, which model, and does
the first batch's prompt fit its context. Failing here costs no GPU time."""

from __future__ import annotations

import structlog

from client.errors import ConfigError
from client.run.inputs import first_spec
from client.run.state import RunState
from client.server.readiness import max_model_len, resolve_model, wait_for_endpoints

log = structlog.get_logger("client.run")


async def check_server(state: RunState) -> None:
    """Wait for the endpoints, resolve the model, check max_new_tokens fits its context;
    endpoints not ready yet sit out a cooldown and join when they answer."""
    settings = state.job.settings
    max_new_tokens = settings.generation.max_new_tokens
    state.statuses = await wait_for_endpoints(state.pool.endpoints, wait_s=settings.server.wait_s)
    state.model = resolve_model(settings.server.model, state.statuses)
    state.max_model_len = context = max_model_len(state.statuses, state.model)
    if context is not None and max_new_tokens >= context:
        raise ConfigError(
            f"generation.max_new_tokens {max_new_tokens} is not below the "
            f"model's max_model_len {context}: the server would reject every "
            "request (lower --max-new-tokens, or serve a longer context)"
        )
    for status in state.statuses:
        if not status.ready:
            state.pool.take_out(status.endpoint, status.error or "not ready")
            log.warning(
                "endpoint not ready; it joins when it answers",
                endpoint=status.endpoint.base_url,
                error=status.error,
            )


async def check_prompt_fits(state: RunState) -> None:
    """Ask vLLM how long the first batch's prompt is: one that cannot fit the context
    fails here, not once per batch; one that leaves less room than max_new_tokens is
    reported."""
    assert state.template is not None
    assert state.plan is not None
    ready = next(s.endpoint for s in state.statuses if s.ready)
    first = first_spec(state) if state.job.inputs is not None else state.plan.spec(1)
    messages = state.template.messages(first)
    counted = await ready.prompt_tokens(model=state.template.model, messages=messages)
    if counted is None:
        return
    tokens, context = counted
    if tokens >= context:
        raise ConfigError(
            f"the prompt is {tokens} tokens but the model's max_model_len is {context}: "
            "shorten the system prompt or serve a longer context"
        )
    max_new_tokens = state.job.settings.generation.max_new_tokens
    if tokens + max_new_tokens > context:
        log.warning(
            "replies will be cut short: the prompt and max_new_tokens exceed max_model_len",
            prompt_tokens=tokens,
            max_new_tokens=max_new_tokens,
            max_model_len=context,
            room_for_reply=context - tokens,
        )
