"""A realistic demo run on disk for the review page: a processed dataset of gyaru pairs
and the raw batch files with the items the checks and the judge turned down.

The lines are built from hand-written sentence templates, so a dataset of any size
reads like a real one (and repeats like one); scores are the project's real quality
score. Used by the browser tests, the page benchmark and the README screenshot.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from client.config import Settings, load_settings
from client.pairs.quality import quality_score
from client.storage.atomic import dumps
from client.storage.batch_record import BatchRecord
from client.storage.runstore import RunStore

# (topic, standard, gyaru) with {slots}
TEMPLATES: tuple[tuple[str, str, str], ...] = (
    (
        "Tech",
        "{when}は新しい{gadget}の設定をしていました。",
        "あーし{when}ずっと新しい{gadget}の設定してたんだけど、マジ終わんなくてウケる〜",
    ),
    (
        "Tech",
        "{gadget}の充電がすぐになくなって困っています。",
        "てか{gadget}の充電すぐ切れるの、あーし的にガチで無理なんだけど！",
    ),
    (
        "Tech",
        "アプリを更新したら、画面の配置が変わっていました。",
        "アプリ更新したら画面の配置変わってて、あーしビビったんだけど！",
    ),
    (
        "Streaming",
        "{when}の配信では、{game}を三時間遊びました。",
        "{when}の配信で{game}三時間やったんだけど、あーし的にめっちゃエモかった〜",
    ),
    (
        "Streaming",
        "コメントをたくさんいただけて、とても嬉しかったです。",
        "コメントめっちゃもらえて、あーしマジ嬉しすぎるんだけど！ありがと〜",
    ),
    (
        "Streaming",
        "マイクの音量が小さかったので、設定を見直しました。",
        "マイクの音ちっちゃかったから、あーし設定見直したし！これで完璧っしょ",
    ),
    (
        "Daily",
        "{when}は{place}で{food}を食べました。",
        "あーし{when}{place}で{food}食べたんだけど、マジ美味しすぎてヤバい！",
    ),
    (
        "Daily",
        "雨が降っていたので、{place}に行くのをやめました。",
        "雨降ってたから{place}行くのやめたし。あーし濡れるのガチ無理〜",
    ),
    (
        "Daily",
        "{when}は早く寝ようと思っています。",
        "あーし{when}は早く寝るつもりなんだけど、どうせ夜更かししちゃうじゃん？w",
    ),
    (
        "Gaming",
        "{game}のランクマッチで三連勝しました。",
        "{game}のランクマで三連勝したんだけど！あーし天才じゃね？w",
    ),
    (
        "Gaming",
        "新しいキャラクターの操作がまだ難しいです。",
        "新キャラの操作まだムズいんだけど〜。あーし練習するしかないじゃん",
    ),
    (
        "Gaming",
        "{when}は友だちと{game}で協力プレイをしました。",
        "{when}友だちと{game}で協力プレイしたの、あーし的に神回だった〜！",
    ),
)
# Weaker rewrites, as a real model writes now and then: a copy with あーし added, a
# standard line already in slang. They give the score histogram its low end.
WEAK: tuple[tuple[str, str, str], ...] = (
    ("Daily", "{when}は{place}に行きました。", "あーし{when}は{place}に行きました。"),
    ("Tech", "マジで{gadget}が壊れたんだけど。", "あーしの{gadget}壊れたんだけど"),
    ("Gaming", "{game}をしました。", "あーし{game}した"),
)
SLOTS: dict[str, tuple[str, ...]] = {
    "when": ("今日", "昨日", "週末", "朝", "夜", "さっき", "先週"),
    "gadget": ("スマートフォン", "パソコン", "イヤホン", "タブレット", "スマートウォッチ"),
    "game": ("マリオカート", "スプラトゥーン", "マインクラフト", "ポケモン", "フォートナイト"),
    "place": ("駅前のカフェ", "コンビニ", "ファミレス", "学校の近くの店", "ショッピングモール"),
    "food": ("パンケーキ", "ラーメン", "タピオカ", "オムライス", "クレープ"),
}
REJECTIONS: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "missing_first_person",
        "gyaru line lacks あーし",
        "Daily",
        "今日は公園を散歩しました。",
        "今日公園散歩したんだけど、マジ気持ちよかった〜",
    ),
    (
        "identical",
        "gyaru line is the standard line unchanged",
        "Tech",
        "パソコンが重いです。",
        "パソコンが重いです。",
    ),
    (
        "length",
        "gyaru is 171 characters, outside 2..160",
        "Streaming",
        "配信を始めます。",
        "あーし" + "マジで" * 56,
    ),
    (
        "topic",
        "topic 'Food' is not one of ['Tech', 'Streaming', 'Daily', 'Gaming']",
        "Food",
        "ケーキを焼きました。",
        "あーしケーキ焼いたし！",
    ),
    (
        "judge",
        "meaning changed: 三連勝 became 三連敗",
        "Gaming",
        "三連勝しました。",
        "あーし三連敗しちゃった〜マジ萎える",
    ),
    # The judge is wrong now and then: a person rescues this one.
    (
        "judge",
        "judge: voice 2/5 (min 3): 口調が硬い",
        "Daily",
        "週末は家でゆっくり過ごしました。",
        "週末は家でまったりしてたし、あーし的に最高だった〜",
    ),
)


@dataclass(frozen=True)
class Demo:
    output_dir: Path
    run_id: str
    dataset: Path
    pairs: list[dict[str, Any]]


def _fill(text: str, values: dict[str, str]) -> str:
    return text.format(**values)


@functools.cache
def gyaru_settings() -> Settings:
    """The default persona's settings, as a run of it records them."""
    return load_settings(persona="gyaru")


def make_pair(rng: random.Random, run_id: str, batch: int, index: int) -> dict[str, Any]:
    pool = WEAK if rng.random() < 0.12 else TEMPLATES
    topic, standard, gyaru = pool[rng.randrange(len(pool))]
    values = {slot: rng.choice(options) for slot, options in SLOTS.items()}
    standard, gyaru = _fill(standard, values), _fill(gyaru, values)
    pair: dict[str, Any] = {
        "id": f"{run_id}-b{batch:04d}-{index:03d}",
        "batch": batch,
        "topic": topic,
        "standard": standard,
        "gyaru": gyaru,
        "generated_at": "2026-11-28T10:15:00.000Z",
        "quality": quality_score(standard, gyaru, gyaru_settings().persona.style_markers, "あーし"),
    }
    if rng.random() < 0.7:
        pair["judge"] = {
            "meaning": rng.choice((4, 4, 5, 5)),
            "voice": rng.choice((3, 4, 5, 5)),
            # A kept pair passed the judge: no grade under its minimum (3).
            "naturalness": rng.choice((3, 3, 4, 5)),
            "safety": 5,
            "topic_ok": True,
            "reason": rng.choice(("自然なギャル口調", "意味が保たれている", "語尾がやや単調")),
        }
    return pair


def _rejected(rng: random.Random, count: int) -> list[dict[str, Any]]:
    out = []
    for index in range(count):
        reason, detail, topic, standard, gyaru = REJECTIONS[rng.randrange(len(REJECTIONS))]
        item: dict[str, Any] = {"topic": topic, "standard": standard, "gyaru": gyaru}
        if reason == "judge":
            # As the judge step records it: the pair with the grades that sank it.
            meaning, voice = (1, 4) if "meaning" in detail else (5, 2)
            item["judge"] = {
                "meaning": meaning,
                "voice": voice,
                "naturalness": 4,
                "safety": 5,
                "topic_ok": True,
                "reason": detail.rsplit(": ", 1)[-1],
            }
        out.append({"index": 30 + index, "reason": reason, "detail": detail, "item": item})
    return out


def write_demo(
    output_dir: Path,
    *,
    pairs: int,
    run_id: str = "20261128-101500-demo",
    per_batch: int = 30,
    seed: int = 7,
    extra: list[dict[str, Any]] | None = None,
    settings: Settings | None = None,
) -> Demo:
    """Write the run's raw batch files and its processed dataset under output_dir (made
    with `settings`, default the default persona's)."""
    rng = random.Random(seed)
    store = RunStore(output_dir, run_id, fsync=False)
    store.prepare()
    made: list[dict[str, Any]] = list(extra or [])
    batch = 0
    while len(made) < pairs:
        batch += 1
        accepted = [
            make_pair(rng, run_id, batch, i) for i in range(min(per_batch, pairs - len(made)))
        ]
        record = {
            "batch": batch,
            "status": "ok",
            "accepted": accepted,
            "rejected": _rejected(rng, rng.randrange(3)),
        }
        store.write_batch(batch, BatchRecord(record))
        made.extend(accepted)
    settings = settings or gyaru_settings()
    metadata = {"run_id": run_id, "persona": settings.persona.name, "config": settings.snapshot()}
    path = store.write_processed(metadata, (dumps(p, indent=None) for p in made))
    return Demo(output_dir, run_id, path, made)
