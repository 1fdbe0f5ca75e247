"""Named defaults of the settings: where the config file is, how the environment names
settings, and the persona's default topics, style markers and scenes."""

from __future__ import annotations

from pathlib import Path

DEFAULT_CONFIG_PATH = Path("config/generation_config.yaml")
ENV_PREFIX = "GYARU_"
ENV_NESTED_DELIMITER = "__"
API_KEY_ENV = "VLLM_API_KEY"

DEFAULT_TOPICS = ("Tech", "Streaming", "Daily", "Gaming")
DEFAULT_STYLE_MARKERS = (
    "マジ",
    "ウケる",
    "ヤバ",
    "やば",
    "てか",
    "じゃん",
    "っしょ",
    "しか勝たん",
    "ガチ",
    "エモ",
    "的な",
    "みたいな",
    "～",
    "〜",
    "！",
    "w",
)


DEFAULT_SCENES = (
    "朝起きたとき",
    "深夜の配信",
    "コンビニで",
    "雨の日",
    "友だちとカフェで",
    "新作の発売日",
    "コラボ配信の前",
    "テスト前",
    "週末の予定",
    "バイト帰り",
    "機材トラブル",
    "ランクマッチ中",
    "推しの話",
    "季節のイベント",
    "買い物の失敗",
    "リスナーからの質問",
)
