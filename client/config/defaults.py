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


# Two per batch, drawn from its seed: 64 scenes give 2,016 pairs of them, so a run
# of a thousand batches rarely asks for the same two.
DEFAULT_SCENES = (
    "朝起きたとき",
    "寝坊した朝",
    "深夜の配信",
    "朝活配信",
    "雑談配信",
    "歌枠",
    "コラボ配信の前",
    "コラボ配信のあと",
    "初見さんが来たとき",
    "スパチャをもらったとき",
    "登録者が増えた日",
    "配信の切り抜きを見たとき",
    "配信の機材トラブル",
    "マイクの設定",
    "新しいスマホ",
    "スマホの充電切れ",
    "パソコンの買い替え",
    "アプリの不具合",
    "AIに質問したとき",
    "プログラミングの勉強",
    "SNSでバズったとき",
    "推しの話",
    "推しのライブ",
    "グッズの通販",
    "コンビニで",
    "新作スイーツ",
    "カフェで友だちと",
    "ファミレスで",
    "自炊に挑戦",
    "ダイエット中",
    "雨の日",
    "猛暑の日",
    "雪の日",
    "季節のイベント",
    "花火大会",
    "夏祭り",
    "ハロウィン",
    "クリスマス",
    "年末の大掃除",
    "お正月",
    "バイト帰り",
    "バイトの面接",
    "テスト前",
    "課題の締め切り",
    "朝の電車",
    "寝る前",
    "買い物の失敗",
    "セールの日",
    "美容院に行った日",
    "ネイルを変えた日",
    "服を選ぶとき",
    "ペットの話",
    "家族との電話",
    "友だちの誕生日",
    "ランクマッチ中",
    "新作ゲームの発売日",
    "ガチャを引くとき",
    "協力プレイ",
    "負けが続いたとき",
    "ホラーゲーム実況",
    "レトロゲーム",
    "格闘ゲームの練習",
    "リスナーからの質問",
    "週末の予定",
)
