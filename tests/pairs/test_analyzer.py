from __future__ import annotations

import threading

from client.pairs.analyzer import analyse, outside, spans_of


def test_slang_stays_whole_with_offsets() -> None:
    tokens = analyse("昨日のランクマで三連敗した")
    assert [t.surface for t in tokens][:4] == ["昨日", "の", "ランクマ", "で"]
    assert all("昨日のランクマで三連敗した"[t.begin : t.end] == t.surface for t in tokens)
    marker = analyse("マジウケるじゃん")
    assert [(t.surface, t.normalized) for t in marker][:2] == [
        ("マジ", "まじ"),
        ("ウケる", "受ける"),
    ]


def test_first_person_is_found_in_the_text_not_the_tokens() -> None:
    text = "あーし的にアリ"
    # The analyzer reads あーし as a filler and a verb: the span sets both aside.
    assert [t.surface for t in analyse(text)][:2] == ["あー", "し"]
    spans = spans_of(text, "あーし")
    assert [t.surface for t in analyse(text) if outside(t, spans)] == ["的", "に", "アリ"]
    assert spans_of(text, None) == ()


def test_threads_get_their_own_tokenizer() -> None:
    results: list[int] = []

    def work() -> None:
        results.append(len(analyse("あーし新しいパソコン買った")))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1 and results[0] > 3
