"""The prompts of a rewrite run (`generate --input`): the persona's rewrite prompt as the
system message, and one user message per batch listing its inputs.

The rewrite prompt is the persona folder's rewrite_prompt.txt (`prompt.rewrite_prompt_path`),
a template with ${persona_name}, ${first_person} and ${topics}; it is the same for
every batch, so the server's prefix cache serves it once. The user message
(`prompt.rewrite_user_template`) takes ${count}, ${inputs} (one JSON object a line:
client.pairs.align.render_inputs) and the persona values.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from client.pairs.align import render_inputs
from client.pairs.digests import DigestSet
from client.pairs.inputs import InputItem, batches_of, free_indexes
from client.pairs.prompts import batch_seed, read_prompt_file, render
from client.pairs.records import BatchSpec

DEFAULT_REWRITE_USER_TEMPLATE = (
    "次の${count}個の文を、それぞれ${persona_name}の話し方に書き換えてください。"
    "id と standard はそのまま写し、JSONだけを出力してください。\n${inputs}"
)


@dataclass(frozen=True)
class RewritePrompts:
    system: str
    user_template: str
    values: Mapping[str, object]

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        topics: Sequence[str],
        first_person: str,
        persona_name: str,
        user_template: str | None = None,
    ) -> RewritePrompts:
        values: dict[str, object] = {
            "topics": " / ".join(topics),
            "first_person": first_person,
            "persona_name": persona_name,
        }
        system = render(read_prompt_file(path), values, source=str(path))
        prompts = cls(system, user_template or DEFAULT_REWRITE_USER_TEMPLATE, values)
        # A broken user template fails here, not in the middle of a run.
        prompts.user_message([InputItem(1, 1, "確認です。", "")])
        return prompts

    def user_message(self, inputs: Sequence[InputItem]) -> str:
        return render(
            self.user_template,
            {**self.values, "count": len(inputs), "inputs": render_inputs(inputs)},
            source="prompt.rewrite_user_template",
        )


@dataclass(frozen=True)
class RewritePlan:
    """The batches of an input run: the inputs not yet settled, `batch_size` at a time,
    in file order, numbered into the batch numbers no finished batch holds."""

    prompts: RewritePrompts
    batch_size: int
    base_seed: int

    def spec(self, index: int, inputs: Sequence[InputItem]) -> BatchSpec:
        return BatchSpec(
            index=index,
            num_pairs=len(inputs),
            topic_focus="",
            seed=batch_seed(self.base_seed, index),
            user_message=self.prompts.user_message(inputs),
            inputs=tuple(inputs),
        )

    def specs(
        self, items: Iterable[InputItem], *, settled: DigestSet, taken: Collection[int]
    ) -> Iterator[BatchSpec]:
        batches = batches_of(items, self.batch_size, done=settled)
        for inputs, index in zip(batches, free_indexes(taken), strict=False):
            yield self.spec(index, inputs)
