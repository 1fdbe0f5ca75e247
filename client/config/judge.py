"""The `judge` section of the settings: whether an LLM grades each batch, where, and
the grades a pair needs to be kept (docs/dataset.md, "The judge")."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from client.config.defaults import DEFAULT_PERSONA_DIR, JUDGE_PROMPT_FILE

# The loader sets judge.prompt_path to the picked persona folder's judge_prompt.txt.
DEFAULT_JUDGE_PROMPT = DEFAULT_PERSONA_DIR / JUDGE_PROMPT_FILE


class JudgeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # On by default: a pair reaches the dataset only after the judge kept it.
    enabled: bool = True
    # Another server for the judge; None: the generating server(s).
    base_url: str | None = None
    # Another model; None: the model that generated the pairs.
    model: str | None = None
    prompt_path: Path = DEFAULT_JUDGE_PROMPT
    # Greedy: the same pairs get the same grades. A retry after an unreadable reply
    # samples instead (judge.RETRY_TEMPERATURE), or it would repeat the same reply.
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    # The reply budget is this many tokens per pair (plus a little for the brackets).
    max_tokens_per_pair: int = Field(default=120, ge=16, le=4000)
    # The judge's one short reason per pair, in characters.
    reason_max_chars: int = Field(default=40, ge=8, le=400)
    # Grades run 1 (bad) to 5 (good); a pair below any minimum is rejected (reason `judge`).
    min_meaning: int = Field(default=4, ge=1, le=5)
    min_voice: int = Field(default=3, ge=1, le=5)
    min_naturalness: int = Field(default=3, ge=1, le=5)
    min_safety: int = Field(default=4, ge=1, le=5)
    # Reject a pair whose topic label the judge says is wrong.
    require_topic: bool = True

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError(f"base URL must start with http:// or https://, got {url!r}")
        return url.rstrip("/") if url is not None else None

    @field_validator("model")
    @classmethod
    def _check_model(cls, model: str | None) -> str | None:
        if model is not None and not model.strip():
            raise ValueError("judge model must not be empty (leave it unset for the generator's)")
        return model
