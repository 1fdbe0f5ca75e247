"""The system prompt and each batch's request: topic focus, seed and pair count.

Prompt files are templates with `${name}` placeholders (string.Template, so the
JSON examples' braces need no escaping): num_pairs, topics, first_person,
persona_name, and in the user message also topic_focus and batch.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from string import Template

from client.config.layers import read_text_file
from client.errors import ConfigError
from client.pairs.records import BatchSpec

DEFAULT_USER_TEMPLATE = (
    "今回のバッチ番号は${batch}です。トピック「${topic_focus}」を中心に、"
    "ほかのトピックも少し混ぜながら、ペアをちょうど${num_pairs}組作ってください。"
    "場面のヒント：${scenes}。これまでと重ならない新しい内容にして、JSONだけを出力してください。"
)
SEED_MODULUS = 2**31 - 1


def render(template: str, values: Mapping[str, object], *, source: str) -> str:
    try:
        return Template(template).substitute({k: str(v) for k, v in values.items()})
    except KeyError as exc:
        known = ", ".join(f"${{{k}}}" for k in sorted(values))
        raise ConfigError(
            f"{source}: unknown placeholder ${{{exc.args[0]}}} (known: {known})"
        ) from None
    except ValueError as exc:
        raise ConfigError(f"{source}: {exc} (write a literal $ as $$)") from None


def read_prompt_file(path: Path, *, what: str = "system prompt") -> str:
    text = read_text_file(path, what=what)
    if not text.strip():
        raise ConfigError(f"{what} file is empty: {path}")
    return text


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class PromptSet:
    """The rendered system prompt (the same for every batch, so the server's prefix
    cache serves it once) and the user-message template that varies per batch."""

    system: str
    user_template: str
    values: Mapping[str, object]

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        num_pairs: int,
        topics: tuple[str, ...],
        first_person: str,
        persona_name: str,
        user_template: str | None = None,
    ) -> PromptSet:
        user_template = user_template or DEFAULT_USER_TEMPLATE
        values: dict[str, object] = {
            "num_pairs": num_pairs,
            "topics": " / ".join(topics),
            "first_person": first_person,
            "persona_name": persona_name,
        }
        system = render(read_prompt_file(path), values, source=str(path))
        # Check the user template now, not in the middle of a run.
        render(
            user_template,
            {**values, "topic_focus": topics[0], "batch": 1, "scenes": ""},
            source="prompt.user_template",
        )
        return cls(system=system, user_template=user_template, values=values)

    def user_message(self, *, batch: int, topic_focus: str, scenes: str = "") -> str:
        return render(
            self.user_template,
            {**self.values, "topic_focus": topic_focus, "batch": batch, "scenes": scenes},
            source="prompt.user_template",
        )


def new_base_seed() -> int:
    return secrets.randbelow(SEED_MODULUS)


def batch_seed(base_seed: int, index: int) -> int:
    return (base_seed + index) % SEED_MODULUS


def retry_seed(seed: int, content_retry: int) -> int:
    # A content retry must not replay the same sampling: vLLM's per-request seed
    # makes the same request return the same reply.
    return (seed + content_retry * 100_003) % SEED_MODULUS


@dataclass(frozen=True)
class BatchPlan:
    prompts: PromptSet
    num_pairs: int
    topics: tuple[str, ...]
    base_seed: int
    limit: int  # the last batch index that may be scheduled
    scenes: tuple[str, ...] = ()
    # What to add to the request when it is made: the phrases the run overuses so far
    # (pairs.phrases.avoid_hint), "" for nothing. Specs are made as workers take them,
    # so each batch hears about what the batches before it wrote.
    hint: Callable[[], str] | None = None

    def spec(self, index: int) -> BatchSpec:
        # Each batch leans on one topic in turn, so concurrent batches ask for
        # different things instead of returning the same pairs.
        focus = self.topics[(index - 1) % len(self.topics)]
        seed = batch_seed(self.base_seed, index)
        picked = random.Random(seed).sample(self.scenes, min(2, len(self.scenes)))
        message = self.prompts.user_message(
            batch=index, topic_focus=focus, scenes="、".join(picked)
        )
        hint = self.hint() if self.hint is not None else ""
        return BatchSpec(
            index=index,
            num_pairs=self.num_pairs,
            topic_focus=focus,
            seed=seed,
            user_message=f"{message}\n{hint}" if hint else message,
        )

    def specs(self, done: Collection[int] = ()) -> Iterator[BatchSpec]:
        for index in range(1, self.limit + 1):
            if index not in done:
                yield self.spec(index)
