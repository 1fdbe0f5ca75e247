"""The settings sections and `Settings`: every section forbids unknown keys and every
value is validated, so a typo in the YAML file is an error that names the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from client.config.checks import ChecksConfig
from client.config.defaults import (
    DEFAULT_PERSONA_DIR,
    ENV_NESTED_DELIMITER,
    ENV_PREFIX,
    REWRITE_PROMPT_FILE,
    SYSTEM_PROMPT_FILE,
)
from client.config.judge import JudgeConfig

MAX_CONCURRENCY = 1024


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(_Section):
    base_url: str = "http://localhost:8000/v1"
    # Several endpoints (replicas): when non-empty, used instead of base_url.
    base_urls: tuple[str, ...] = ()
    model: str = "auto"
    request_timeout_s: float = Field(default=600.0, gt=0)
    connect_timeout_s: float = Field(default=5.0, gt=0)
    # How long to wait for the server to become ready before giving up (0: don't wait).
    wait_s: float = Field(default=0.0, ge=0)
    # An endpoint that fails is taken out of rotation for this long (doubling per failure).
    endpoint_cooldown_s: float = Field(default=2.0, ge=0)
    # Prometheus /metrics to read for --concurrency auto instead of the endpoint's own:
    # the servers behind a router (and/or the router's own metrics port). One endpoint.
    metrics_urls: tuple[str, ...] = ()
    # The HTTP stack under the SDK: aiohttp costs a fifth of httpx's CPU per request
    # (client/server/transport.py); httpx honours HTTP(S)_PROXY from the environment.
    http_transport: Literal["aiohttp", "httpx"] = "aiohttp"

    @property
    def endpoints(self) -> tuple[str, ...]:
        urls = self.base_urls or (self.base_url,)
        return tuple(dict.fromkeys(u.rstrip("/") for u in urls))

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"base URL must start with http:// or https://, got {url!r}")
        return url

    @field_validator("base_urls")
    @classmethod
    def _check_urls(cls, urls: tuple[str, ...]) -> tuple[str, ...]:
        for url in urls:
            cls._check_url(url)
        return urls

    @field_validator("metrics_urls")
    @classmethod
    def _check_metrics_urls(cls, urls: tuple[str, ...]) -> tuple[str, ...]:
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"metrics URL must start with http:// or https://, got {url!r}")
        return urls

    @model_validator(mode="after")
    def _metrics_urls_need_one_endpoint(self) -> ServerConfig:
        if self.metrics_urls and len(self.endpoints) > 1:
            raise ValueError(
                "metrics_urls (--metrics-url) are read for one endpoint, a router; with "
                "several base URLs each server's own /metrics is read"
            )
        return self

    @field_validator("model")
    @classmethod
    def _check_model(cls, model: str) -> str:
        if not model.strip():
            raise ValueError("model must not be empty (use 'auto' for the server's first model)")
        return model


class GenerationConfig(_Section):
    num_pairs_per_batch: int = Field(default=30, ge=1, le=500)
    total_batches: int = Field(default=4, ge=1, le=1_000_000)
    # Requests in flight at once per endpoint, or "auto": found while the run goes,
    # from the server's /metrics (or the client's own rate), up to max_concurrency.
    concurrency: int | Literal["auto"] = 4
    max_concurrency: int = Field(default=256, ge=1, le=MAX_CONCURRENCY)
    temperature: float = Field(default=0.8, ge=0.0, le=2.0)
    top_p: float = Field(default=0.9, gt=0.0, le=1.0)
    max_new_tokens: int = Field(default=2000, ge=1)
    # Base seed: batch i gets seed + i, which picks its scene hints (and, with send_seed,
    # is the server's sampling seed). None: a random base, recorded in the manifest.
    seed: int | None = Field(default=None, ge=0, lt=2**31)
    # Send each batch's seed as the request's sampling seed, for replies that can be
    # reproduced. Off by default: vLLM 0.32's CPU engine dies on seeded requests that
    # are prefilled in chunks (docs/vllm-behaviour.md).
    send_seed: bool = False
    # JSON-schema guided decoding (vLLM response_format); off for servers without it.
    structured_output: bool = True
    # Target mode: keep scheduling batches until this many unique pairs are accepted...
    target_pairs: int | None = Field(default=None, ge=1)
    # ...or this many batches have been scheduled, whichever comes first.
    max_batches: int = Field(default=1000, ge=1)
    # Extra fields for the request body, passed through untouched (e.g. top_k, repetition_penalty).
    extra_body: dict[str, Any] = Field(default_factory=dict)
    # Free generation: tell later batches which openings, endings and phrases the run
    # already overuses (docs/dataset.md, "Diversity over a long run").
    avoid_overused: bool = True
    # Processes that check each batch's pairs (client.run.workers): None, one per
    # core (at most 4; none when the pair checks are off); 1, on the event loop's own
    # thread.
    workers: int | None = Field(default=None, ge=1, le=256)

    @field_validator("concurrency", mode="before")
    @classmethod
    def _check_concurrency(cls, value: Any) -> int | str:
        if isinstance(value, str) and value.strip().lower() == "auto":
            return "auto"
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError("Input should be a valid integer or 'auto'")
        try:
            number = int(value)
        except ValueError:
            raise ValueError("Input should be a valid integer or 'auto'") from None
        if number < 1:
            raise ValueError("Input should be greater than or equal to 1")
        if number > MAX_CONCURRENCY:
            raise ValueError(f"Input should be less than or equal to {MAX_CONCURRENCY}")
        return number

    @property
    def auto_concurrency(self) -> bool:
        return self.concurrency == "auto"

    @property
    def pool_capacity(self) -> int:
        """Slots per endpoint the connection pools are sized for: the fixed level, or
        the most auto may reach."""
        return self.max_concurrency if self.concurrency == "auto" else self.concurrency


class RetryConfig(_Section):
    max_attempts: int = Field(default=6, ge=1, le=100)
    # Replies with no usable JSON are retried, but fewer times: it rarely gets better.
    max_content_attempts: int = Field(default=3, ge=1, le=100)
    initial_wait_s: float = Field(default=1.0, ge=0)
    max_wait_s: float = Field(default=30.0, ge=0)
    # Total time one batch may spend across its attempts and waits.
    max_elapsed_s: float = Field(default=900.0, gt=0)


class OutputConfig(_Section):
    output_dir: Path = Path("outputs")
    # fsync each file before it replaces the old one: survive power loss, not only kills.
    fsync: bool = True


class ValidationConfig(_Section):
    # The persona line must contain the persona's first person (persona.first_person),
    # both in the JSON schema sent to the server and in validation.
    require_first_person: bool = True
    min_quality: float = Field(default=0.0, ge=0.0, le=1.0)
    standard_min_chars: int = Field(default=2, ge=1)
    standard_max_chars: int = Field(default=120, ge=1)
    gyaru_min_chars: int = Field(default=2, ge=1)
    gyaru_max_chars: int = Field(default=160, ge=1)
    dedup_key: Literal["pair", "standard"] = "pair"
    dedup_against_previous_runs: bool = False

    @model_validator(mode="after")
    def _check_bounds(self) -> ValidationConfig:
        if self.standard_min_chars > self.standard_max_chars:
            raise ValueError("standard_min_chars is greater than standard_max_chars")
        if self.gyaru_min_chars > self.gyaru_max_chars:
            raise ValueError("gyaru_min_chars is greater than gyaru_max_chars")
        return self

    @model_validator(mode="before")
    @classmethod
    def _old_name(cls, data: Any) -> Any:
        # require_ash is the key's name before personas were folders; config snapshots
        # of older datasets still hold it. The loader renames it in each file (and
        # warns), so here it only comes from a snapshot, where it is the value that
        # was set (Settings.model_validate fills in the section's defaults beside it).
        if isinstance(data, dict) and "require_ash" in data:
            data = dict(data)
            data["require_first_person"] = data.pop("require_ash")
        return data


class PromptConfig(_Section):
    # The persona's prompts: the loader sets both paths to the files of the persona
    # folder it picked (personas/<name>/system_prompt.txt, rewrite_prompt.txt).
    system_prompt_path: Path = DEFAULT_PERSONA_DIR / SYSTEM_PROMPT_FILE
    # The per-batch user message; None: the built-in Japanese one (see prompts.py).
    user_template: str | None = None
    # generate --input: the persona's rewrite prompt, and the user message listing
    # a batch's inputs (None: the built-in one, see pairs/rewrite.py).
    rewrite_prompt_path: Path = DEFAULT_PERSONA_DIR / REWRITE_PROMPT_FILE
    rewrite_user_template: str | None = None


class InputConfig(_Section):
    # A file of the user's own sentences to rewrite (.txt, .jsonl, .csv); None: the
    # model writes both lines (free generation).
    path: Path | None = None
    # The JSON field or CSV column holding the sentence (.jsonl default: standard).
    field: str | None = None


class PersonaConfig(_Section):
    """Who the persona is. No defaults for who: the persona folder's persona.yaml says."""

    name: str = Field(min_length=1)
    first_person: str = Field(min_length=1)
    topics: tuple[str, ...] = Field(min_length=1)
    # Words that make a line sound like the persona; they feed the quality score.
    style_markers: tuple[str, ...] = ()
    # Situations a batch is nudged towards (two per batch, drawn from its seed), so
    # concurrent batches on the same topic still write about different things.
    scenes: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _check_topics(self) -> PersonaConfig:
        if len(set(self.topics)) != len(self.topics):
            raise ValueError("topics must not repeat")
        if any(not t.strip() for t in self.topics):
            raise ValueError("topics must not be empty strings")
        return self


class ExportConfig(_Section):
    """The system turn `client export` writes: the persona's own words, from its folder."""

    system_prompt: str = Field(min_length=1)
    reverse_system_prompt: str = Field(min_length=1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        extra="forbid",
        frozen=True,
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
        nested_model_default_partial_update=True,
    )

    server: ServerConfig = ServerConfig()
    generation: GenerationConfig = GenerationConfig()
    retry: RetryConfig = RetryConfig()
    output: OutputConfig = OutputConfig()
    validation: ValidationConfig = ValidationConfig()
    prompt: PromptConfig = PromptConfig()
    # Persona data has no default: the loader layers the persona folder over the base
    # config (client/config/loading.py), so a Settings always belongs to one persona.
    persona: PersonaConfig
    export: ExportConfig
    judge: JudgeConfig = JudgeConfig()
    input: InputConfig = InputConfig()
    checks: ChecksConfig = ChecksConfig()
    # Folders to look for personas in (`--persona NAME`), before personas/ of the
    # working directory; read by the loader before the persona is layered in.
    personas_dirs: tuple[Path, ...] = ()

    @model_validator(mode="after")
    def _check_input_mode(self) -> Settings:
        if self.input.path is not None and self.generation.target_pairs is not None:
            raise ValueError(
                "input.path and generation.target_pairs exclude each other: "
                "an input run makes one pair per input line"
            )
        return self

    def snapshot(self) -> dict[str, Any]:
        """Everything that shaped a run, JSON-ready (holds no secret: the key is not a setting)."""
        return self.model_dump(mode="json")
