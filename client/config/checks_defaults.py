"""The default persona's (あーし系ギャル) check data: the defaults of `checks:`, the same
as config/generation_config.yaml ships (a test holds the two equal)."""

from __future__ import annotations

UNSAFE_WORDS = (
    "バカ", "ばか", "馬鹿", "アホ", "あほ", "阿呆", "クズ", "くず", "カス", "ブス", "デブ", "ハゲ",
    "キモい", "きもい", "キモ", "ウザい", "うざい", "死ね", "氏ね", "殺す", "ころす", "消えろ",
    "ガイジ", "池沼", "ゴミ", "雑魚", "ザコ",
)  # fmt: skip

STANDARD_SLANG = (
    "まじ",
    "じゃん",
    "っしょ",
    "やばい",
    "ヤバ",
    "ガチ",
    "ウケる",
    "エモい",
    "めっちゃ",
)
STANDARD_SLANG_PHRASES = ("しか勝たん", "じゃね")

PLACEHOLDERS = (
    r"[〇○◯]{2,}",
    r"[×✕Ｘ]{2,}",
    r"\bX{3,}\b",
    r"\bTODO\b",
    r"ここに.{0,20}(入れ|入る|書)",
    r"\{[^}]*\}|\[[^\]]*\]",
    r"lorem|ipsum|placeholder|sample text",
)

# Standard word -> the gyaru's words for it.
EQUIVALENTS: dict[str, tuple[str, ...]] = {
    "スマートフォン": ("スマホ",),
    "アップデート": ("アプデ",),
    "ランクマッチ": ("ランクマ",),
    "誕生日プレゼント": ("誕プレ",),
    "ノートパソコン": ("ノーパソ", "ノートPC"),
    "パソコン": ("PC", "パソ"),
    "サムネイル": ("サムネ",),
    "ホラーゲーム": ("ホラゲ",),
    "アプリケーション": ("アプリ",),
    "無料": ("タダ", "ただ"),
    "友達": ("友だち", "ダチ", "ツレ"),
    "母": ("ママ", "おかん", "母ちゃん"),
    "父": ("パパ", "おとん", "父ちゃん"),
    "難しい": ("ムズい", "ムズ", "むずい"),
    "恥ずかしい": ("恥ずい", "はずい"),
    "美味しい": ("うまい", "うまっ", "おいしい"),
    "暖かい": ("あったかい", "あったか"),
    "面白い": ("おもろい", "ウケる"),
    "眠る": ("寝る", "寝れる"),
    "ゆっくり": ("まったり",),
    # Verbs and verbal nouns the persona says in plainer words (matched by dictionary
    # form too: 話しました has 話す, 喋ってた has 喋る).
    "話す": ("喋る",),
    "確認": ("見る", "チェック"),
    "合格": ("受かる",),
    "変更": ("変える",),
    "投稿": ("上げる", "アップ", "載せる"),
    "ダウンロード": ("DL",),
    "データ通信量": ("ギガ",),
    "お腹が空": ("腹ペコ", "ペコペコ", "腹減"),
    "疲れ": ("クタクタ", "ヘトヘト", "しんどい"),
    # Counters: 一度 is 一発 or 一回 (the 一 in them is then no number).
    "一度": ("一発", "一回", "1回"),
    # Intensifiers that are words of their own (とても, すごく are adverbs, not counted).
    "非常": ("ガチ", "マジ", "めっちゃ", "超", "鬼", "激"),
}

# A persona line holding one of these (and the standard line not) is said in the
# persona's register, so it is no near copy even if its words are the standard's.
REWRITE_MARKERS = (
    "んだけど", "だけど〜", "じゃん", "っしょ", "じゃね", "〜", "～", "マジ", "ガチ", "めっちゃ",
    "ヤバ", "やば", "ウケる", "てか", "的に", "的な", "みたいな", "だし",
)  # fmt: skip

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
