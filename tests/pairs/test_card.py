"""The Hugging Face rows and dataset card: provenance, counts, reasons, judge grades."""

from __future__ import annotations

import yaml

from client.pairs.card import dataset_card, hf_row, judge_stats

METADATA = {
    "run_id": "r1",
    "persona": "あーし系ギャル",
    "model": "Qwen2.5-32B-Instruct",
    "system_prompt_sha256": "abc123",
    "created_at": "2026-12-01T00:00:00Z",
    "summary": {
        "pairs_unique": 2,
        "items_returned": 5,
        "pairs_valid": 3,
        "duplicates": 1,
        "batches_ok": 1,
        "rejections": {"missing_first_person": 2},
    },
}
PAIRS = [
    {
        "id": "r1-1",
        "topic": "Daily",
        "standard": "晴れです。",
        "gyaru": "晴れ〜あーし",
        "quality": 0.5,
        "judge": {"meaning": 5, "voice": 4, "keep": True, "reason": "良い"},
    },
    {
        "id": "r1-2",
        "topic": "Tech",
        "standard": "雨です。",
        "gyaru": "雨〜あーし",
        "quality": 0.4,
        "judge": {"meaning": 3, "voice": 4, "keep": False, "reason": "微妙"},
    },
]


def test_rows_flatten_judge_grades_and_carry_messages() -> None:
    row = hf_row({**PAIRS[0], "input": {"line": 12, "id": 3}}, system="SYS")
    assert row["judge_meaning"] == 5 and row["judge_reason"] == "良い"
    assert row["input_line"] == 12
    assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
    assert row["messages"][2]["content"] == PAIRS[0]["gyaru"]
    assert "judge" not in row


def test_card_front_matter_is_yaml_with_the_parquet_files_and_no_licence() -> None:
    card = dataset_card(METADATA, {"train": 2, "validation": 1}, judge_stats(PAIRS))
    header = yaml.safe_load(card.split("---")[1])
    assert header["license"] is None
    assert header["language"] == ["ja"]
    files = header["configs"][0]["data_files"]
    assert files == [
        {"split": "train", "path": "data/train-*.parquet"},
        {"split": "validation", "path": "data/validation-*.parquet"},
    ]


def test_card_body_holds_provenance_counts_reasons_and_judge_statistics() -> None:
    card = dataset_card(METADATA, {"train": 2}, judge_stats(PAIRS))
    for text in (
        "| persona | あーし系ギャル |",
        "| model | Qwen2.5-32B-Instruct |",
        "`abc123`",
        "| train | 2 |",
        "| missing_first_person | 2 |",
        "## Judge grades (2 graded pairs)",
        "| meaning | 4.00 | 3: 1, 5: 1 |",
        "| keep | 0.50 |  |",
    ):
        assert text in card, text


def test_card_of_an_input_run_counts_its_lines() -> None:
    inputs = {
        "lines": 10,
        "empty": 1,
        "duplicates_exact": 1,
        "duplicates_normalised": 1,
        "unique": 7,
        "rejected_before_request": {"length": 1},
        "paired": 6,
        "rejected": {"missing_first_person": 1},
        "pending": 0,
    }
    metadata = {**METADATA, "summary": {**METADATA["summary"], "inputs": inputs}}
    card = dataset_card(metadata, {"train": 6}, judge_stats([]))
    for text in (
        "| read | 10 |",
        "| duplicate | 2 |",
        "| paired | 6 |",
        "| rejected unsent: length | 1 |",
        "| rejected: missing_first_person | 1 |",
    ):
        assert text in card, text


def test_card_without_judge_grades_has_no_judge_section() -> None:
    card = dataset_card(METADATA, {"train": 2}, judge_stats([{"standard": "a"}]))
    assert "Judge" not in card


def test_card_of_a_reviewed_dataset_says_what_the_review_did() -> None:
    review = {
        "file": "x.review.json",
        "reviewed": 5,
        "accepted": 2,
        "rejected": 1,
        "edited": 2,
        "stale": 0,
    }
    card = dataset_card({**METADATA, "review": review}, {"train": 4}, judge_stats(PAIRS))
    for text in (
        "## Human review",
        "| reviewed | 5 |",
        "| rejected (left out) | 1 |",
        "| edited (the reviewer's persona line) | 2 |",
    ):
        assert text in card, text
    assert "Human review" not in dataset_card(METADATA, {"train": 2}, judge_stats(PAIRS))


def test_a_pair_let_in_without_the_judge_says_so_in_its_row_and_the_card() -> None:
    row = hf_row({**PAIRS[1], "judge": None, "unjudged": True}, system=None)
    assert row["unjudged"] is True and "judge_meaning" not in row
    assert "unjudged" not in hf_row(PAIRS[0], system=None)
    summary = {**METADATA["summary"], "pairs_unjudged": 1}  # type: ignore[dict-item]
    card = dataset_card({**METADATA, "summary": summary}, {"train": 2}, judge_stats(PAIRS))
    assert "| pairs the judge never graded (unjudged) | 1 |" in card
