"""The Japanese-aware checks: one table per persona, every reason code, both ways."""

from __future__ import annotations

from pathlib import Path

import pytest

from client.config import load_settings
from client.config.checks import CHECK_CODES, ChecksConfig
from client.pairs.checks import PairChecker

REPO = Path(__file__).resolve().parents[2]


def checker(persona: str) -> PairChecker:
    settings = load_settings(persona=persona)
    return PairChecker(settings.checks, settings.persona.first_person)


@pytest.fixture(scope="module")
def gyaru() -> PairChecker:
    return checker("gyaru")


@pytest.fixture(scope="module")
def ojousama() -> PairChecker:
    return checker("ojousama")


GYARU = [
    # (standard, gyaru, expected reason or None)
    ("新しいパソコンを買いました。", "あーし、新しいパソコン買ったんだけど！マジ最高〜", None),
    ("今日はとても暑いですね。", "今日マジ暑くない？あーし溶けそうなんだけど", None),
    (
        "部屋の掃除をしなければなりません。",
        "部屋の掃除しなきゃなんだけど〜。あーしやる気出ない",
        None,
    ),
    ("このアプリは無料で使えます。", "このアプリ、タダで使えるんだって！あーし的にアリ", None),
    ("新しいお店ができました。", "新しいお店できたんだけど！あーし行くしかないっしょ", None),
    ("ご飯を食べました。", "ご飯食べた〜！あーし的にうまっ", None),
    ("対戦相手が強かったです。", "対戦相手マジでクズなんだけど。あーしキレそう", "unsafe"),
    ("設定をカスタムしました。", "あーし設定カスタムしといた〜！マジ使いやすい", None),
    ("配信を始めます。", "あーし〇〇〇〇", "junk"),
    ("配信を始めます。", "あーし…。。。", "junk"),
    ("雨です。", "It is raining today あーし so sad", "mostly_latin"),
    ("Wi-Fiが遅いです。", "Wi-Fi遅すぎなんだけど〜。あーし無理", None),
    ("寒いです。", "あーし寒い寒い寒いマジ寒いマジ寒いマジ寒い", "repetition"),
    ("ゲームを買いました。", "あーしゲーム買った！あーしゲーム買った！", "repetition"),
    ("カメラを買いました。", "あーし昨日カメラを買っ", "truncation"),
    ("映画を見に行きます。", "映画見に行くんだけど、あーしが見たいのは", "truncation"),
    ("映画を見に行きます。", "映画見に行くんだけど、あーしは", "truncation"),
    ("映画を見に行きます。", "あーし映画見に行く、", "truncation"),
    ("イヤホンを買いました。", "あーしイヤホンを買いました。", "near_copy"),
    ("今日は寒いです。", "あーし、今日は寒いですね。", "near_copy"),
    ("今日は雨です。", "あーし、今日は雨だと思います。", "register"),
    ("配信を見てくれてありがとう。", "あーしの配信をご覧いただき感謝", "register"),
    ("マジで新しいスマホ買ったんだけど！", "あーし新しいスマホ買っちゃった〜！", "register"),
    ("あーしは眠いです。", "あーしマジ眠い〜", "register"),
    (
        "昨日のランクマッチで三連勝しました。",
        "昨日のランクマで三連敗したんだけど！あーし萎える",
        "meaning_drift",
    ),
    ("昨日のランクマッチで三連勝しました。", "昨日のランクマで3連勝したんだけど！あーし天才", None),
    ("駅まで10分かかります。", "駅まで30分かかるんだよね〜。あーしだるい", "meaning_drift"),
    ("野菜は好きではありません。", "あーし野菜マジ好きなんだよね〜", "meaning_drift"),
    ("最近はよく眠れています。", "最近全然寝れないんだけど〜。あーしどうしよ", "meaning_drift"),
    ("友達とカフェに行きました。", "あーし昨日ラーメン食べたんだけど！", "meaning_drift"),
]

OJOUSAMA = [
    ("新しい紅茶を買いました。", "わたくし、新しいお紅茶を買いましたの。楽しみですわ", None),
    ("対戦ゲームは得意ではありません。", "わたくし、対戦ゲームは得意ではありませんの", None),
    (
        "マイクの音が小さいと言われました。",
        "マイクの音が小さいと言われましたの。わたくしとしたことが",
        None,
    ),
    ("今夜も配信します。", "今夜も配信いたしますわ。わたくしをお待ちくださいまし", None),
    # Her register is the gyaru's opposite: polite is right, slang is wrong.
    ("今日は雨です。", "わたくし、今日雨なんだけど〜マジ萎える", "register"),
    ("今日は雨です。", "わたくし今日は雨で憂鬱だ", "register"),
    ("新しい紅茶を買いましたわ。", "わたくし、新しいお紅茶を買いましたのよ", "register"),
    ("今日は雨です。", "わたくし、今日は雨です。", "near_copy"),
    ("三連勝しました。", "わたくし三連敗いたしましたわ", "meaning_drift"),
    ("紅茶が好きです。", "わたくし、お紅茶が好きですわ。お紅茶が好きですわ。", "repetition"),
    ("お茶会は楽しかったです。", "わたくし、昨日のお茶会で", "truncation"),
]


def _reason(c: PairChecker, standard: str, persona: str) -> str | None:
    failure = c.check(standard, persona)
    return None if failure is None else failure.reason


@pytest.mark.parametrize(("standard", "persona", "expected"), GYARU)
def test_gyaru_checks(
    gyaru: PairChecker, standard: str, persona: str, expected: str | None
) -> None:
    assert _reason(gyaru, standard, persona) == expected


@pytest.mark.parametrize(("standard", "persona", "expected"), OJOUSAMA)
def test_ojousama_checks(
    ojousama: PairChecker, standard: str, persona: str, expected: str | None
) -> None:
    assert _reason(ojousama, standard, persona) == expected


def test_every_code_is_exercised() -> None:
    seen = {e for *_, e in GYARU + OJOUSAMA if e is not None}
    assert seen == set(CHECK_CODES)


def test_keigo_is_right_for_one_persona_and_wrong_for_the_other(
    gyaru: PairChecker, ojousama: PairChecker
) -> None:
    standard = "新しい本を買いました。"
    assert _reason(gyaru, standard, "あーし新しい本を買いましたわ！素敵ですわね") == "register"
    assert _reason(ojousama, standard, "わたくし新しい本を買いましたわ！素敵ですわね") is None
    assert _reason(gyaru, standard, "あーし新しい本買ったじゃん！マジ神") is None
    assert _reason(ojousama, standard, "わたくし新しい本買ったじゃん！マジ神") == "register"


def test_failure_detail_names_the_word(gyaru: PairChecker) -> None:
    failure = gyaru.check("三連勝しました。", "三連敗したんだけど！あーし萎える")
    assert failure is not None and "勝" in failure.detail and "敗" in failure.detail


def test_checks_can_be_switched_off_by_code_or_all() -> None:
    settings = load_settings()
    pair = ("イヤホンを買いました。", "あーしイヤホンを買いました。")
    some = settings.checks.model_copy(update={"disabled": ("near_copy", "register")})
    assert PairChecker(some, "あーし").check(*pair) is None
    off = settings.checks.model_copy(update={"enabled": False})
    assert PairChecker(off, "あーし").check("配信を始めます。", "あーし〇〇〇〇") is None


def test_unknown_disabled_code_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="unknown check codes"):
        ChecksConfig.model_validate({"disabled": ["regiser"]})


def test_a_bare_string_is_a_word_pattern() -> None:
    config = ChecksConfig.model_validate({"voice": {"persona_forbidden": ["です"]}})
    assert config.voice.persona_forbidden[0].form == "です"
