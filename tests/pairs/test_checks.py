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

# The persona's own register is no defect (none of these lines is in the labelled sets).
GYARU_REGISTER = [
    # Clipped words: from the back, the front, the heads of the parts, kanji compounds.
    (
        "アルバイト先の店長に褒められました。",
        "バイト先の店長に褒められたんだけど！あーし天才",
        None,
    ),
    ("ファミリーマートでお弁当を買いました。", "ファミマでお弁当買った〜！あーし腹ペコ", None),
    ("就職活動が始まりました。", "就活始まったんだけど〜。あーし緊張", None),
    # Colloquial equivalents from the persona's table (verbs, counters, set phrases).
    (
        "ファミリーレストランで友達と話しました。",
        "ファミレスでダチと喋った〜！あーし楽しかった",
        None,
    ),
    ("一度だけ挑戦してみます。", "あーし一発だけ挑戦してみる〜", None),
    ("お腹が空きました。", "あーし腹ペコ〜", None),
    # Numbers with 万/千 in digits or kanji, and a numeral the analyzer cuts badly.
    ("チケットは五千円でした。", "チケット5千円だったんだけど！あーしビビった", None),
    ("チケットは五千円でした。", "チケット5万だったんだけど！あーしビビった", "meaning_drift"),
    ("1万5千歩歩きました。", "あーし15000歩歩いた〜！足パンパン", None),
    ("1.5万円のバッグを買いました。", "あーし15000円のバッグ買った〜！", None),
    # Fixed expressions negate nothing; the persona's ねー and ん negate.
    ("思わず叫んでしまいました。", "あーしつい叫んじゃった〜w", None),
    ("やむを得ず予定を変えました。", "予定変えるしかなかったんだけど〜。あーし残念", None),
    ("この問題が解けません。", "この問題、マジ解けねー！あーし無理", None),
    ("この問題が解けません。", "この問題、マジ解けるし！あーし天才", "meaning_drift"),
    ("明日は行けません。", "あーし明日行けんわ〜", None),
    # Emphatic spellings: さむっ is 寒い.
    ("外はとても寒いです。", "外さむっ！あーし凍る", None),
    # The same words in the persona's endings are a rewrite, not a copy.
    ("今日は風が強いです。", "あーし今日風強いんだけど〜", None),
    ("今日は風が強いです。", "あーし、今日は風が強いです。", "near_copy"),
    # Cut off by the last morpheme: pronoun, adverb, conjunctive form, bare noun phrase.
    ("新しい靴を買いました。", "あーし新しい靴買ったんだけど、あいつ", "truncation"),
    ("昨日は友達と映画を見ました。", "昨日ダチと映画見たんだけど、あーしぶっちゃけ", "truncation"),
    ("配信の準備をしています。", "配信の準備とかもやり", "truncation"),
    ("配信の準備をしています。", "あーし配信の準備してたら、マイクとカメラ", "truncation"),
    ("新しい靴を買いました。", "あーし新しい靴買ったし、色違いまで", "truncation"),
    # ...but an exclamation is whole.
    ("新しい靴を買いました。", "あーしが買った新しい靴、これ！", None),
    ("配信の準備をしています。", "あーし配信の準備中〜", None),
    ("配信の準備をしています。", "配信の準備してる！あーし萎え", None),
    ("とても疲れました。", "あーしもうクタクタ", None),
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


@pytest.mark.parametrize(("standard", "persona", "expected"), GYARU_REGISTER)
def test_gyaru_register_is_no_defect(
    gyaru: PairChecker, standard: str, persona: str, expected: str | None
) -> None:
    failure = gyaru.check(standard, persona)
    reason = None if failure is None or not failure.sure else failure.reason
    assert reason == expected, failure


def test_an_unsure_drift_is_a_note_not_a_rejection(gyaru: PairChecker) -> None:
    """Part of the words gone: the judge decides, with the check's note."""
    failure = gyaru.check("週末はキャンプに行く予定です。", "あーし週末キャンプ行く〜！")
    assert failure is not None and not failure.sure
    assert failure.note.startswith("meaning_drift: 37% of the standard line's word weight")
    assert "予定" in failure.note
    # Most of it gone is sure.
    sure = gyaru.check("部屋の窓を開けて空気を入れ替えました。", "あーし換気した〜！")
    assert sure is not None and sure.sure and sure.reason == "meaning_drift"


@pytest.mark.parametrize(("standard", "persona", "expected"), OJOUSAMA)
def test_ojousama_checks(
    ojousama: PairChecker, standard: str, persona: str, expected: str | None
) -> None:
    assert _reason(ojousama, standard, persona) == expected


def test_every_code_is_exercised() -> None:
    seen = {e for *_, e in GYARU + GYARU_REGISTER + OJOUSAMA if e is not None}
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
