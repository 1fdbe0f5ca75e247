"""dedup: exact and normalised duplicates."""

from __future__ import annotations

from client.pairs.dedup import Deduper, normalise


def test_normalise_folds_width_case_space_and_punctuation() -> None:
    assert normalise("あーし、マジ無理！！") == normalise("あーし マジ無理")
    assert normalise("ＡＢＣ") == normalise("abc")
    assert normalise("「テスト」です。") == "テストです"
    # The long vowel mark is a letter here, not punctuation.
    assert "ー" in normalise("あーし")


def test_deduper_pair_key() -> None:
    d = Deduper("pair")
    assert d.add("眠いです。", "あーし眠い！")
    assert not d.add("眠いです", "あーし、眠い")
    assert d.add("眠いです。", "あーしマジ眠い")
    assert len(d) == 2


def test_deduper_standard_key() -> None:
    d = Deduper("standard")
    assert d.add("眠いです。", "あーし眠い！")
    assert not d.add("眠いです！", "あーしマジ眠い")
