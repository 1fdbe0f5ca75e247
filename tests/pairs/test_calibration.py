from __future__ import annotations

import json

import pytest

from client.errors import EXIT_USAGE
from client.pairs.calibration import (
    LabelledItem,
    LabelsError,
    Verdict,
    agreement,
    auc,
    by_kind,
    kappa_interval,
    parse_labels,
    select,
    wilson,
)


def item(good: bool, kind: str | None = None, line: int = 1) -> LabelledItem:
    return LabelledItem(line=line, standard="s", gyaru="g", topic="Daily", good=good, kind=kind)


def test_confusion_matrix_precision_recall_kappa() -> None:
    items = [item(True)] * 40 + [item(False)] * 40
    verdicts = (
        [Verdict(True)] * 38 + [Verdict(False, "register")] * 2
        + [Verdict(True)] * 4 + [Verdict(False, "junk")] * 36
    )  # fmt: skip
    a = agreement(items, verdicts)
    assert (a.good_accepted, a.good_rejected, a.bad_accepted, a.bad_rejected) == (38, 2, 4, 36)
    assert a.precision == pytest.approx(38 / 42)
    assert a.recall == pytest.approx(38 / 40)
    # observed 74/80; chance: (42*40 + 38*40) / 6400 = 0.5
    assert a.kappa == pytest.approx((74 / 80 - 0.5) / 0.5)
    assert len(a.disagreements) == 6
    assert a.disagreements[0][1].reason == "register"


def test_kappa_is_zero_for_a_coin_and_undefined_for_one_class() -> None:
    items = [item(True), item(True), item(False), item(False)]
    coin = [Verdict(True), Verdict(False), Verdict(True), Verdict(False)]
    assert agreement(items, coin).kappa == pytest.approx(0.0)
    all_good = [item(True)] * 3
    assert agreement(all_good, [Verdict(True)] * 3).kappa is None
    assert agreement([], []).precision is None


def test_auc_and_by_kind() -> None:
    items = [item(True), item(True), item(False, "junk"), item(False, "junk")]
    assert auc(items, [0.9, 0.8, 0.1, 0.8]) == pytest.approx((2 + 1.5) / 4)
    right = by_kind(items, [Verdict(True), Verdict(False), Verdict(False), Verdict(True)])
    assert right == {"good": (1, 2), "junk": (1, 2)}


def line(**fields: object) -> str:
    base: dict[str, object] = {"standard": "雨です。", "gyaru": "あーし雨", "topic": "Daily"}
    return json.dumps(base | fields, ensure_ascii=False)


def test_parse_labels_reads_items_and_skips_blank_lines() -> None:
    text = (
        line(label="good", note="ignored")
        + "\n\n"
        + line(label="bad", kind="junk", persona="x")
        + "\n"
    )
    items = parse_labels(text, "l.jsonl")
    assert [(i.line, i.good, i.kind, i.persona) for i in items] == [
        (1, True, None, None),
        (3, False, "junk", "x"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "l.jsonl:2: not valid JSON"),
        ("[1, 2]", "l.jsonl:2: an item must be a JSON object, got list"),
        (line(), "l.jsonl:2: field 'label' is missing"),
        (line(label="ok"), "l.jsonl:2: label must be 'good' or 'bad', got 'ok'"),
        (line(label="good", standard=3), "l.jsonl:2: field 'standard' is not a string"),
        (line(label="good", kind=1), "l.jsonl:2: field 'kind' is not a string"),
        (
            line(label="good", split="test"),
            "l.jsonl:2: split must be one of ['tuning', 'held-out']",
        ),
        (line(label="bad", seen_by="eye"), "l.jsonl:2: seen_by must be one of ['rules', 'judge']"),
        (line(label="good", judge=[5]), "l.jsonl:2: field 'judge' is not an object"),
        (line(label="good", judge={"meaning": 6}), "l.jsonl:2: judge.meaning must be a grade 1-5"),
    ],
)
def test_a_malformed_line_is_named(text: str, message: str) -> None:
    with pytest.raises(LabelsError) as caught:
        parse_labels(line(label="good") + "\n" + text, "l.jsonl")
    assert str(caught.value).startswith(message)
    assert caught.value.exit_code == EXIT_USAGE


def test_an_empty_file_is_an_error() -> None:
    with pytest.raises(LabelsError, match="no labelled items"):
        parse_labels("\n \n", "l.jsonl")


def test_split_seen_by_and_grades_are_read() -> None:
    grades = {"meaning": 2, "voice": 5, "naturalness": 4, "safety": 5, "topic_ok": False}
    text = "\n".join(
        [
            line(label="good", id="g-1", split="tuning"),
            line(label="bad", split="held-out", seen_by="judge", judge=grades | {"reason": "x"}),
            line(label="bad", kind="junk"),
        ]
    )
    first, second, third = parse_labels(text, "l.jsonl")
    assert (first.id, first.split, first.rule_visible) == ("g-1", "tuning", False)
    assert (second.split, second.seen_by, second.rule_visible) == ("held-out", "judge", False)
    assert second.grades == {
        "meaning": 2,
        "voice": 5,
        "naturalness": 4,
        "safety": 5,
        "topic_ok": False,
    }
    assert third.rule_visible and third.grades is None
    assert select([first, second, third], "held-out") == [second]
    assert select([first, second, third], None) == [first, second, third]
    with pytest.raises(LabelsError, match="no labelled items with split 'tuning'"):
        select([second, third], "tuning")


@pytest.mark.parametrize(
    ("hits", "n", "low", "high"),
    [
        # Reference values (Wilson 1927; as statsmodels proportion_confint method="wilson").
        (81, 81, 0.9547, 1.0),
        (0, 10, 0.0, 0.2775),
        (40, 50, 0.6696, 0.8876),
        (5, 10, 0.2366, 0.7634),
    ],
)
def test_wilson_interval(hits: int, n: int, low: float, high: float) -> None:
    interval = wilson(hits, n)
    assert interval is not None
    assert interval[0] == pytest.approx(low, abs=5e-4)
    assert interval[1] == pytest.approx(high, abs=5e-4)
    assert wilson(0, 0) is None


def test_kappa_interval_holds_the_kappa_and_narrows_with_more_items() -> None:
    few = [item(True)] * 20 + [item(False)] * 20
    verdicts = (
        [Verdict(True)] * 18 + [Verdict(False)] * 2 + [Verdict(True)] * 3 + [Verdict(False)] * 17
    )
    kappa = agreement(few, verdicts).kappa
    small = kappa_interval(few, verdicts)
    large = kappa_interval(few * 10, verdicts * 10)
    assert small is not None and large is not None and kappa is not None
    assert small[0] < kappa < small[1] and large[0] < kappa < large[1]
    assert large[1] - large[0] < (small[1] - small[0]) / 2
    assert kappa_interval(few, verdicts) == small  # seeded: the same labels, the same interval
    assert kappa_interval([item(True)] * 5, [Verdict(True)] * 5) is None  # one class: undefined
