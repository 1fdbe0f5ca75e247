"""validate + schema: each rejection reason, and that the rules match the grammar."""

from __future__ import annotations

import dataclasses
import random
import re
from typing import Any

import pytest

from client.pairs.records import Pair, Rejection
from client.pairs.schema import PairRules
from client.pairs.validate import ValidationContext, validate_item, validate_items

RULES = PairRules(
    topics=("Tech", "Streaming", "Daily", "Gaming"),
    first_person="あーし",
    standard_min_chars=2,
    standard_max_chars=60,
    gyaru_min_chars=2,
    gyaru_max_chars=80,
)
CTX = ValidationContext(rules=RULES, style_markers=("マジ", "じゃん", "〜"), min_quality=0.0)
GOOD = {
    "topic": "Tech",
    "standard": "新しいパソコンを買いました。",
    "gyaru": "あーし新しいパソコン買ったんだけど！マジ最高〜",
}


def check(item: Any, ctx: ValidationContext = CTX) -> Pair | Rejection:
    return validate_item(
        0, item, ctx=ctx, pair_id="r-b0001-000", batch=1, generated_at="2026-01-01T00:00:00Z"
    )


def test_good_pair_is_accepted_with_contract_fields() -> None:
    pair = check(GOOD)
    assert isinstance(pair, Pair)
    data = pair.to_json()
    assert set(data) >= {"id", "batch", "topic", "standard", "gyaru", "generated_at"}
    assert data["standard"] == GOOD["standard"] and 0 <= data["quality"] <= 1


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (["not", "an", "object"], "schema"),
        ({"topic": "Tech", "standard": "です。"}, "schema"),
        ({**GOOD, "gyaru": 3}, "schema"),
        ({**GOOD, "standard": "   "}, "empty"),
        ({**GOOD, "topic": "Cooking"}, "topic"),
        ({**GOOD, "standard": "あ" * 61}, "length"),
        ({**GOOD, "gyaru": "あーし" + "い" * 80}, "length"),
        ({**GOOD, "standard": "I bought a new computer today."}, "not_japanese"),
        ({**GOOD, "gyaru": "I bought a new computer today lol"}, "not_japanese"),
        ({**GOOD, "standard": "Atarashii pasokon wo kaimashita."}, "not_japanese"),
        ({**GOOD, "standard": "我今天买了新电脑。"}, "not_japanese"),
        (
            {**GOOD, "gyaru": GOOD["standard"] + "あーし", "standard": GOOD["standard"] + "あーし"},
            "identical",
        ),
        ({**GOOD, "gyaru": "うち新しいパソコン買ったんだけど！"}, "missing_first_person"),
    ],
)
def test_rejections_name_their_reason(item: Any, reason: str) -> None:
    outcome = check(item)
    assert isinstance(outcome, Rejection)
    assert outcome.reason == reason, outcome.detail
    assert outcome.detail and outcome.item == item


def test_topic_matching_folds_case_and_width() -> None:
    pair = check({**GOOD, "topic": "ＴＥＣＨ"})
    assert isinstance(pair, Pair) and pair.topic == "Tech"


def test_first_person_not_required_when_switched_off() -> None:
    rules = dataclasses.replace(RULES, first_person=None)
    ctx = ValidationContext(rules=rules, style_markers=(), min_quality=0.0)
    assert isinstance(check({**GOOD, "gyaru": "うち新しいの買ったし！"}, ctx), Pair)


def test_min_quality_filters() -> None:
    ctx = ValidationContext(rules=RULES, style_markers=(), min_quality=0.99)
    outcome = check(GOOD, ctx)
    assert isinstance(outcome, Rejection) and outcome.reason == "low_quality"


def test_short_latin_words_and_quotes_are_fine_in_japanese_lines() -> None:
    assert isinstance(check({**GOOD, "standard": "League of Legendsで勝ちました。"}), Pair)
    assert isinstance(check({**GOOD, "standard": '"VTuber"になりたいです。'}), Pair)


def test_raw_control_characters_are_cleaned_not_rejected() -> None:
    pair = check(
        {
            **GOOD,
            "standard": "新しいパソコンを\n買いました。",
            "gyaru": "あーし新しいPC\tマジ最高〜",
        }
    )
    assert isinstance(pair, Pair)
    assert (
        pair.standard == "新しいパソコンを買いました。" and pair.gyaru == "あーし新しいPCマジ最高〜"
    )


def test_grammar_patterns_and_validation_agree() -> None:
    """On random lines (without the characters the grammar keeps out of JSON strings),
    a line matches the grammar's pattern exactly when validation finds it Japanese."""
    rng = random.Random(7)
    alphabet = [
        "あ",
        "ー",
        "し",
        "カ",
        "漢",
        "中",
        "。",
        "、",
        "a",
        "B",
        "1",
        " ",
        "!",
        "é",
        "💖",
        "ｶ",
        "Ａ",
        "한",
    ]
    for _ in range(3000):
        line = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
        valid = RULES.japanese_problem(line) is None
        assert bool(re.fullmatch(RULES.standard_pattern, line)) == valid, line
        assert bool(re.fullmatch(RULES.gyaru_pattern, line)) == (valid and "あーし" in line), line


def test_validate_items_assigns_unique_ids() -> None:
    accepted, rejected = validate_items(
        [GOOD, {**GOOD, "standard": "別の文です。"}, 5],
        ctx=CTX,
        run_id="r",
        batch=3,
        generated_at="t",
    )
    assert [p.id for p in accepted] == ["r-b0003-000", "r-b0003-001"]
    assert [r.index for r in rejected] == [2]


@pytest.mark.parametrize(
    "line",
    [
        "あーし",
        "マジでLeague of Legendsやばいってあーし",
        "「あーし」だよ",
        "あーし12345678901234567890です",
        "Switch2であーし遊ぶ",
        "¥あーし",
    ],
)
def test_gyaru_pattern_accepts_what_validation_accepts(line: str) -> None:
    assert re.fullmatch(RULES.gyaru_pattern, line)


@pytest.mark.parametrize("line", ["あたし", 'あーし"', "あーし\\", "あーし\n", "\x93あーし", "abc"])
def test_gyaru_pattern_rejects_what_validation_rejects(line: str) -> None:
    assert not re.fullmatch(RULES.gyaru_pattern, line)


def test_batch_schema_asks_for_exactly_n_items_from_the_topics() -> None:
    schema = RULES.batch_schema(7)
    pairs = schema["properties"]["pairs"]
    assert pairs["minItems"] == pairs["maxItems"] == 7
    item = pairs["items"]
    assert item["properties"]["topic"]["enum"] == list(RULES.topics)
    assert item["properties"]["gyaru"]["pattern"] == RULES.gyaru_pattern
    assert item["additionalProperties"] is False and item["required"] == [
        "topic",
        "standard",
        "gyaru",
    ]
    fmt = RULES.response_format(7)
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["schema"] == schema
    # Without it vLLM's guidance backend lets a model spend its budget on whitespace.
    assert schema["x-guidance"] == {"whitespace_flexible": False}


def test_a_pair_the_checks_are_unsure_of_is_kept_with_their_note() -> None:
    from client.config import load_settings
    from client.pairs.checks import PairChecker

    settings = load_settings(persona="gyaru")
    ctx = dataclasses.replace(CTX, checker=PairChecker(settings.checks, "あーし"))
    item = {
        "topic": "Daily",
        "standard": "週末はキャンプに行く予定です。",
        "gyaru": "あーし週末キャンプ行く〜！",
    }
    pair = check(item, ctx)
    assert isinstance(pair, Pair)
    assert pair.check_note is not None and pair.check_note.startswith("meaning_drift: ")
    assert pair.to_json()["check_note"] == pair.check_note
    assert "check_note" not in check(GOOD, ctx).to_json()  # type: ignore[union-attr]
    # A gate that is sure rejects it.
    strict = settings.checks.model_copy(
        update={
            "meaning": settings.checks.meaning.model_copy(
                update={"max_missing_share": 0.3, "note_missing_share": 0.3}
            )
        }
    )
    rejected = check(item, dataclasses.replace(ctx, checker=PairChecker(strict, "あーし")))
    assert isinstance(rejected, Rejection) and rejected.reason == "meaning_drift"
