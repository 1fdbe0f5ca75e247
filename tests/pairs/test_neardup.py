from __future__ import annotations

from client.config.checks import NearDuplicateRules
from client.pairs.neardup import NearDuplicates, shingles


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
    assert second.twin("猫が寝ています。", "猫寝てる〜！あーし癒やされる")[0] is None
    second.add("y", "猫が寝ています。", "猫寝てる〜！あーし癒やされる")
    assert second.twin("猫が寝ています。", "猫寝てる〜!あーし癒やされる")[0] == "y"


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
        if near.twin(standard, gyaru.replace("んだけど！", "んだけど！マジで"))[0] != "kept":
            missed.append(gyaru)
    assert missed == []
