"""A `Job`: settings turned, once, into the pieces a run is made of. generate, bench
and the tests all build their runs from it, so none of them wires them by hand."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from client.config import Settings
from client.pairs.prompts import BatchPlan, PromptSet
from client.pairs.schema import PairRules
from client.pairs.validate import ValidationContext
from client.run.runner import BatchRunner, RequestTemplate, RunObserver
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


def batch_limit(settings: Settings) -> int:
    """The last batch index a run may schedule: the plan, or the cap in target mode."""
    gen = settings.generation
    return gen.max_batches if gen.target_pairs else gen.total_batches


@dataclass(frozen=True)
class Job:
    settings: Settings
    rules: PairRules
    validation: ValidationContext
    prompts: PromptSet
    # Sampling parameters and response_format, the same for every batch.
    params: dict[str, Any]
    policy: RetryPolicy

    @classmethod
    def from_settings(cls, settings: Settings) -> Job:
        """Raises ConfigError when the prompt template cannot be read or rendered."""
        rules = pair_rules(settings)
        return cls(
            settings=settings,
            rules=rules,
            validation=validation_context(settings, rules),
            prompts=prompt_set(settings),
            params=request_params(settings, rules),
            policy=retry_policy(settings),
        )

    @property
    def limit(self) -> int:
        return batch_limit(self.settings)

    def plan(self, base_seed: int, *, limit: int | None = None) -> BatchPlan:
        gen, persona = self.settings.generation, self.settings.persona
        return BatchPlan(
            prompts=self.prompts,
            num_pairs=gen.num_pairs_per_batch,
            topics=persona.topics,
            base_seed=base_seed,
            limit=self.limit if limit is None else limit,
            scenes=persona.scenes,
        )

    def template(self, model: str) -> RequestTemplate:
        return RequestTemplate(
            model=model,
            system_prompt=self.prompts.system,
            params=self.params,
            send_seed=self.settings.generation.send_seed,
        )

    def pool(self, api_key: SecretStr | None, *, capacity: int | None = None) -> EndpointPool:
        """Endpoints with `capacity` slots each (default: generation.concurrency, or with
        auto the most it may reach; the tuners set each endpoint's own limit below it)."""
        size = self.settings.generation.pool_capacity if capacity is None else capacity
        return endpoint_pool(self.settings, api_key, capacity=size)

    def runner(
        self,
        pool: EndpointPool,
        template: RequestTemplate,
        *,
        run_id: str,
        observer: RunObserver,
        quiet_success: bool = False,
    ) -> BatchRunner:
        return BatchRunner(
            pool=pool,
            policy=self.policy,
            template=template,
            validation=self.validation,
            run_id=run_id,
            observer=observer,
            quiet_success=quiet_success,
        )
