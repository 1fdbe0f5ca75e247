"""Near-duplicate rate and distinct-2 by batch decile."""

from __future__ import annotations

from collections.abc import Sequence

from client.pairs.dedup import normalise
from client.pairs.evolution import by_decile, decile_of


class ExactIndex:
    """Near-duplicate as the normalised pair seen before: the narrowest real index."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def add(self, pair_id: str, standard: str, gyaru: str) -> str | None:
        key = normalise(standard + gyaru)
        if key in self.seen:
            return self.seen[key]
        self.seen[key] = pair_id
        return None


def distinct(lines: Sequence[str], n: int) -> float:
    grams = [line[i : i + n] for line in lines for i in range(len(line) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def test_deciles_cut_the_plan_by_batch_number() -> None:
    assert [decile_of(b, 1000) for b in (1, 100, 101, 1000)] == [1, 1, 2, 10]
    assert [decile_of(b, 4) for b in (1, 2, 3, 4)] == [1, 3, 6, 8]
    assert decile_of(1500, 1000) == 10  # past the plan, in target mode


def test_a_run_that_repeats_itself_shows_it_decile_by_decile() -> None:
    lines = []
    for batch in range(1, 21):
        # Early batches write new lines; later ones repeat the first batches' lines.
        for i in range(3):
            text = f"新しい話{batch}-{i}だよ" if batch <= 10 else f"新しい話{batch - 10}-{i}だよ"
            lines.append((batch, f"p{batch}-{i}", "標準の文です。", text))
    rows = by_decile(lines, 20, distinct=distinct, near_dup=ExactIndex())
    assert [r.decile for r in rows] == list(range(1, 11))
    assert [(r.first_batch, r.last_batch, r.lines) for r in rows[:2]] == [(1, 2, 6), (3, 4, 6)]
    assert [r.near_dup_rate for r in rows[:5]] == [0.0] * 5
    assert [r.near_dup_rate for r in rows[5:]] == [1.0] * 5
    assert rows[0].to_json() == {
        "decile": 1,
        "batches": [1, 2],
        "lines": 6,
        "near_dup_rate": 0.0,
        "distinct_2": round(distinct([t for b, _, _, t in lines if b <= 2], 2), 4),
    }


def test_deciles_without_lines_have_no_row() -> None:
    pairs = [(1, "a", "文です。", "あーし"), (10, "b", "文です。", "マジ")]
    rows = by_decile(pairs, 10, distinct=distinct, near_dup=ExactIndex())
    assert [r.decile for r in rows] == [1, 10]
