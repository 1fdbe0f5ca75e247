"""Check data about the Japanese language, not about one persona: insults, the
placeholders a model leaves in, words of opposite meaning. The defaults of `checks:`,
the same as config/generation_config.yaml ships (a test holds the two equal).

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

OPPOSITES = (
    ("勝", "敗"), ("勝", "負"), ("無料", "有料"), ("好き", "嫌い"), ("得意", "苦手"),
    ("成功", "失敗"), ("増え", "減"), ("上が", "下が"), ("晴れ", "雨"), ("昨日", "明日"),
    ("昨日", "今日"), ("今日", "明日"), ("早", "遅"), ("暑", "寒"), ("強", "弱"), ("多", "少"),
    ("長", "短"), ("上手", "下手"), ("始ま", "終わ"), ("開", "閉"),
)  # fmt: skip
