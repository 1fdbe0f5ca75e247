"""Bad input: each case exits 2 (1 where the server is the problem) with one line that
names the file, key or value, and never a traceback.

The same cases make the table in docs/bad-input.md:
`uv run python -m tests.cli.test_bad_input > docs/bad-input.md` rewrites it, and
`test_docs_table_is_current` fails when the docs and the real messages drift apart.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from client.pairs.fingerprint import InputFingerprint, input_digest
from tests.cli_helpers import CLIENT, Result, env
from tests.fakeserver import FakeServer
from tests.helpers import JUDGE_PROMPT, PROMPT, REPO

REWRITE_PROMPT = REPO / "personas" / "gyaru" / "rewrite_prompt.txt"

DOCS = REPO / "docs" / "bad-input.md"
# A persona folder of the user's own (judge_prompt.txt "" is left out by run_case).
PERSONA_YAML = (
    "export: {system_prompt: 言い換えて, reverse_system_prompt: 戻して}\n"
    "persona:\n  name: 執事\n  first_person: 私め\n  topics: [Daily]\n"
)
PERSONA_FILES = {
    "p/persona.yaml": PERSONA_YAML,
    "p/system_prompt.txt": "${num_pairs}組",
    "p/rewrite_prompt.txt": "${first_person}",
    "p/judge_prompt.txt": "${persona_name}",
}
SERVER = "http://127.0.0.1:{port}/v1"


@dataclass(frozen=True)
class Case:
    name: str
    args: list[str]
    code: int
    expect: str
    # name -> text; None: the file must not be there (a persona folder without it)
    files: dict[str, str | None] = field(default_factory=dict)
    environ: dict[str, str] = field(default_factory=dict)


# The manifest of a run made from in.txt: these two lines.
MADE_FROM_IN_TXT = {
    "outputs/raw/r1/manifest.json": json.dumps(
        {
            "run_id": "r1",
            "input": InputFingerprint(
                "in.txt", 2, input_digest(["今日は晴れです。", "明日は雨です。"])
            ).to_json(),
        }
    )
}

CASES = [
    Case(
        "YAML syntax error",
        ["--config", "bad.yaml"],
        2,
        "bad.yaml:3:1: invalid YAML",
        {"bad.yaml": "generation:\n  concurrency: [4\n"},
    ),
    Case(
        "unknown key",
        ["--config", "bad.yaml"],
        2,
        "unknown key 'generation.concurency'",
        {"bad.yaml": "generation:\n  concurency: 4\n"},
    ),
    Case(
        "unknown section",
        ["--config", "bad.yaml"],
        2,
        "unknown key 'generaton'",
        {"bad.yaml": "generaton:\n  concurrency: 4\n"},
    ),
    Case(
        "API key in the config file",
        ["--config", "bad.yaml"],
        2,
        "unknown key 'server.api_key'",
        {"bad.yaml": "server:\n  api_key: sk-123\n"},
    ),
    Case(
        "wrong type",
        ["--config", "bad.yaml"],
        2,
        "generation.concurrency = 'four': Input should be a valid integer",
        {"bad.yaml": "generation:\n  concurrency: four\n"},
    ),
    Case(
        "top level not a mapping",
        ["--config", "bad.yaml"],
        2,
        "the top level must be a mapping",
        {"bad.yaml": "- generation\n"},
    ),
    Case(
        "concurrency 0 (flag)",
        ["--concurrency", "0"],
        2,
        "--concurrency 0: Input should be greater than or equal to 1",
    ),
    Case(
        "concurrency 0 (YAML)",
        ["--config", "bad.yaml"],
        2,
        "generation.concurrency = 0: Input should be greater than or equal to 1",
        {"bad.yaml": "generation:\n  concurrency: 0\n"},
    ),
    Case(
        "concurrency not a number",
        ["--concurrency", "four"],
        2,
        "argument --concurrency: a number or auto, got 'four'",
    ),
    Case(
        "concurrency a list",
        ["--concurrency", "4,auto"],
        2,
        "argument --concurrency: one level or auto, got '4,auto' (a list of levels is for client bench)",
    ),
    Case(
        "max concurrency 0",
        ["--concurrency", "auto", "--max-concurrency", "0"],
        2,
        "--max-concurrency 0: Input should be greater than or equal to 1",
    ),
    Case(
        "temperature above 2",
        ["--temperature", "2.5"],
        2,
        "--temperature 2.5: Input should be less than or equal to 2",
    ),
    Case(
        "temperature below 0",
        ["--temperature", "-0.1"],
        2,
        "--temperature -0.1: Input should be greater than or equal to 0",
    ),
    Case("top_p 0", ["--top-p", "0"], 2, "--top-p 0.0: Input should be greater than 0"),
    Case(
        "top_p above 1",
        ["--config", "bad.yaml"],
        2,
        "generation.top_p = 1.5: Input should be less than or equal to 1",
        {"bad.yaml": "generation:\n  top_p: 1.5\n"},
    ),
    Case(
        "pairs per batch 0",
        ["--pairs-per-batch", "0"],
        2,
        "--pairs-per-batch 0: Input should be greater than or equal to 1",
    ),
    Case(
        "max new tokens 0",
        ["--max-new-tokens", "0"],
        2,
        "--max-new-tokens 0: Input should be greater than or equal to 1",
    ),
    Case(
        "negative wait",
        ["--wait", "-5"],
        2,
        "--wait -5.0: Input should be greater than or equal to 0",
    ),
    Case(
        "base URL without scheme",
        ["--base-url", "localhost:8000/v1"],
        2,
        "base URL must start with http:// or https://",
    ),
    Case(
        "bad environment value",
        [],
        2,
        "GYARU_GENERATION__CONCURRENCY='lots': Input should be a valid integer",
        environ={"GYARU_GENERATION__CONCURRENCY": "lots"},
    ),
    Case("unknown flag", ["--concurency", "4"], 2, "unrecognized arguments: --concurency 4"),
    Case("missing config file", ["--config", "nope.yaml"], 2, "config file not found: nope.yaml"),
    Case(
        "unknown persona",
        ["--persona", "nobody"],
        2,
        "--persona: unknown persona 'nobody'; available: gyaru, ojousama (in ",
    ),
    Case(
        "persona folder missing a prompt",
        ["--persona", "./p"],
        2,
        "persona folder p lacks judge_prompt.txt (a persona folder holds persona.yaml, "
        "system_prompt.txt, rewrite_prompt.txt and judge_prompt.txt)",
        {**PERSONA_FILES, "p/judge_prompt.txt": None},
    ),
    Case(
        "unknown key in a persona",
        ["--persona", "./p"],
        2,
        "p/persona.yaml: unknown key 'persona.frist_person'",
        {**PERSONA_FILES, "p/persona.yaml": PERSONA_YAML + "  frist_person: 私\n"},
    ),
    Case(
        "missing prompt file",
        ["--system-prompt", "nope.txt"],
        2,
        "system prompt file not found: nope.txt",
    ),
    Case(
        "empty prompt file",
        ["--system-prompt", "empty.txt"],
        2,
        "system prompt file is empty: empty.txt",
        {"empty.txt": "\n"},
    ),
    Case(
        "unknown placeholder in the prompt",
        ["--system-prompt", "p.txt"],
        2,
        "p.txt: unknown placeholder ${num_pair}",
        {"p.txt": "${num_pair}組作って"},
    ),
    Case(
        "missing judge prompt file",
        ["--judge-prompt", "nope.txt"],
        2,
        "judge prompt file not found: nope.txt",
    ),
    Case(
        "output dir cannot be written",
        ["--output-dir", "afile/outputs"],
        2,
        "output directory is not writable: afile/outputs",
        {"afile": "not a folder"},
    ),
    Case(
        "run id that leaves the output dir",
        ["--run-id", "../elsewhere"],
        2,
        "--run-id '../elsewhere': use letters, digits",
    ),
    Case(
        "model the server does not serve",
        ["--model", "qwen-typo"],
        2,
        "model 'qwen-typo' is not served by",
    ),
    Case(
        "judge model the server does not serve",
        ["--judge-model", "qwen-judge-typo"],
        2,
        "judge: model 'qwen-judge-typo' is not served by",
    ),
    Case(
        "server not running",
        ["--base-url", "http://127.0.0.1:9/v1"],
        1,
        "cannot reach the server: http://127.0.0.1:9/v1: connection failed",
    ),
    Case("input file not found", ["--input", "nope.txt"], 2, "nope.txt: input file not found"),
    Case("input of an unknown format", ["--input", "in.xlsx"], 2, "unknown input format '.xlsx'"),
    Case(
        "input that is a directory",
        ["--input", "corpus"],
        2,
        "corpus: is a directory, not an input file",
        {"corpus/in.txt": "今日は晴れです。\n"},
    ),
    Case(
        "input file that is empty",
        ["--input", "in.txt"],
        2,
        "in.txt: no lines to rewrite (the file is empty)",
        {"in.txt": ""},
    ),
    Case(
        "input file of blank lines",
        ["--input", "in.txt"],
        2,
        "in.txt: no lines to rewrite (2 blank lines)",
        {"in.txt": "\n  \n"},
    ),
    Case(
        "input CSV without a standard column",
        ["--input", "in.csv"],
        2,
        "in.csv:1: no column 'standard' (columns: id, text); name the column with --input-field",
        {"in.csv": "id,text\n1,今日は晴れです。\n"},
    ),
    Case(
        "input column that is not there",
        ["--input", "in.csv", "--input-field", "body"],
        2,
        "in.csv:1: no column 'body' (columns: id, text)",
        {"in.csv": "id,text\n1,今日は晴れです。\n"},
    ),
    Case(
        "input CSV with broken quoting",
        ["--input", "in.csv", "--input-field", "text"],
        2,
        "in.csv:3: broken CSV",
        {"in.csv": 'id,text\n1,今日は晴れです。\n2,"明日は"雨です\n'},
    ),
    Case(
        "resuming with another input file",
        ["--input", "in.txt", "--run-id", "r1"],
        2,
        "run r1 was made from in.txt (2 lines), and --input in.txt differs (3 lines, not 2):"
        " resume it with the file it was made from, or start a new run with a new --run-id",
        {"in.txt": "今日は晴れです。\n明日は雨です。\n週末は映画です。\n", **MADE_FROM_IN_TXT},
    ),
    Case(
        "resuming with an input file of other lines",
        ["--input", "other.txt", "--run-id", "r1"],
        2,
        "run r1 was made from in.txt (2 lines), and --input other.txt differs (file other.txt,"
        " not in.txt; the same number of lines, with other text)",
        {"other.txt": "今日は晴れです。\n明日は晴れです。\n", **MADE_FROM_IN_TXT},
    ),
    Case(
        "resuming an input run without --input",
        ["--run-id", "r1"],
        2,
        "run r1 was made from in.txt (2 lines); without --input it would turn into free"
        " generation: resume it with --input in.txt, or start a new run with a new --run-id",
        MADE_FROM_IN_TXT,
    ),
    Case(
        "resuming a free run with --input",
        ["--input", "in.txt", "--run-id", "r1"],
        2,
        "run r1 generates its own pairs from no input file, and --input in.txt cannot join it:"
        " start a new run with a new --run-id",
        {"in.txt": "今日は晴れです。\n", "outputs/raw/r1/manifest.json": '{"input": null}'},
    ),
    Case(
        "input JSON line without the field",
        ["--input", "in.jsonl"],
        2,
        "in.jsonl:2: no field 'standard' (fields: text)",
        {"in.jsonl": '{"standard": "今日は晴れです。"}\n{"text": "明日は雨です。"}\n'},
    ),
]


def run_case(case: Case, port: int) -> tuple[int, list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in case.files.items():
            if text is None:
                continue  # a file that must not be there
            path = Path(tmp) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        base = ["--base-url", SERVER.format(port=port)] if "--base-url" not in case.args else []
        prompt = ["--system-prompt", str(PROMPT)] if "--system-prompt" not in case.args else []
        if "--input" in case.args:
            prompt += ["--rewrite-prompt", str(REWRITE_PROMPT)]
        if "--judge-prompt" not in case.args:
            prompt += ["--judge-prompt", str(JUDGE_PROMPT)]
        args = ["generate", *base, *prompt, "--batches", "1", "--log-format", "json", *case.args]
        done = subprocess.run(
            [CLIENT, *args],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp,
            env=env(**case.environ),
        )
        return done.returncode, done.stderr.splitlines()


def error_line(lines: list[str]) -> str:
    return Result(0, "", "\n".join(lines)).error


def run_all(port: int) -> dict[str, tuple[int, list[str]]]:
    # Each case is a process start; two at a time keeps both cores busy.
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = pool.map(lambda case: run_case(case, port), CASES)
        return {case.name: result for case, result in zip(CASES, results, strict=True)}


@pytest.fixture(scope="module")
def outcomes() -> Iterator[tuple[FakeServer, dict[str, tuple[int, list[str]]]]]:
    with FakeServer() as server:
        yield server, run_all(server.port)


@pytest.mark.loopback
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(
    case: Case, outcomes: tuple[FakeServer, dict[str, tuple[int, list[str]]]]
) -> None:
    server, results = outcomes
    code, lines = results[case.name]
    assert code == case.code
    assert not any("Traceback" in line for line in lines)
    assert case.expect in error_line(lines)
    assert not server.chat_requests  # nothing was generated on bad input


def markdown(port: int, results: dict[str, tuple[int, list[str]]]) -> str:
    rows = [
        "# Bad input and what the client says",
        "",
        "Every case below was run through `client generate` against a live test server.",
        "Each prints one error line on stderr (the message column; with",
        "`--log-format json` it is the `event` of one JSON object), no traceback, and",
        "sends no generation request. Exit code 2 means the input is wrong, 1 that the",
        "server is. The table is produced by `uv run python -m tests.cli.test_bad_input` and",
        "the test suite checks it against the real messages.",
        "",
        "| bad input | command | exit | message |",
        "| --- | --- | --- | --- |",
    ]
    for case in CASES:
        code, lines = results[case.name]
        message = error_line(lines).replace(f":{port}", ":PORT").replace("|", "\\|")
        message = message.replace(str(REPO), "<repo>")
        files = "; ".join(
            f"{n}: `{t.rstrip(chr(10))!r}`" for n, t in case.files.items() if t is not None
        )
        envs = " ".join(f"{k}={v}" for k, v in case.environ.items())
        command = " ".join(filter(None, [envs, "client generate", shlex.join(case.args)]))
        where = f"`{command}`" + (f" with {files}" if files else "")
        rows.append(f"| {case.name} | {where} | {code} | {message} |")
    return "\n".join(rows) + "\n"


@pytest.mark.loopback
def test_docs_table_is_current(
    outcomes: tuple[FakeServer, dict[str, tuple[int, list[str]]]],
) -> None:
    server, results = outcomes
    assert DOCS.read_text(encoding="utf-8") == markdown(server.port, results), (
        "docs/bad-input.md is stale: run `uv run python -m tests.cli.test_bad_input > docs/bad-input.md`"
    )


if __name__ == "__main__":
    with FakeServer() as running:
        sys.stdout.write(markdown(running.port, run_all(running.port)))
