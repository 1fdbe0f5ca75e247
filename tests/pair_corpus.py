"""Realistic, distinct pairs for the fake servers (the gyaru's, or the お嬢様's), as many
as a test asks for.

Each pair is one sentence frame filled from five word lists. The first four slots
come from the pair's global number by the Chinese remainder theorem (list sizes 7,
11, 13 and 17 are coprime, so 17,017 numbers give 17,017 different tuples) and the
fifth and sixth (the feeling, the companion) are two checksums of them, so two pairs
one slot apart differ in three: never near-duplicates of each other, and every one
passes the pair checks.
A tag (one per reply) picks where its numbers start; a number already handed to
another (tag, index) in this process is skipped, so different tags never collide
and the same tag and index always give the same pair.

Past those 17,017 (a benchmark of 60,000 pairs), a number's round (number // SPACE)
puts one of `CLAUSES` in both lines: a clause of 14 to 18 characters, so the same
frame in two rounds is far from a near duplicate. Numbers are looked for near the
tag's start first, then in the next rounds at the same place, so a large run stays
fast and a small one gets the very pairs it always did.
"""

from __future__ import annotations

import hashlib
import threading

TIMES = ("今朝", "昨日の夜", "週末", "放課後", "配信の前", "昼休み", "夕方")
PLACES = (
    "駅前のカフェ", "近所のコンビニ", "大きな本屋", "家電量販店", "友達の家", "商店街",
    "ショッピングモール", "公園の売店", "図書館の横", "雑貨屋さん", "古着屋",
)  # fmt: skip
THINGS = (
    "新しいイヤホン", "かわいいマグカップ", "限定のお菓子", "話題の漫画", "ゲームのサントラ",
    "冬用のコート", "推しのアクスタ", "スマホケース", "来年の手帳", "小さな観葉植物", "人気の香水",
    "充電器", "ステッカー",
)  # fmt: skip
ACTS = (
    ("買いました", "買った"), ("見つけました", "見つけた"), ("選びました", "選んだ"),
    ("予約しました", "予約した"), ("受け取りました", "受け取った"), ("試しました", "試した"),
    ("注文しました", "注文した"), ("探しました", "探してた"), ("手に入れました", "手に入れた"),
    ("眺めました", "眺めてた"), ("写真に撮りました", "写真に撮った"), ("友達に見せました", "友達に見せた"),
    ("包んでもらいました", "包んでもらった"), ("取り置きしました", "取り置きした"),
    ("比べました", "比べた"), ("持ち帰りました", "持ち帰った"), ("紹介しました", "紹介した"),
)  # fmt: skip
FEELINGS = (
    "マジ最高〜", "テンション上がる〜", "ガチで嬉しい", "めっちゃ満足", "超エモい", "ヤバくない？",
    "推せる〜", "天才じゃん", "大満足〜", "しか勝たん", "映えすぎ〜", "神すぎ", "ウケる〜",
    "優勝〜", "元気出た〜", "ハッピー〜", "ときめく〜", "幸せすぎ〜", "アガる〜",
)  # fmt: skip
COMPANIONS = (
    "友達", "妹", "弟", "姉", "兄", "先輩", "後輩", "母", "父", "祖母", "いとこ", "幼なじみ",
    "クラスメイト", "バイト仲間", "配信仲間", "ゲーム仲間", "部活の仲間", "推し仲間", "ルームメイト",
    "同僚", "彼氏", "近所の子", "親友",
)  # fmt: skip
# The お嬢様's feelings (personas/ojousama/): polite, with her endings.
LADY_FEELINGS = (
    "とても素敵でしたわ", "心が躍りましたわ", "なんて優雅なのかしら", "満足ですわ", "おほほ、幸せですわ",
    "皆さまにもお見せしたいですわ", "またぜひ参りたいですわ", "格別でしたわね", "気品にあふれておりましたわ",
    "大変満ち足りましたわ", "お気に入りになりましたの", "うっとりいたしましたわ", "ご機嫌ですのよ",
    "胸が高鳴りましたわ", "すっかり夢中ですわ", "嬉しゅうございますわ", "上品で素晴らしいですわ",
    "大切にいたしますわ", "自慢したいくらいですわ",
)  # fmt: skip
# Why, or on what occasion: plain forms, so neither line's register changes.
CLAUSES = (
    "雨が上がって空がきれいだったので", "セールの最終日だと聞いたので", "前から気になっていたこともあって",
    "給料日のあとで余裕があったので", "テストがやっと全部終わったので", "久しぶりに予定が何もなかったので",
    "誕生日のお祝いも兼ねて買い物に出て", "新しい靴を履いて出かけたついでに", "朝から天気がとても良かったので",
    "配信で話題になっていたのを思い出して", "ポイントがかなり貯まっていたので", "引っ越しの準備の合間をぬって",
    "バイト代が入ったばかりだったので", "夏休みの計画を立てたあとの帰りに", "電車が止まって時間ができたので",
)  # fmt: skip
SPACE = len(TIMES) * len(PLACES) * len(THINGS) * len(ACTS)
ROUNDS = 1 + len(CLAUSES)
_PROBE = 64  # numbers tried near the start before the next round is tried

_lock = threading.Lock()
_given: dict[tuple[str, int], int] = {}
_taken: set[int] = set()


def _number(tag: str, index: int) -> int:
    with _lock:
        if (tag, index) not in _given:
            start = int.from_bytes(hashlib.blake2b(tag.encode(), digest_size=8).digest(), "big")
            number = _free((start + index) % SPACE)
            _taken.add(number)
            _given[tag, index] = number
        return _given[tag, index]


def _free(base: int) -> int:
    """The first free number near `base`, in the first round that has one."""
    for round_ in range(ROUNDS):
        for step in range(_PROBE):
            number = (base + step) % SPACE + round_ * SPACE
            if number not in _taken:
                return number
    raise RuntimeError(f"the pair corpus ran out of numbers near {base}")


def _clause(number: int) -> str:
    round_ = number // SPACE
    return CLAUSES[round_ - 1] if round_ else ""


def _slots(number: int) -> tuple[str, str, str, str, int, int]:
    number %= SPACE
    t, p, w, a = (number % len(x) for x in (TIMES, PLACES, THINGS, ACTS))
    who = COMPANIONS[(t + 2 * p + 3 * w + 4 * a) % len(COMPANIONS)]
    return TIMES[t], who, PLACES[p], THINGS[w], a, (t + p + w + a) % len(FEELINGS)


def pair_text(number: int) -> tuple[str, str]:
    """The standard and gyaru line of one pair number."""
    time, who, place, thing, act, feeling = _slots(number)
    polite, casual = ACTS[act]
    clause = _clause(number)
    standard = f"{time}、{clause}{who}と{place}で{thing}を{polite}。"
    gyaru = f"{time}{clause}{who}と{place}で{thing}{casual}んだけど！あーし{FEELINGS[feeling]}"
    return standard, gyaru


def lady_text(number: int, first_person: str = "わたくし") -> tuple[str, str]:
    """The standard and お嬢様 line of one pair number."""
    time, who, place, thing, act, feeling = _slots(number)
    polite, clause = ACTS[act][0], _clause(number)
    standard = f"{time}、{clause}{who}と{place}で{thing}を{polite}。"
    lady = f"{first_person}、{time}は{clause}{who}と{place}で{thing}を{polite}の。{LADY_FEELINGS[feeling]}"
    return standard, lady


def pair(tag: str, index: int) -> tuple[str, str]:
    return pair_text(_number(tag, index))


def lady_pair(tag: str, index: int, first_person: str = "わたくし") -> tuple[str, str]:
    return lady_text(_number(tag, index), first_person)
