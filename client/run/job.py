"""Settings turned into the pieces a run is made of (shared by generate and bench)."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from client.config import Settings
from client.pairs.prompts import PromptSet
from client.pairs.schema import PairRules
from client.pairs.validate import ValidationContext
from client.server.pool import EndpointPool
from client.server.retry import RetryPolicy


def pair_rules(settings: Settings) -> PairRules:
    val, persona = settings.validation, settings.persona
    return PairRules(
        topics=persona.topics,
        first_person=persona.first_person if val.require_ash else None,
        standard_min_chars=val.standard_min_chars,
        standard_max_chars=val.standard_max_chars,
        gyaru_min_chars=val.gyaru_min_chars,
        gyaru_max_chars=val.gyaru_max_chars,
    )


def validation_context(settings: Settings, rules: PairRules) -> ValidationContext:
    return ValidationContext(
        rules=rules,
        style_markers=settings.persona.style_markers,
        min_quality=settings.validation.min_quality,
    )


def prompt_set(settings: Settings) -> PromptSet:
    persona = settings.persona
    return PromptSet.load(
        settings.prompt.system_prompt_path,
        num_pairs=settings.generation.num_pairs_per_batch,
        topics=persona.topics,
        first_person=persona.first_person,
        persona_name=persona.name,
        user_template=settings.prompt.user_template,
    )


def request_params(settings: Settings, rules: PairRules) -> dict[str, Any]:
    gen = settings.generation
    params: dict[str, Any] = {
        "temperature": gen.temperature,
        "top_p": gen.top_p,
        "max_tokens": gen.max_new_tokens,
    }
    if gen.structured_output:
        params["response_format"] = rules.response_format(gen.num_pairs_per_batch)
    if gen.extra_body:
        params["extra_body"] = dict(gen.extra_body)
    return params


def retry_policy(settings: Settings) -> RetryPolicy:
    r = settings.retry
    return RetryPolicy(
        max_attempts=r.max_attempts,
        max_content_attempts=r.max_content_attempts,
        initial_wait_s=r.initial_wait_s,
        max_wait_s=r.max_wait_s,
        max_elapsed_s=r.max_elapsed_s,
    )


def endpoint_pool(settings: Settings, api_key: SecretStr | None, *, capacity: int) -> EndpointPool:
    return EndpointPool.connect(
        list(settings.server.endpoints),
        api_key=api_key,
        capacity=capacity,
        request_timeout_s=settings.server.request_timeout_s,
        connect_timeout_s=settings.server.connect_timeout_s,
        cooldown_s=settings.server.endpoint_cooldown_s,
    )
