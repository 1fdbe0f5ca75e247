from __future__ import annotations

import pickle
import tracemalloc

import pytest

from client.config.checks import NearDuplicateRules
from client.pairs.neardup import MinHasher, NearDuplicates, lsh_bands, shingles


def test_a_near_twin_is_named_and_a_different_pair_is_kept() -> None:
    near = NearDuplicates(NearDuplicateRules())
    assert (
        near.add(
            "a", "新しいパソコンを買いました。", "あーし、新しいパソコン買ったんだけど！マジ最高〜"
        )
        is None
    )
    # Punctuation and one particle apart: the same pair for a fine-tuning set.
    assert (
        near.add(
            "b", "新しいパソコンを買いました！", "あーし新しいパソコン買ったんだけど！マジ最高〜"
        )
        == "a"
    )
    assert near.add("c", "今日は雨です。", "今日雨なんだけど〜。あーしテンション下がる") is None
    # Same standard line, a really different rewrite: not a near duplicate.
    assert (
        near.add(
            "d",
            "新しいパソコンを買いました。",
            "パソコン新調した〜！あーし的に神スペックなんだけど",
        )
        is None
    )
    assert len(near) == 3


def test_the_threshold_comes_from_config() -> None:
    pair = ("駅まで歩いて十分かかります。", "駅まで歩いて十分かかるんだよね〜。あーしだるい")
    other = ("駅まで歩いて十分かかります。", "駅まで歩いて十分かかるんだよね。あーしマジだるい")
    loose = NearDuplicates(NearDuplicateRules(threshold=0.5))
    strict = NearDuplicates(NearDuplicateRules(threshold=0.95))
    for near in (loose, strict):
        near.add("a", *pair)
    assert loose.add("b", *other) == "a"
    assert strict.add("b", *other) is None


def test_signatures_are_the_same_in_every_run() -> None:
    first, second = NearDuplicates(NearDuplicateRules()), NearDuplicates(NearDuplicateRules())
    assert first.add("x", "猫が寝ています。", "猫寝てる〜！あーし癒やされる") is None
    assert second.twin("猫が寝ています。", "猫寝てる〜！あーし癒やされる") is None
    second.add("y", "猫が寝ています。", "猫寝てる〜！あーし癒やされる")
    assert second.twin("猫が寝ています。", "猫寝てる〜!あーし癒やされる") == "y"


def test_shingles_mark_the_line_they_come_from() -> None:
    grams = shingles("あい", "あい", 3)
    assert grams == {"s\x1fあい".encode(), "g\x1fあい".encode()}


def test_pairs_one_word_apart_are_found_reliably() -> None:
    # LSH alone (equal weights, 64 permutations) missed most of these: the finder
    # must not depend on luck.
    from tests.pair_corpus import pair_text

    missed = []
    for number in range(0, 6000, 61):
        standard, gyaru = pair_text(number)
        near = NearDuplicates(NearDuplicateRules())
        near.add("kept", standard, gyaru)
        if near.twin(standard, gyaru.replace("んだけど！", "んだけど！マジで")) != "kept":
            missed.append(gyaru)
    assert missed == []


# --- the compact index against datasketch, whose MinHash and LSH it reproduces ---


def _varied_pairs(count: int) -> list[tuple[str, str]]:
    """Corpus pairs and variants of them a word, a particle or a 〜 apart: plenty of
    near twins and plenty of pairs that are not."""
    from tests.pair_corpus import pair_text

    pairs = []
    for number in range(count):
        standard, gyaru = pair_text(number * 7919 % 17017)
        pairs.append((standard, gyaru))
        if number % 3 == 0:
            pairs.append((standard, gyaru.replace("んだけど！", "んだけど！マジで")))
        if number % 5 == 0:
            pairs.append((standard.replace("、", ""), gyaru + "〜"))
    return pairs


@pytest.mark.parametrize("num_perm", [64, 128, 256])
def test_signatures_are_datasketch_minhash_values(num_perm: int) -> None:
    from datasketch import MinHash

    pairs = [*_varied_pairs(20), ("あ", "い"), ("", "")]
    ours = MinHasher(num_perm, 3).signatures(pairs)
    for row, (standard, gyaru) in zip(ours, pairs, strict=True):
        theirs = MinHash(num_perm=num_perm, seed=1)
        theirs.update_batch(shingles(standard, gyaru, 3))
        assert row.tolist() == theirs.hashvalues.tolist()


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.65, 0.8, 0.9, 0.95])
@pytest.mark.parametrize("num_perm", [64, 128])
def test_bands_are_the_ones_datasketch_picks(threshold: float, num_perm: int) -> None:
    from datasketch.lsh import _optimal_param

    assert lsh_bands(threshold, num_perm, (0.2, 0.8)) == _optimal_param(
        threshold, num_perm, 0.2, 0.8
    )


def test_decisions_are_those_of_datasketch_minhash_lsh() -> None:
    from datasketch import MinHash, MinHashLSH

    rules = NearDuplicateRules()
    ours = NearDuplicates(rules)
    lsh = MinHashLSH(threshold=rules.threshold, num_perm=rules.num_perm, weights=(0.2, 0.8))
    kept: dict[str, MinHash] = {}
    twins = 0
    for n, (standard, gyaru) in enumerate(_varied_pairs(300)):
        signature = MinHash(num_perm=rules.num_perm, seed=1)
        signature.update_batch(shingles(standard, gyaru, rules.ngram))
        over = {
            key: signature.jaccard(kept[key])
            for key in lsh.query(signature)
            if signature.jaccard(kept[key]) >= rules.threshold
        }
        found = ours.add(f"p{n}", standard, gyaru)
        if not over:
            assert found is None
            lsh.insert(f"p{n}", signature)
            kept[f"p{n}"] = signature
        else:
            # The most similar kept pair (the earliest of equals; datasketch's order
            # among equals is its set's).
            best = max(over.values())
            assert found in over and over[found] == best
            assert found == min((k for k, v in over.items() if v == best), key=lambda k: int(k[1:]))
            twins += 1
    assert len(ours) == len(kept) and twins > 100


def test_signatures_made_elsewhere_give_the_same_decisions() -> None:
    # A worker process computes signatures; the run's index decides with them.
    pairs = _varied_pairs(60)
    one_by_one, in_batches = (
        NearDuplicates(NearDuplicateRules()),
        NearDuplicates(NearDuplicateRules()),
    )
    expected = [one_by_one.add(f"p{n}", *pair) for n, pair in enumerate(pairs)]
    hasher = MinHasher(NearDuplicateRules().num_perm, NearDuplicateRules().ngram)
    got: list[str | None] = []
    for start in range(0, len(pairs), 30):
        chunk = pairs[start : start + 30]
        ids = [f"p{n}" for n in range(start, start + len(chunk))]
        got += in_batches.add_many(ids, pickle.loads(pickle.dumps(hasher.signatures(chunk))))
    assert got == expected and any(got) and None in got


def test_a_pair_is_kept_once_under_its_id_and_any_id_comes_back() -> None:
    near = NearDuplicates(NearDuplicateRules())
    odd_id = "ギャル_2024.json#12"
    assert near.add(odd_id, "猫が寝ています。", "猫寝てる〜！あーし癒やされる") is None
    assert near.add(odd_id, "猫が寝ています。", "猫寝てる〜！あーし癒やされる") == odd_id
    assert near.add("b", "犬が走っています。", "犬走ってる！あーしも走りたいんだけど") is None
    assert len(near) == 2
    assert near.twin("猫が寝ています。", "猫寝てる〜!あーし癒やされる") == odd_id


def test_a_kept_pair_costs_little_memory() -> None:
    # A datasketch MinHash object per pair and its LSH entries took about 8 KB.
    from tests.pair_corpus import pair_text

    rules = NearDuplicateRules()
    near = NearDuplicates(rules)
    hasher = MinHasher(rules.num_perm, rules.ngram)
    batches = [[pair_text(n) for n in range(start, start + 30)] for start in range(0, 4080, 30)]
    signatures = [hasher.signatures(batch) for batch in batches]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for b, batch_signatures in enumerate(signatures):
        near.add_many([f"run-b{b:04d}-{i:03d}" for i in range(30)], batch_signatures)
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert len(near) > 4000
    assert held / len(near) < 1200, f"{held / len(near):.0f} bytes a kept pair"
