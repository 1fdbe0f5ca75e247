"""The overuse counter: what a run repeats, bounded memory, and the hint it gives."""

from __future__ import annotations

import random

from client.pairs.phrases import (
    PHRASE_CHARS,
    BoundedCounter,
    PhraseCounter,
    _join_runs,
    avoid_hint,
)


def test_overused_openings_endings_and_phrases_are_found() -> None:
    counter = PhraseCounter(first_person="あーし", min_share=0.3, min_count=2)
    counter.add(
        [
            "てかマジで今日あーし眠すぎじゃん！",
            "てかマジで明日あーし休みじゃん！",
            "てかマジでこのゲームあーし好きじゃん！",
            "配信きてくれてありがと、あーし嬉しい〜",
        ]
    )
    worst = counter.overused(3)
    assert worst["openings"] == ["てかマジ"]
    assert worst["endings"] == ["じゃん！"]
    assert "てかマジで" in worst["phrases"]


def test_the_first_person_is_never_listed() -> None:
    counter = PhraseCounter(first_person="あーし", min_share=0.5, min_count=2)
    counter.add([f"あーし的には{i}番がいい" for i in range(10)])
    worst = counter.overused(5)
    every = [p for pieces in worst.values() for p in pieces]
    assert every and not any("あーし" in p or p in "あーし" for p in every)


def test_overlapping_runs_of_one_long_phrase_are_listed_once() -> None:
    counter = PhraseCounter(first_person=None, min_share=0.5, min_count=2)
    counter.add([f"{i}ほんとうにありえないんだけど{i}" for i in range(6)])
    phrases = counter.overused(5)["phrases"]
    assert phrases == ["ほんとうにありえないんだけど"]


def test_nothing_is_overused_below_the_share_or_the_count() -> None:
    counter = PhraseCounter(first_person=None, min_share=0.5, min_count=3)
    counter.add(["同じ書き出しです。", "同じ書き出しです。"])
    assert counter.overused() == {"openings": [], "endings": [], "phrases": []}
    assert avoid_hint(counter.overused()) == ""


def test_bounded_counter_keeps_heavy_hitters_in_flat_memory() -> None:
    rng = random.Random(0)
    counter = BoundedCounter(capacity=100)
    stream = [f"rare{rng.randrange(10**6)}" for _ in range(20_000)] + ["often"] * 2_000
    rng.shuffle(stream)
    for key in stream:
        counter.add(key)
    assert len(counter.counts) <= 200
    count = dict(counter.top(1, at_least=1))["often"]
    # Short by at most (items seen) / (capacity + 1).
    assert 2_000 - 22_000 / 101 <= count <= 2_000


def test_hint_names_each_kind_in_japanese() -> None:
    hint = avoid_hint({"openings": ["てかマジ"], "endings": ["じゃん！"], "phrases": []})
    assert hint.startswith("これまでの出力で次の表現が多すぎます。")
    assert "書き出し「てかマジ」" in hint and "文末「じゃん！」" in hint
    assert "言い回し" not in hint


def test_a_phrase_around_the_first_person_keeps_its_parts() -> None:
    counter = PhraseCounter(first_person="あーし", min_share=0.5, min_count=2)
    counter.add([f"{i}だってさ〜あーし的にそれな感じ{i}" for i in range(6)])
    assert sorted(counter.overused(5)["phrases"]) == ["だってさ〜", "的にそれな感じ"]


def _join_runs_by_trying_every_two(ranked: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """The joining as first written: every ordered two tried, in order, each round."""
    import itertools

    overlap = PHRASE_CHARS - 1
    runs = list(ranked)
    joined = True
    while joined:
        joined = False
        for i, j in itertools.permutations(range(len(runs)), 2):
            (a, ca), (b, cb) = runs[i], runs[j]
            if a[-overlap:] == b[:overlap] and min(ca, cb) >= 0.8 * max(ca, cb):
                runs[i] = (a + b[overlap:], min(ca, cb))
                del runs[j]
                joined = True
                break
    return sorted(runs, key=lambda kv: (-kv[1], -len(kv[0]), kv[0]))


def test_joining_finds_what_trying_every_two_found() -> None:
    rng = random.Random(7)
    for _ in range(300):
        # Runs of a few long phrases over a small alphabet: overlaps, chains, cycles.
        text = "".join(rng.choice("あいうえおかき") for _ in range(rng.randrange(8, 30)))
        pieces = {text[i : i + PHRASE_CHARS] for i in range(len(text) - PHRASE_CHARS + 1)}
        ranked = [(p, rng.choice([10, 11, 12, 20, 40])) for p in sorted(pieces)]
        rng.shuffle(ranked)
        ranked = ranked[: rng.randrange(1, 60)]
        assert _join_runs(ranked) == _join_runs_by_trying_every_two(ranked)


def test_the_hint_is_what_sorting_every_count_gives() -> None:
    """The pieces kept aside over the bar give the same worst pieces as ranking every
    count, batch after batch, across shrinks."""
    rng = random.Random(3)
    openings = ["てかマジ", "ねえねえ", "あーしさ", "ぶっちゃ", "それな〜"]
    counter = PhraseCounter(first_person="あーし", capacity=300)
    for _ in range(40):
        batch = [
            f"{rng.choice(openings)}{rng.randrange(10**6)}じゃん{rng.choice('！〜。')}あーし"
            f"{rng.choice(['マジ最高', 'ウケる', 'しか勝たん', str(rng.randrange(99))])}"
            for _ in range(30)
        ]
        counter.add(batch)
        floor = counter._floor()
        for bounded in (counter.openings, counter.endings, counter.phrases):
            every = sorted(bounded.counts.items(), key=lambda kv: (-kv[1], kv[0]))
            expected = [(k, c) for k, c in every[:40] if c >= floor]
            assert bounded.top(40, at_least=floor) == expected
    assert not counter.phrases.exact  # the counts were cut along the way
    assert counter.overused()["openings"]
