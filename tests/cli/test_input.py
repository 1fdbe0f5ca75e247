"""generate --input through the real CLI against our loopback server: every line of the
file ends as one pair (its own text as the standard line) or one recorded rejection."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import gen_args, run_client
from tests.fakeserver import FakeServer, RecordedRequest, rewrite

pytestmark = pytest.mark.loopback

LINES = [
    "今日は晴れです。",  # 1
    "",  # 2 blank
    "明日は雨が降ります。",  # 3
    "今日は晴れです。",  # 4 the same as 1
    "駅前にカフェができました。",  # 5
    "今日は、晴れです！",  # 6 the same as 1 once normalised
    "長" * 130 + "です。",  # 7 over standard_max_chars (120)
    "I had a good day.",  # 8 no kana
    "新しいゲームを買いました。",  # 9
    "週末は友だちと映画を見ます。",  # 10
]
SENT = [1, 3, 5, 9, 10]


def write_lines(tmp_path: Path, lines: list[str], name: str = "in.txt") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def processed(out: Path, run_id: str = "r1") -> dict[str, Any]:
    path = out / "processed" / f"gyaru_dataset_{run_id}.json"
    return dict(json.loads(path.read_text(encoding="utf-8")))


def batch_records(out: Path, run_id: str = "r1") -> dict[int, dict[str, Any]]:
    files = sorted((out / "raw" / run_id).glob("batch_*.json"))
    return {int(p.stem.split("_")[1]): json.loads(p.read_text(encoding="utf-8")) for p in files}


def sent_inputs(server: FakeServer) -> list[list[str]]:
    return [[i["standard"] for i in r.inputs] for r in server.chat_requests]


def test_every_line_is_one_pair_or_one_recorded_rejection(tmp_path: Path) -> None:
    source = write_lines(tmp_path, LINES)
    out = tmp_path / "out"
    with FakeServer() as server:
        result = run_client(gen_args(server.base_url, out, "--input", str(source),
                                     "--pairs-per-batch", "2"))  # fmt: skip
    assert result.code == 0, result.stderr
    # Batches carry --pairs-per-batch inputs; each request's schema fixes its inputs.
    assert sent_inputs(server) == [[LINES[0], LINES[2]], [LINES[4], LINES[8]], [LINES[9]]]
    for request in server.chat_requests:
        array = request.body["response_format"]["json_schema"]["schema"]["properties"]["pairs"]
        assert [i["properties"]["standard"]["const"] for i in array["prefixItems"]] == [
            i["standard"] for i in request.inputs
        ]
    data = processed(out)
    pairs = data["pairs"]
    assert [p["standard"] for p in pairs] == [LINES[n - 1] for n in SENT]
    assert [p["input"]["line"] for p in pairs] == SENT
    assert all(p["gyaru"] == rewrite(p["standard"]) for p in pairs)
    unsent = [
        json.loads(line)
        for line in (out / "raw" / "r1" / "input_rejections.jsonl").read_text("utf-8").splitlines()
    ]
    assert [(r["line"], r["reason"]) for r in unsent] == [
        (4, "duplicate"),
        (6, "duplicate"),
        (7, "length"),
        (8, "not_japanese"),
    ]
    inputs = data["metadata"]["summary"]["inputs"]
    assert inputs == {
        "lines": 10,
        "empty": 1,
        "duplicates_exact": 1,
        "duplicates_normalised": 1,
        "unique": 5,
        "rejected_before_request": {"length": 1, "not_japanese": 1},
        "paired": 5,
        "rejected": {},
        "tied_by_text": 0,
        "pending": 0,
        "pending_reasons": {},
    }
    assert "input lines" in result.stdout and "5 sent: 5 paired" in result.stdout


@pytest.mark.parametrize(
    ("action", "untied"),
    [
        ("misalign", ["id 1 carries the text of input 2", "id 2 carries the text of input 1"]),
        ("restate", ["id 1: the standard line was changed"]),
        ("skip", []),
    ],
)
def test_a_misaligned_reply_is_caught_and_a_resume_asks_only_for_what_is_left(
    tmp_path: Path, action: str, untied: list[str]
) -> None:
    source = write_lines(tmp_path, [LINES[n - 1] for n in SENT])
    out = tmp_path / "out"
    args = gen_args("", out, "--input", str(source), "--pairs-per-batch", "2",
                    "--concurrency", "1")  # fmt: skip

    def first_batch_only(request: RecordedRequest) -> str | None:
        return action if request.inputs and request.inputs[0]["id"] == 1 else None

    with FakeServer(chooser=first_batch_only) as server:
        args[args.index("--base-url") + 1] = server.base_url
        first = run_client(args)
    assert first.code == 1, first.stderr  # inputs left pending: incomplete
    assert "resume with:" in first.stdout
    record = batch_records(out)[1]
    details = [r["detail"] for r in record["rejected"] if r["reason"] == "misaligned"]
    assert [d.split(" (")[0] for d in details] == untied
    assert all("input" not in r for r in record["rejected"] if r["reason"] == "misaligned")
    missing = sorted(r["input"]["id"] for r in record["rejected"] if r["reason"] == "missing")
    paired_first = {p["input"]["id"] for p in processed(out)["pairs"]}
    assert set(missing) | paired_first == {1, 2, 3, 4, 5} and not set(missing) & paired_first
    # Never attached to the wrong line: every pair is the rewrite of its own input.
    assert all(p["gyaru"] == rewrite(p["standard"]) for p in processed(out)["pairs"])
    # The lines left pending say why.
    summary = processed(out)["metadata"]["summary"]["inputs"]
    assert summary["pending_reasons"] == {"missing": len(missing)}
    said = f"{len(missing)}pending(noreplyitemtiedtotheline{len(missing)})"
    assert said in re.sub(r"[\s│]", "", first.stdout)

    with FakeServer() as again:
        args[args.index("--base-url") + 1] = again.base_url
        second = run_client(args)
    assert second.code == 0, second.stderr
    assert [[i["id"] for i in r.inputs] for r in again.chat_requests] == [missing]
    # The resumed batch takes the first free batch number after the finished ones.
    assert sorted(batch_records(out)) == [1, 2, 3, 4]
    pairs = processed(out)["pairs"]
    assert sorted(p["input"]["id"] for p in pairs) == [1, 2, 3, 4, 5]
    assert all(p["gyaru"] == rewrite(p["standard"]) for p in pairs)
    inputs = processed(out)["metadata"]["summary"]["inputs"]
    assert inputs["paired"] == 5 and inputs["pending"] == 0


def test_an_id_not_in_the_batch_is_tied_by_the_line_it_carries(tmp_path: Path) -> None:
    source = write_lines(tmp_path, [LINES[n - 1] for n in SENT])
    out = tmp_path / "out"
    with FakeServer(script=["wrongid"]) as server:
        result = run_client(gen_args(server.base_url, out, "--input", str(source),
                                     "--pairs-per-batch", "2", "--concurrency", "1"))  # fmt: skip
    assert result.code == 0, result.stderr
    pairs = processed(out)["pairs"]
    assert [p["input"]["id"] for p in pairs] == [1, 2, 3, 4, 5]
    assert all(p["gyaru"] == rewrite(p["standard"]) for p in pairs)
    assert [p["input"].get("tied_by") for p in pairs] == ["text", None, None, None, None]
    assert processed(out)["metadata"]["summary"]["inputs"]["tied_by_text"] == 1


def test_a_failed_batch_is_sent_again_under_its_own_number(tmp_path: Path) -> None:
    source = write_lines(tmp_path, [LINES[n - 1] for n in SENT])
    out = tmp_path / "out"
    args = gen_args("", out, "--input", str(source), "--pairs-per-batch", "2",
                    "--concurrency", "1", "--max-attempts", "1")  # fmt: skip

    def fail_second(request: RecordedRequest) -> str | None:
        return "400" if request.inputs and request.inputs[0]["id"] == 3 else None

    with FakeServer(chooser=fail_second) as server:
        args[args.index("--base-url") + 1] = server.base_url
        assert run_client(args).code == 1
    assert batch_records(out)[2]["status"] == "failed"
    with FakeServer() as again:
        args[args.index("--base-url") + 1] = again.base_url
        assert run_client(args).code == 0
    assert [[i["id"] for i in r.inputs] for r in again.chat_requests] == [[3, 4]]
    records = batch_records(out)
    assert sorted(records) == [1, 2, 3] and records[2]["status"] == "ok"


def test_jsonl_and_csv_inputs_name_their_field(tmp_path: Path) -> None:
    jsonl = tmp_path / "chat.jsonl"
    jsonl.write_text(
        '{"text": "今日は晴れです。", "who": "a"}\n{"text": "明日は雨です。", "who": "b"}\n',
        encoding="utf-8",
    )
    csv = tmp_path / "corpus.csv"
    csv.write_text('id,sentence\n1,"駅前に、カフェができました。"\n2,新しいゲームです。\n', "utf-8")
    # A CSV whose column has the default name needs no --input-field.
    plain = tmp_path / "plain.csv"
    plain.write_text("standard,who\n週末は映画を見ます。,a\n", "utf-8")
    sources = ((jsonl, "text", "j"), (csv, "sentence", "c"), (plain, None, "p"))
    with FakeServer() as server:
        for source, field, run_id in sources:
            out = tmp_path / "out"
            named = ["--input-field", field] if field else []
            args = gen_args(server.base_url, out, "--input", str(source), *named, run_id=run_id)
            result = run_client(args)
            assert result.code == 0, result.stderr
    assert [p["standard"] for p in processed(out, "j")["pairs"]] == [
        "今日は晴れです。",
        "明日は雨です。",
    ]
    pairs = processed(out, "c")["pairs"]
    assert [(p["standard"], p["input"]["line"]) for p in pairs] == [
        ("駅前に、カフェができました。", 2),
        ("新しいゲームです。", 3),
    ]
    assert [p["standard"] for p in processed(out, "p")["pairs"]] == ["週末は映画を見ます。"]


@pytest.mark.parametrize(
    ("name", "data", "extra", "message"),
    [
        ("absent.txt", None, [], "absent.txt: input file not found"),
        ("in.txt", b"ok\xe3\x81\x82\n\xff bad\n", [], "in.txt:2: not UTF-8"),
        ("in.csv", b"id,text\n1,a\n", ["--input-field", "body"], "in.csv:1: no column 'body'"),
        ("in.csv", b'id,text\n1,"a"b\n', ["--input-field", "text"], "in.csv:2: broken CSV"),
        ("in.jsonl", b'{"standard": "a"}\n{"text": "b"}\n', [], "in.jsonl:2: no field 'standard'"),
        ("in.xlsx", b"", [], "unknown input format '.xlsx'"),
    ],
)
def test_bad_input_is_exit_2_naming_file_and_line_and_nothing_is_sent(
    tmp_path: Path, name: str, data: bytes | None, extra: list[str], message: str
) -> None:
    path = tmp_path / name
    if data is not None:
        path.write_bytes(data)
    with FakeServer() as server:
        result = run_client(
            gen_args(server.base_url, tmp_path / "out", "--input", str(path), *extra)
        )
    assert result.code == 2, result.stderr
    assert message in result.error and "Traceback" not in result.stderr
    assert server.requests == []
    assert not (tmp_path / "out" / "raw").exists()


def test_input_and_target_pairs_exclude_each_other(tmp_path: Path) -> None:
    source = write_lines(tmp_path, LINES[:1])
    result = run_client(gen_args("http://127.0.0.1:9/v1", tmp_path, "--input", str(source),
                                 "--target-pairs", "10"))  # fmt: skip
    assert result.code == 2 and "exclude each other" in result.error


def test_a_run_remembers_its_input_and_refuses_another_before_any_request(
    tmp_path: Path,
) -> None:
    source = write_lines(tmp_path, [LINES[n - 1] for n in SENT])
    out = tmp_path / "out"
    with FakeServer() as server:
        assert run_client(gen_args(server.base_url, out, "--input", str(source))).code == 0
    manifest = json.loads((out / "raw" / "r1" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["input"]["file"] == "in.txt" and manifest["input"]["lines"] == 5
    # The same lines saved again with other line endings and a renamed file: the same input.
    renamed = tmp_path / "renamed.txt"
    renamed.write_bytes(source.read_text(encoding="utf-8").replace("\n", "\r\n").encode())
    edited = write_lines(tmp_path, [LINES[n - 1] for n in SENT[:-1]], name="edited.txt")
    with FakeServer() as server:
        same = run_client(gen_args(server.base_url, out, "--input", str(renamed)))
        assert same.code == 0, same.stderr
        assert not server.chat_requests  # every line was paired already
        server.requests.clear()
        other = run_client(gen_args(server.base_url, out, "--input", str(edited)))
        without = run_client(gen_args(server.base_url, out))
        assert server.requests == []  # refused before the server was asked anything
    assert (other.code, without.code) == (2, 2)
    # The manifest names the file as the last session saw it: the one to resume with.
    assert other.error == (
        "run r1 was made from renamed.txt (5 lines), and --input edited.txt differs (file"
        " edited.txt, not renamed.txt; 4 lines, not 5): resume it with the file it was made"
        " from, or start a new run with a new --run-id"
    )
    assert "without --input it would turn into free generation" in without.error
    # Free generation remembers it was free.
    with FakeServer() as server:
        assert run_client(gen_args(server.base_url, out, run_id="free")).code == 0
        joined = run_client(gen_args(server.base_url, out, "--input", str(source), run_id="free"))
    assert joined.code == 2 and "run free generates its own pairs" in joined.error
