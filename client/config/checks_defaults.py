"""Check data about the Japanese language, not about one persona: insults, the
placeholders a model leaves in, fixed expressions with a negative form, how much a word
of each part of speech carries, words of opposite meaning. The defaults of `checks:`,
the same as config/generation_config.yaml ships where it lists them (a test holds the
two equal).

What belongs to a persona (its slang, the register it must or must not use, its words
for standard ones) is in its folder, personas/<name>/persona.yaml."""

from __future__ import annotations

UNSAFE_WORDS = (
    "バカ", "ばか", "馬鹿", "アホ", "あほ", "阿呆", "クズ", "くず", "カス", "ブス", "デブ", "ハゲ",
    "キモい", "きもい", "キモ", "ウザい", "うざい", "死ね", "氏ね", "殺す", "ころす", "消えろ",
    "ガイジ", "池沼", "ゴミ", "雑魚", "ザコ",
)  # fmt: skip

PLACEHOLDERS = (
    r"[〇○◯]{2,}",
    r"[×✕Ｘ]{2,}",
    r"\bX{3,}\b",
    r"\bTODO\b",
    r"ここに.{0,20}(入れ|入る|書)",
    r"\{[^}]*\}|\[[^\]]*\]",
    r"lorem|ipsum|placeholder|sample text",
)

# Fixed expressions with a negative form that negate nothing (Japanese, any persona).
FIXED_EXPRESSIONS = (
    "思わず", "思いがけず", "やむを得ず", "やむを得ない", "やむを得ません", "やむをえず",
    "やむをえない", "ざるを得ない", "ざるを得ません", "ざるをえない", "ざるをえません", "欠かさず", "絶えず",
    "知らないうちに", "知らぬ間に", "知らず知らず", "相変わらず", "少なからず", "すかさず",
    "残らず", "たまらない", "たまらん", "たまんない", "仕方ない", "仕方がない", "しょうがない",
    "間違いない", "間違いなく", "とんでもない", "もったいない", "申し訳ない", "申し訳ありません",
    "物足りない", "かもしれない", "かもしれません", "かもしんない", "に違いない", "つまらない",
    "つまんない", "くだらない", "ずにはいられない",
)  # fmt: skip

# How much a word of each part of speech carries in the drift score (the longest
# matching prefix wins; a one-character word counts half).
WORD_WEIGHTS = {
    "名詞": 1.0,
    "名詞-普通名詞-サ変可能": 0.7,
    "名詞-普通名詞-形状詞可能": 0.7,
    "名詞-普通名詞-副詞可能": 0.5,
    "名詞-普通名詞-助数詞可能": 0.4,
    "動詞": 0.5,
    "形容詞": 0.6,
    "形状詞": 0.6,
}

OPPOSITES = (
    ("勝", "敗"), ("勝", "負"), ("無料", "有料"), ("好き", "嫌い"), ("得意", "苦手"),
    ("成功", "失敗"), ("増え", "減"), ("上が", "下が"), ("晴れ", "雨"), ("昨日", "明日"),
    ("昨日", "今日"), ("今日", "明日"), ("早", "遅"), ("暑", "寒"), ("強", "弱"), ("多", "少"),
    ("長", "短"), ("上手", "下手"), ("始ま", "終わ"), ("開", "閉"),
)  # fmt: skip
