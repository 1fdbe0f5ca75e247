"""generate (respx) against a model that answers in its own shape (tests/ownshape.py),
every mode alone and mixed: the first run with the judge on, a resume with it on, a
resume with --no-judge; free generation and --input. After each session the
bookkeeping balances (tests/bookkeeping.py): every pair the server returned is in
the dataset, waiting for the judge, or rejected with a reason, none lost or counted
twice. The real CLI runs a few of these flows in tests/loopback/test_own_shape.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import respx

from client.config import Settings
from client.run.generate import generate
from client.run.summary import RunSummary
from tests.bookkeeping import LINES, assert_bookkeeping, dataset, returned_by
from tests.helpers import REPO, mock_vllm, own_shape_chat
from tests.ownshape import BOTH, GENERATION_ONLY, JUDGE_ONLY, MODES, OwnShape

# Judge shapes no reading gets a grade from, and the one that drops a grade a batch.
UNGRADED = ("gradeprose", "outofrange", "pairs")
MIXES = [("noids", "pairs"), ("loosecopy", "fewer", "prose"), MODES]


async def session(settings: Settings, shape: OwnShape, **changes: Any) -> tuple[RunSummary, int]:
    """One session of run r1; its summary and the items the server's replies held."""
    if changes:
        settings = settings.model_copy(
            update={k: getattr(settings, k).model_copy(update=v) for k, v in changes.items()}
        )
    async with respx.mock(assert_all_called=False) as router:
        route = mock_vllm(router, own_shape_chat(shape), judge=None)
        summary = await generate(settings, api_key=None, run_id="r1", argv=["generate"])
        bodies = [json.loads(c.request.content) for c in route.calls]
    return summary, returned_by(bodies)


def ids(modes: tuple[str, ...]) -> str:
    return "all" if modes == MODES else ",".join(modes)


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(
        generation={"total_batches": 5, "num_pairs_per_batch": 4, "concurrency": 1},
        retry={"max_content_attempts": 2},
    )


@pytest.mark.parametrize("modes", [(m,) for m in MODES] + MIXES, ids=ids)
async def test_free_generation_loses_no_pair_judged_resumed_or_released(
    settings: Settings, tmp_path: Path, modes: tuple[str, ...]
) -> None:
    out = tmp_path / "outputs"
    shape = OwnShape(modes, seed=4)
    first, returned = await session(settings, shape)
    assert_bookkeeping(out, returned)
    summary = first.stats
    if set(modes) <= {*BOTH, *GENERATION_ONLY}:
        # Shapes the client reads: every pair graded, nothing waits.
        assert first.exit_code == 0 and summary.pairs_unique == 20
    if len(modes) == 1 and modes[0] in (*UNGRADED, "fewer"):
        # Three batches the judge could not read: it stops, and so does generation.
        graded = 0 if modes[0] in UNGRADED else 3
        assert (first.status, first.exit_code) == ("incomplete", 1)
        assert first.live.batches_done == 3 and summary.pairs_unique == 3 * graded
        assert summary.awaiting_judge == {"unreadable": 12 - 3 * graded}
    if first.exit_code:
        assert first.resume_command is not None

    again, more = await session(settings, shape)
    returned += more
    assert_bookkeeping(out, returned)
    if first.exit_code == 0:
        assert more == 0 and again.exit_code == 0

    released, more = await session(settings, shape, judge={"enabled": False})
    returned += more
    assert_bookkeeping(out, returned)
    assert (released.status, released.exit_code) == ("complete", 0)
    pairs = dataset(out, "r1")["pairs"]
    assert len(pairs) == 20
    waiting = again.stats.pairs_awaiting_judge
    assert released.stats.pairs_unjudged == sum(p.get("unjudged", False) for p in pairs)
    assert released.stats.pairs_unjudged >= waiting


@pytest.mark.parametrize(
    "modes", [("noids",), ("loosecopy",), ("pairs",), ("fewer",), *MIXES], ids=ids
)
async def test_an_input_run_settles_every_line_judged_resumed_or_released(
    make_settings: Callable[..., Settings], tmp_path: Path, modes: tuple[str, ...]
) -> None:
    source = tmp_path / "in.txt"
    source.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    settings = make_settings(
        generation={"num_pairs_per_batch": 2, "concurrency": 1},
        retry={"max_content_attempts": 2},
        input={"path": source},
        prompt={"rewrite_prompt_path": REPO / "personas" / "gyaru" / "rewrite_prompt.txt"},
    )
    out = tmp_path / "outputs"
    shape = OwnShape(modes, seed=9)
    first, returned = await session(settings, shape)
    assert_bookkeeping(out, returned)
    inputs = first.stats.extra["inputs"]
    assert inputs["paired"] + sum(inputs["rejected"].values()) + inputs["pending"] == 7
    assert inputs["pending_reasons"].get("awaiting_judge", 0) == first.stats.pairs_awaiting_judge
    if len(modes) == 1 and modes[0] in JUDGE_ONLY:
        assert first.exit_code == 1 and first.stats.pairs_awaiting_judge

    _, more = await session(settings, shape)
    returned += more
    assert_bookkeeping(out, returned)

    released, more = await session(settings, shape, judge={"enabled": False})
    returned += more
    assert_bookkeeping(out, returned)
    assert released.exit_code == 0, released.stats.extra["inputs"]
    assert [p["standard"] for p in dataset(out, "r1")["pairs"]] == LINES
