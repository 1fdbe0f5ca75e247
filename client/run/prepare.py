"""Setting a `generate` run up: every check and every read of what earlier sessions
left, once, before any batch. The result is one frozen `Prepared`, whole from the start:
nothing in it waits for a later step to fill it in.

    check_inputs        an input run's file, read and screened (run.inputs)
    check_same_input    a resumed run keeps its input (another file: refused, exit 2)
    check_server        ready endpoints, the model, its context length
    prepare_judge       the judge's server and model (the judge step, or None: off)
    base seed, plan     a resumed run keeps its seed, so batch N asks for what it did
    check_prompt_fits   the first batch's prompt against the context (vLLM's /tokenize)
    the run's folder    made, with the lines an input run never sends
    read_earlier        which batches are done or wait for the judge, and the pairs
                        they contributed (the de-duplication index)

Failing here costs no GPU time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from client.config import Settings
from client.errors import ConfigError, ModelNotServedError, ServerUnavailableError
from client.pairs.dedup import Deduper, DedupKey
from client.pairs.digests import DigestSet, hex64
from client.pairs.neardup import NearDuplicates
from client.pairs.phrases import PhraseCounter
from client.pairs.prompts import BatchPlan, sha256_text
from client.pairs.records import BatchSpec
from client.pairs.rewrites import settled_keys
from client.run.autoconc import Tuning
from client.run.autolevels import AutoLevels
from client.run.inputs import (
    InputFile,
    InputRun,
    check_inputs,
    check_same_input,
    write_input_rejections,
)
from client.run.job import Job
from client.run.judge import JudgeStage
from client.run.runner import RequestTemplate
from client.run.session import Session
from client.server.api import Endpoint
from client.server.pool import EndpointPool
from client.server.readiness import (
    EndpointStatus,
    max_model_len,
    resolve_model,
    wait_for_endpoints,
)
from client.storage.manifest import Manifest
from client.storage.processed import EarlierPair, previous_run_keys, previous_run_pairs
from client.storage.runstore import RunStore

if TYPE_CHECKING:
    from client.pairs.neardup import Signatures

log = structlog.get_logger("client.run")


@dataclass(frozen=True)
class ServerFacts:
    """What the generating server said before any batch."""

    statuses: tuple[EndpointStatus, ...]
    model: str
    max_model_len: int | None

    def first_ready(self) -> Endpoint:
        return next(s.endpoint for s in self.statuses if s.ready)


class SeenPairs:
    """The run's de-duplication index: the exact key of every pair kept so far (and of
    earlier runs' pairs, when asked) and, in free generation, their near-duplicate
    signatures. Target mode and the display count from it; the rebuild at the end keeps
    its own and decides."""

    def __init__(
        self,
        key: DedupKey,
        *,
        earlier_pairs: Sequence[EarlierPair] = (),
        earlier_keys: set[bytes] | None = None,
        near: NearDuplicates | None = None,
    ) -> None:
        self.key = key
        # Kept for the rebuild, which de-duplicates against them too.
        self.earlier_pairs = list(earlier_pairs)
        self.earlier_keys = earlier_keys or set()
        self._exact = Deduper(key, earlier=self.earlier_keys)
        self._near = near

    def __len__(self) -> int:
        return len(self._exact)

    def add_key(self, digest: bytes) -> bool:
        """Record an exact key; True when it is new."""
        return self._exact.add_key(digest)

    def add(self, pair_id: str, standard: str, gyaru: str, digest: bytes) -> bool:
        """Record a pair; True when it is neither a duplicate nor a near duplicate."""
        return self.add_many([pair_id], [(standard, gyaru)], [digest]) == 1

    def add_many(
        self,
        ids: Sequence[str],
        lines: Sequence[tuple[str, str]],
        digests: Sequence[bytes],
        signatures: Signatures | None = None,
    ) -> int:
        """`add` for each pair in turn (each sees the ones before it); answers how many
        are new. `signatures`: their near-duplicate signatures, one row each, when made
        already (by a pair-check worker)."""
        fresh = [i for i, digest in enumerate(digests) if self._exact.add_key(digest)]
        near = self._near
        if near is None or not fresh:
            return len(fresh)
        if signatures is None:
            rows = near.signatures([lines[i] for i in fresh])
        else:
            rows = signatures[fresh]
        return sum(twin is None for twin in near.add_many([ids[i] for i in fresh], rows))

    def release(self) -> None:
        """Let the index go (the rebuild at the end keeps its own)."""
        self._exact = Deduper(self.key)
        self._near = None


@dataclass(frozen=True)
class Resumed:
    """What earlier sessions of this run id left."""

    previous: Manifest | None
    # Batches finished (generated, judged or not): not scheduled again.
    done: frozenset[int]
    # An input run's inputs those batches settled: not sent again.
    settled: DigestSet
    # Batches generated but not judged: judged before new batches are asked for.
    to_judge: tuple[int, ...]


@dataclass(frozen=True)
class Prepared:
    """A run ready for its batches. `judge` is None when the judge is off, `phrases`
    when the prompt is not told what the run overuses, `inputs` in free generation,
    `levels` with a fixed concurrency."""

    session: Session
    server: ServerFacts
    base_seed: int
    plan: BatchPlan
    template: RequestTemplate
    prompt_sha: str
    judge: JudgeStage | None
    resumed: Resumed
    seen: SeenPairs
    phrases: PhraseCounter | None
    inputs: InputRun | None
    levels: AutoLevels | None

    @property
    def job(self) -> Job:
        return self.session.job

    @property
    def settings(self) -> Settings:
        return self.session.job.settings

    @property
    def store(self) -> RunStore:
        return self.session.store

    @property
    def pool(self) -> EndpointPool:
        return self.session.pool

    @property
    def model(self) -> str:
        return self.server.model

    @property
    def batches_planned(self) -> int:
        return self.inputs.batches if self.inputs is not None else self.job.limit

    def specs(self) -> Iterator[BatchSpec]:
        """The batches left to run, lazily."""
        done = self.resumed.done
        if self.inputs is not None:
            return self.inputs.file.specs(self.base_seed, settled=self.resumed.settled, done=done)
        return self.plan.specs(done)


async def prepare(session: Session, *, new_seed: Callable[[], int]) -> Prepared:
    """Every step before the batches, in order; `new_seed` draws the base seed of a new
    run that has none configured."""
    job, store = session.job, session.store
    input_file = check_inputs(job)
    previous = store.read_manifest()
    check_same_input(store.run_id, previous, input_file)
    server = await check_server(job, session.pool)
    judge = await prepare_judge(session, server)
    base_seed = _base_seed(job.settings, previous, new_seed)
    phrases = _phrase_counter(job)
    plan = job.plan(base_seed, hint=phrases.hint if phrases else None)
    template = job.template(server.model)
    first = input_file.first_spec(base_seed) if input_file else plan.spec(1)
    await check_prompt_fits(job, server, template, first)
    prompt_sha = sha256_text(job.system_prompt)
    _prepare_output(store, previous, prompt_sha)
    if input_file is not None:
        write_input_rejections(input_file, store)
    resumed, seen = read_earlier(job, store, previous, phrases)
    return Prepared(
        session=session,
        server=server,
        base_seed=base_seed,
        plan=plan,
        template=template,
        prompt_sha=prompt_sha,
        judge=judge,
        resumed=resumed,
        seen=seen,
        phrases=phrases,
        inputs=_input_run(input_file, resumed),
        levels=_auto_levels(session, server.model),
    )


async def check_server(job: Job, pool: EndpointPool) -> ServerFacts:
    """Wait for the endpoints, resolve the model, check max_new_tokens fits its context;
    endpoints not ready yet sit out a cooldown and join when they answer."""
    settings = job.settings
    max_new_tokens = settings.generation.max_new_tokens
    statuses = await wait_for_endpoints(pool.endpoints, wait_s=settings.server.wait_s)
    model = resolve_model(settings.server.model, statuses)
    context = max_model_len(statuses, model)
    if context is not None and max_new_tokens >= context:
        raise ConfigError(
            f"generation.max_new_tokens {max_new_tokens} is not below the "
            f"model's max_model_len {context}: the server would reject every "
            "request (lower --max-new-tokens, or serve a longer context)"
        )
    for status in statuses:
        if not status.ready:
            pool.take_out(status.endpoint, status.error or "not ready")
            log.warning(
                "endpoint not ready; it joins when it answers",
                endpoint=status.endpoint.base_url,
                error=status.error,
            )
    return ServerFacts(tuple(statuses), model, context)


async def prepare_judge(session: Session, server: ServerFacts) -> JudgeStage | None:
    """The judge step: the generating pool and model unless judge.base_url / judge.model
    name others. A judge server that does not answer now does not stop the run: its
    batches wait for the judge, and a resumed run grades them."""
    config = session.settings.judge
    pool, model = session.pool, config.model or server.model
    try:
        if session.judge_pool is not None:
            pool = session.judge_pool
            statuses = await wait_for_endpoints(pool.endpoints, wait_s=0)
            model = resolve_model(config.model or "auto", statuses)
        elif config.model is not None:
            model = resolve_model(config.model, list(server.statuses))
    except ModelNotServedError as exc:
        hint = str(exc).replace("--model or server.model", "--judge-model or judge.model")
        raise ModelNotServedError(f"judge: {hint}") from None
    except ServerUnavailableError as exc:
        log.warning("the judge server is not ready; its batches wait for it", error=str(exc))
    return session.job.judge_stage(pool, model, run_id=session.run_id)


def _base_seed(settings: Settings, previous: Manifest | None, new_seed: Callable[[], int]) -> int:
    """A resumed run keeps its base seed, so batch N asks for what it always did."""
    restored = previous.base_seed if previous else None
    if restored is not None:
        return restored
    configured = settings.generation.seed
    return configured if configured is not None else new_seed()


def _phrase_counter(job: Job) -> PhraseCounter | None:
    """Free generation with generation.avoid_overused: what the persona lines overuse,
    for the prompt to steer away from."""
    settings = job.settings
    if not settings.generation.avoid_overused or job.inputs is not None:
        return None
    return PhraseCounter(first_person=settings.persona.first_person)


async def check_prompt_fits(
    job: Job, server: ServerFacts, template: RequestTemplate, first: BatchSpec
) -> None:
    """Ask vLLM how long the first batch's prompt is: one that cannot fit the context
    fails here, not once per batch; one that leaves less room than max_new_tokens is
    reported."""
    messages = template.messages(first)
    counted = await server.first_ready().prompt_tokens(model=template.model, messages=messages)
    if counted is None:
        return
    tokens, context = counted
    if tokens >= context:
        raise ConfigError(
            f"the prompt is {tokens} tokens but the model's max_model_len is {context}: "
            "shorten the system prompt or serve a longer context"
        )
    max_new_tokens = job.settings.generation.max_new_tokens
    if tokens + max_new_tokens > context:
        log.warning(
            "replies will be cut short: the prompt and max_new_tokens exceed max_model_len",
            prompt_tokens=tokens,
            max_new_tokens=max_new_tokens,
            max_model_len=context,
            room_for_reply=context - tokens,
        )


def _prepare_output(store: RunStore, previous: Manifest | None, prompt_sha: str) -> None:
    store.prepare()
    if previous is not None and not previous.empty and previous.prompt_sha != prompt_sha:
        log.warning("the system prompt changed since this run started", run_id=store.run_id)


def _seen_pairs(job: Job, run_id: str) -> SeenPairs:
    """An index holding earlier runs' pairs (when asked for), before this run's."""
    validation = job.settings.validation
    if not validation.dedup_against_previous_runs:
        return SeenPairs(validation.dedup_key, near=job.near_duplicates())
    pairs = previous_run_pairs(job.settings.output.output_dir, run_id)
    return SeenPairs(
        validation.dedup_key,
        earlier_pairs=pairs,
        earlier_keys=previous_run_keys(pairs, validation.dedup_key),
        near=job.near_duplicates(pairs),
    )


def read_earlier(
    job: Job, store: RunStore, previous: Manifest | None, phrases: PhraseCounter | None
) -> tuple[Resumed, SeenPairs]:
    """One pass over what earlier sessions finished: which batches to skip or to judge,
    and the pairs they already contributed (plus, if asked, every earlier run's pairs)."""
    seen = _seen_pairs(job, store.run_id)
    done: set[int] = set()
    settled = DigestSet()
    to_judge: list[int] = []
    judging = job.settings.judge.enabled
    for index, record in store.finished_records():
        done.add(index)
        for input_key in settled_keys(record.accepted, record.rejected):
            settled.add(hex64(input_key))
        if judging and record.awaits_judge():
            # Its waiting pairs are judged before new batches; their inputs are not
            # sent again either. Those the judge graded already count now.
            to_judge.append(index)
            record = record.graded_only()
        pairs = record.accepted
        lines = [(p.standard, p.gyaru) for p in pairs]
        seen.add_many([p.id or "" for p in pairs], lines, record.dedup_keys(seen.key))
        if phrases is not None:
            phrases.add(p.gyaru for p in record.accepted)
    return Resumed(previous, frozenset(done), settled, tuple(to_judge)), seen


def _input_run(input_file: InputFile | None, resumed: Resumed) -> InputRun | None:
    if input_file is None:
        return None
    return input_file.left(done=resumed.done, settled=resumed.settled)


def _auto_levels(session: Session, model: str) -> AutoLevels | None:
    """--concurrency auto: a tuner per endpoint of the generating pool."""
    gen = session.settings.generation
    if not gen.auto_concurrency:
        return None
    return AutoLevels.over(
        session.pool,
        tuning=Tuning(max_level=gen.max_concurrency),
        api_key=session.api_key,
        model=model,
        metrics_urls=session.settings.server.metrics_urls,
    )
