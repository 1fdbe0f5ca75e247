"""A `Job`: settings turned, once, into the pieces a run is made of. generate, bench
and the tests all build their runs from it, so none of them wires them by hand."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pydantic import SecretStr

from client.config import Settings
from client.pairs.batchwork import CheckRecipe
from client.pairs.checks import PairChecker
from client.pairs.diversity import DiversityTally, Words
from client.pairs.judge_request import JudgePrompt
from client.pairs.neardup import NearDuplicates
from client.pairs.prompts import BatchPlan, PromptSet
from client.pairs.rewrite import RewritePrompts
from client.pairs.schema import PairRules
from client.pairs.validate import ValidationContext
from client.run.attempts import AttemptLoop
from client.run.judge import JudgeStage, remedies
from client.run.runner import BatchRunner, RequestTemplate, RunObserver
from client.run.workers import CheckPool
from client.server.pool import EndpointPool
from client.server.retry import RetryPolicy
from client.storage.inputs import InputSource


def pair_rules(settings: Settings) -> PairRules:
    val, persona = settings.validation, settings.persona
    return PairRules(
        topics=persona.topics,
        first_person=persona.first_person if val.require_first_person else None,
        standard_min_chars=val.standard_min_chars,
        standard_max_chars=val.standard_max_chars,
        gyaru_min_chars=val.gyaru_min_chars,
        gyaru_max_chars=val.gyaru_max_chars,
    )


def validation_context(settings: Settings, rules: PairRules) -> ValidationContext:
    checks = settings.checks
    return ValidationContext(
        rules=rules,
        style_markers=settings.persona.style_markers,
        min_quality=settings.validation.min_quality,
        checker=PairChecker(checks, settings.persona.first_person) if checks.enabled else None,
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


def judge_prompt(settings: Settings) -> JudgePrompt | None:
    """The judge's system prompt for the persona; None when the judge is off (so a
    missing judge prompt file only matters to runs that judge)."""
    if not settings.judge.enabled:
        return None
    persona = settings.persona
    return JudgePrompt.load(
        settings.judge.prompt_path,
        persona_name=persona.name,
        first_person=persona.first_person,
        topics=persona.topics,
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
        transport=settings.server.http_transport,
    )


def _input_run(settings: Settings) -> tuple[InputSource | None, RewritePrompts | None]:
    path = settings.input.path
    if path is None:
        return None, None
    persona = settings.persona
    rewrite = RewritePrompts.load(
        settings.prompt.rewrite_prompt_path,
        topics=persona.topics,
        first_person=persona.first_person,
        persona_name=persona.name,
        user_template=settings.prompt.rewrite_user_template,
    )
    return InputSource.of(path, settings.input.field), rewrite


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
    # An input run (generate --input): the file, and the persona's rewrite prompts.
    inputs: InputSource | None = None
    rewrite: RewritePrompts | None = None
    judge_prompt: JudgePrompt | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Job:
        """Raises ConfigError when a prompt template cannot be read or rendered, and
        UsageError for an input file of a format this tool does not read."""
        rules = pair_rules(settings)
        inputs, rewrite = _input_run(settings)
        return cls(
            settings=settings,
            rules=rules,
            validation=validation_context(settings, rules),
            prompts=prompt_set(settings),
            params=request_params(settings, rules),
            policy=retry_policy(settings),
            inputs=inputs,
            rewrite=rewrite,
            judge_prompt=judge_prompt(settings),
        )

    @property
    def system_prompt(self) -> str:
        return self.rewrite.system if self.rewrite is not None else self.prompts.system

    @property
    def limit(self) -> int:
        return batch_limit(self.settings)

    def near_duplicates(
        self, earlier: Sequence[tuple[str, str, str]] = ()
    ) -> NearDuplicates | None:
        """A fresh near-duplicate finder seeded with earlier runs' (id, standard, gyaru)
        pairs; None when `checks.near_duplicate.enabled` is false, and in an input run:
        there every line of the user's file is its own input and becomes its own pair
        (exact and normalised duplicates are set aside when the file is read), and a
        MinHash signature per line would grow with the file."""
        rules = self.settings.checks.near_duplicate
        if not rules.enabled or self.inputs is not None:
            return None
        near = NearDuplicates(rules)
        for pair_id, standard, gyaru in earlier:
            near.add(pair_id, standard, gyaru)
        return near

    def diversity_tally(self, words: Words | None = None) -> DiversityTally:
        """What the summary learns the persona lines' diversity with, line by line;
        `words` splits a line (default: the analyser, in this process)."""
        persona = self.settings.persona
        return DiversityTally(
            markers=persona.style_markers, first_person=persona.first_person, words=words
        )

    def check_recipe(self) -> CheckRecipe:
        """What a pair-check worker builds its checks from: `validation`, in picklable
        values, and the near-duplicate rules when the run keeps an index (as
        `near_duplicates`)."""
        settings = self.settings
        near = settings.checks.near_duplicate
        return CheckRecipe(
            rules=self.rules,
            style_markers=settings.persona.style_markers,
            min_quality=settings.validation.min_quality,
            first_person=settings.persona.first_person,
            checks=settings.checks if settings.checks.enabled else None,
            near=near if near.enabled and self.inputs is None else None,
        )

    def plan(
        self, base_seed: int, *, limit: int | None = None, hint: Callable[[], str] | None = None
    ) -> BatchPlan:
        gen, persona = self.settings.generation, self.settings.persona
        return BatchPlan(
            prompts=self.prompts,
            num_pairs=gen.num_pairs_per_batch,
            topics=persona.topics,
            base_seed=base_seed,
            limit=self.limit if limit is None else limit,
            scenes=persona.scenes,
            hint=hint,
        )

    def template(self, model: str) -> RequestTemplate:
        return RequestTemplate(
            model=model,
            system_prompt=self.system_prompt,
            params=self.params,
            send_seed=self.settings.generation.send_seed,
            rules=self.rules if self.inputs is not None else None,
        )

    def pool(self, api_key: SecretStr | None, *, capacity: int | None = None) -> EndpointPool:
        """Endpoints with `capacity` slots each (default: generation.concurrency, or with
        auto the most it may reach; the tuners set each endpoint's own limit below it)."""
        size = self.settings.generation.pool_capacity if capacity is None else capacity
        return endpoint_pool(self.settings, api_key, capacity=size)

    def judge_pool(self, api_key: SecretStr | None) -> EndpointPool | None:
        """The judge's own server (judge.base_url), with the capacity of the generating
        ones (the run's workers bound how many judge requests are in flight); None:
        the judge shares the generating pool."""
        settings = self.settings
        if self.judge_prompt is None or settings.judge.base_url is None:
            return None
        return EndpointPool.connect(
            [settings.judge.base_url],
            api_key=api_key,
            capacity=settings.generation.pool_capacity,
            request_timeout_s=settings.server.request_timeout_s,
            connect_timeout_s=settings.server.connect_timeout_s,
            cooldown_s=settings.server.endpoint_cooldown_s,
            transport=settings.server.http_transport,
        )

    def attempts(self, pool: EndpointPool, *, run_id: str) -> AttemptLoop:
        """The attempt loop every request of the run goes through on `pool`."""
        return AttemptLoop(pool=pool, policy=self.policy, run_id=run_id)

    def judge_stage(self, pool: EndpointPool, model: str, *, run_id: str) -> JudgeStage | None:
        if self.judge_prompt is None:
            return None
        config, structured = self.settings.judge, self.settings.generation.structured_output
        return JudgeStage(
            attempts=self.attempts(pool, run_id=run_id),
            model=model,
            prompt=self.judge_prompt,
            config=config,
            structured_output=structured,
            advice=remedies(config, structured_output=structured, flags=True, no_judge=True),
        )

    def runner(
        self,
        pool: EndpointPool,
        template: RequestTemplate,
        *,
        run_id: str,
        observer: RunObserver,
        quiet_success: bool = False,
        checks: CheckPool | None = None,
    ) -> BatchRunner:
        """`checks`: the session's pool; None checks inline, without near-duplicate
        signatures (a bench keeps no index)."""
        if checks is None:
            checks = CheckPool(replace(self.check_recipe(), near=None), workers=1)
        return BatchRunner(
            attempts=self.attempts(pool, run_id=run_id),
            template=template,
            checks=checks,
            observer=observer,
            quiet_success=quiet_success,
        )
