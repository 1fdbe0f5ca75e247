"""Near-duplicate rate and distinct-2 by batch decile."""

from __future__ import annotations

from collections.abc import Sequence

from client.pairs.evolution import DecileTally, decile_of


def distinct(lines: Sequence[str], n: int) -> float | None:
    grams = [line[i : i + n] for line in lines for i in range(len(line) - n + 1)]
    return len(set(grams)) / len(grams) if grams else None


def characters(line: str) -> list[str]:
    return list(line)


def test_deciles_cut_the_plan_by_batch_number() -> None:
    assert [decile_of(b, 1000) for b in (1, 100, 101, 1000)] == [1, 1, 2, 10]
    assert [decile_of(b, 4) for b in (1, 2, 3, 4)] == [1, 3, 6, 8]
    assert decile_of(1500, 1000) == 10  # past the plan, in target mode


def test_a_run_that_repeats_itself_shows_it_decile_by_decile() -> None:
    tally = DecileTally(batches=20, words=characters)
    for batch in range(1, 21):
        for i in range(3):
            if batch > 10 and i > 0:  # later batches: two of three near an earlier pair
                tally.near_duplicate(batch)
            else:
                tally.kept(batch, f"新しい話{batch}-{i}だよ")
    rows = tally.close()
    assert [r.decile for r in rows] == list(range(1, 11))
    assert [(r.first_batch, r.last_batch, r.kept) for r in rows[:2]] == [(1, 2, 6), (3, 4, 6)]
    assert [round(r.near_dup_rate, 3) for r in rows] == [0.0] * 5 + [0.667] * 5
    assert rows[0].to_json() == {
        "decile": 1,
        "batches": [1, 2],
        "pairs": 6,
        "near_duplicates": 0,
        "near_dup_rate": 0.0,
        "distinct_2": round(
            distinct([f"新しい話{b}-{i}だよ" for b in (1, 2) for i in range(3)], 2) or 0, 4
        ),
    }


def test_deciles_without_pairs_have_no_row_and_all_near_has_no_distinct() -> None:
    tally = DecileTally(batches=10, words=characters)
    tally.kept(1, "あーしです")
    tally.near_duplicate(10)
    rows = tally.close()
    assert [(r.decile, r.kept, r.near_duplicates, r.distinct_2) for r in rows] == [
        (1, 1, 0, distinct(["あーしです"], 2)),
        (10, 0, 1, None),
    ]
