"""SudachiPy + sudachidict-core against fugashi + unidic-lite, the two analyzers whose
dictionaries install from PyPI: speed per pair and how each splits the personas' slang.

    uv run --with fugashi --with unidic-lite python -m tests.bench.analyzers

(fugashi is not a dependency of the project; `--with` brings it in for this run.)
Speed: every pair of both labelled sets analysed (both lines), median of rounds.
Slang: a table of expressions, each with the unit that must come out as one token
of the right part of speech. Unknown words: tokens each analyzer marks as out of
its vocabulary, over every line of the labelled sets.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from client.pairs.calibration import parse_labels
from tests.bench.common import machine
from tests.helpers import REPO

# (text, the unit that must be one token, its part of speech)
SLANG = [
    ("マジ最高", "マジ", "形状詞"), ("マジウケるじゃん", "ウケる", "動詞"),
    ("マジウケるじゃん", "じゃん", "助詞"), ("それヤバいっしょ", "っしょ", "助動詞"),
    ("ヤバい", "ヤバい", "形容詞"), ("エモかった", "エモかっ", "形容詞"),
    ("ランクマで勝った", "ランクマ", "名詞"), ("アプデきた", "アプデ", "名詞"),
    ("スマホ買った", "スマホ", "名詞"), ("ムズすぎ", "ムズ", "名詞"), ("誕プレ渡した", "誕プレ", "名詞"),
    ("サムネ作った", "サムネ", "名詞"), ("ガチで頑張る", "ガチ", "形状詞"), ("推しキャラ", "推し", "名詞"),
    ("ホラゲやる", "ホラゲ", "名詞"), ("ノーパソ重い", "ノーパソ", "名詞"),
    ("恥ずいんだけど", "恥ずい", "形容詞"), ("見つかんない", "見つかん", "動詞"),
    ("寝れない", "寝れ", "動詞"), ("しなきゃ", "なきゃ", "助動詞"), ("天才じゃね？", "ね", "助詞"),
    ("あーし的に", "あーし", "代名詞"), ("美味しいですわ", "わ", "助詞"),
    ("ございます", "ござい", "動詞"), ("素敵かしら", "かしら", "助詞"),
    ("くださいまし", "まし", "助動詞"), ("ご覧いただき", "いただき", "動詞"),
    ("三連敗した", "連敗", "名詞"), ("女子力高い", "女子力", "名詞"), ("うまっ", "うまっ", "形容詞"),
]  # fmt: skip

Analyser = Callable[[str], list[tuple[str, str, bool]]]  # (surface, coarse POS, unknown)


def sudachi() -> Analyser:
    from sudachipy.sudachipy import Dictionary, SplitMode

    tok = Dictionary(dict="core").tokenizer(SplitMode.A)
    return lambda text: [
        (m.surface(), m.part_of_speech()[0], m.is_oov()) for m in tok.tokenize(text)
    ]


def fugashi() -> Analyser:
    import fugashi as fg  # type: ignore[import-not-found]

    tagger = fg.Tagger()
    return lambda text: [(w.surface, w.feature.pos1, bool(w.is_unk)) for w in tagger(text)]


def main() -> None:
    print(machine())
    lines = []
    for name in ("gyaru", "ojousama"):
        path = REPO / "personas" / name / "labels.jsonl"
        for item in parse_labels(path.read_text(encoding="utf-8"), str(path)):
            lines += [item.standard, item.gyaru]
    for name, make in (
        ("sudachipy+sudachidict-core (mode A)", sudachi),
        ("fugashi+unidic-lite", fugashi),
    ):
        start = time.perf_counter()
        analyse = make()
        analyse("初回")
        load_ms = (time.perf_counter() - start) * 1000
        times = []
        for _ in range(10):
            start = time.perf_counter()
            for line in lines:
                analyse(line)
            times.append((time.perf_counter() - start) / (len(lines) / 2) * 1000)
        right = [
            (text, unit)
            for text, unit, pos in SLANG
            if (unit, pos) in {(s, p) for s, p, _ in analyse(text)}
        ]
        tokens = [t for line in lines for t in analyse(line)]
        unknown = sum(u for *_, u in tokens)
        print(
            f"{name}: load {load_ms:.0f} ms, {statistics.median(times):.3f} ms per pair; "
            f"slang {len(right)}/{len(SLANG)} whole; {unknown} unknown of {len(tokens)} tokens"
        )
        missed = [text for text, unit, _ in SLANG if (text, unit) not in right]
        print(f"  split wrong: {' '.join(missed)}")


if __name__ == "__main__":
    main()
