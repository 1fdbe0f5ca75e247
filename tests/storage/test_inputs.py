"""Reading input files from disk: formats, line numbers, and errors that name file:line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from client.errors import UsageError
from client.pairs.inputs import InputFingerprint, InputLine, InputScreen
from client.pairs.schema import PairRules
from client.storage.inputs import InputSource, check_input, items, read_input, survey


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def records(path: Path, field: str | None = None) -> list[InputLine]:
    return list(read_input(InputSource.of(path, field)))


def test_txt_lines_trimmed_with_crlf_and_bom(tmp_path: Path) -> None:
    path = write(tmp_path, "in.txt", "\ufeff一行目です。\r\n\r\n  二行目です。  \n")
    assert records(path) == [
        InputLine(1, "一行目です。"),
        InputLine(2, ""),
        InputLine(3, "二行目です。"),
    ]


def test_jsonl_default_and_named_field(tmp_path: Path) -> None:
    path = write(tmp_path, "in.jsonl", '{"standard": "一です。"}\n\n{"standard": "二です。"}\n')
    assert [r.text for r in records(path)] == ["一です。", "", "二です。"]
    named = write(tmp_path, "named.jsonl", '{"body": "本文です。", "id": 7}\n')
    assert records(named, "body") == [InputLine(1, "本文です。")]


def test_csv_records_start_where_they_start_even_across_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "in.csv",
        'id,text\n1,"一行目です。"\n2,"二行目、\n続きです。"\n\n3,三行目です。\n',
    )
    got = records(path, "text")
    assert got[0] == InputLine(2, "一行目です。")
    assert got[1] == InputLine(3, "二行目、\n続きです。")
    assert got[-1] == InputLine(6, "三行目です。")


@pytest.mark.parametrize(
    ("name", "data", "field", "message"),
    [
        ("in.txt", b"ok\n\xe3\x81\x82\n\xff\xfe bad\n", None, r"in\.txt:3: not UTF-8"),
        ("in.jsonl", '{"standard": "a"}\n{broken\n', None, r"in\.jsonl:2: not a JSON object"),
        ("in.jsonl", '{"text": "a"}\n', None, r"in\.jsonl:1: no field 'standard'"),
        ("in.csv", "id,text\n1,a\n", "body", r"in\.csv:1: no column 'body'"),
        ("in.csv", 'id,text\n1,a\n2,"b"c\n3,d\n', "text", r"in\.csv:3: broken CSV"),
        ("in.csv", 'id,text\n1,a\n2,"never closed\n3,d\n', "text", r"in\.csv:3: broken CSV"),
        ("in.csv", "id,text\n1,a,extra\n", "text", r"in\.csv:2: 3 fields where the header"),
        (
            "in.csv",
            "id,text\n1,a\n",
            None,
            r"in\.csv:1: no column 'standard' \(columns: id, text\); name the column with "
            r"--input-field$",
        ),
    ],
)
def test_bad_input_names_file_and_line(
    tmp_path: Path, name: str, data: str | bytes, field: str | None, message: str
) -> None:
    path = write(tmp_path, name, data)
    with pytest.raises(UsageError, match=message) as caught:
        check_input(InputSource.of(path, field))
    assert "\n" not in str(caught.value) and caught.value.exit_code == 2


def test_missing_unreadable_and_unknown_files(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"absent\.txt: input file not found"):
        check_input(InputSource.of(tmp_path / "absent.txt"))
    with pytest.raises(UsageError, match="absent: input file not found"):
        InputSource.of(tmp_path / "absent")
    for name in ("folder.txt", "folder"):
        (tmp_path / name).mkdir()
        with pytest.raises(UsageError, match=f"{name}: is a directory, not an input file$"):
            InputSource.of(tmp_path / name)
    with pytest.raises(UsageError, match=r"unknown input format '\.xlsx'"):
        InputSource.of(write(tmp_path, "sheet.xlsx", b""))
    with pytest.raises(UsageError, match=r"applies to \.jsonl and \.csv"):
        InputSource.of(tmp_path / "in.txt", "text")


@pytest.mark.parametrize(
    ("name", "data", "why"),
    [
        ("in.txt", "", "the file is empty"),
        ("in.txt", "\n  \n\n", "3 blank lines"),
        ("in.jsonl", '{"standard": null}\n', "1 blank line"),
        ("in.csv", "", "the file is empty"),
        ("in.csv", "id,standard\n", "only a header"),
        ("in.csv", "id,standard\n1,\n", "1 blank row"),
    ],
)
def test_a_file_with_no_line_to_rewrite_is_bad_input(
    tmp_path: Path, name: str, data: str, why: str
) -> None:
    path = write(tmp_path, name, data)
    message = f"{path}: no lines to rewrite ({why})"
    with pytest.raises(UsageError, match=f"^{re.escape(message)}$"):
        check_input(InputSource.of(path))


def test_a_csv_reads_its_standard_column_without_being_told(tmp_path: Path) -> None:
    path = write(tmp_path, "in.csv", "id,standard\n1,一です。\n2,二です。\n")
    assert [r.text for r in records(path)] == ["一です。", "二です。"]


def test_survey_records_every_line_not_sent_and_items_number_the_rest(tmp_path: Path) -> None:

    rules = PairRules(("Daily",), "あーし", 2, 20, 2, 40)
    path = write(
        tmp_path, "in.txt", "一です。\n\n二です。\n一です。\n" + "長" * 30 + "\nthree\n三です。\n"
    )
    source = InputSource.of(path)
    rejections = tmp_path / "rejected.jsonl"
    counts = survey(source, InputScreen(rules), rejections, fsync=False)

    assert counts.to_json() == {
        "lines": 7,
        "empty": 1,
        "duplicates_exact": 1,
        "duplicates_normalised": 0,
        "unique": 3,
        "rejected_before_request": {"length": 1, "not_japanese": 1},
    }
    lines = [json.loads(x) for x in rejections.read_text(encoding="utf-8").splitlines()]
    assert [(r["line"], r["reason"]) for r in lines] == [
        (4, "duplicate"),
        (5, "length"),
        (6, "not_japanese"),
    ]
    sent = list(items(source, InputScreen(rules)))
    assert [(i.id, i.line, i.text) for i in sent] == [
        (1, 1, "一です。"),
        (2, 3, "二です。"),
        (3, 7, "三です。"),
    ]


def test_a_bad_record_stops_the_survey_before_anything_is_written(tmp_path: Path) -> None:

    path = write(tmp_path, "in.jsonl", '{"standard": "一です。"}\n{"standard": 1}\n')
    out = tmp_path / "rejected.jsonl"
    with pytest.raises(UsageError, match=r"in\.jsonl:2: field 'standard' is a int"):
        survey(
            InputSource.of(path),
            InputScreen(PairRules(("D",), None, 2, 20, 2, 40)),
            out,
            fsync=False,
        )
    assert not out.exists() and not list(tmp_path.glob(".*.tmp"))


def fingerprint(path: Path) -> InputFingerprint:
    screen = InputScreen(PairRules(("Daily",), "あーし", 2, 20, 2, 40))
    for record in read_input(InputSource.of(path)):
        screen.screen(record)
    return screen.fingerprint(path.name)


def test_a_file_saved_again_keeps_its_fingerprint_and_an_edit_changes_it(tmp_path: Path) -> None:
    original = fingerprint(write(tmp_path, "in.txt", "一です。\n二です。\n\n三です。\n"))
    resaved = fingerprint(
        write(tmp_path / "again", "in.txt", "\ufeff一です。\r\n二です。 \r\n\r\n三です。")
    )
    assert resaved == original and original.lines == 4
    edited = fingerprint(write(tmp_path / "edited", "in.txt", "一です。\n二です。\n\n四です。\n"))
    assert edited.lines == original.lines and edited.digest != original.digest
