"""Personas through the real CLI: `client personas`, a third persona made from a folder
alone and run end to end against the loopback fake server, and bad persona input
(one line, exit 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from client.config import load_settings
from client.run.job import prompt_set
from tests.cli_helpers import Result, run_client
from tests.helpers import REPO
from tests.pairs.test_personas import PersonaServer, item_schema

# A third persona, written the way a user would: a folder with a persona.yaml (only
# who she is and her register) and three short prompts; no code, no repo file changed.
BUTLER_YAML: dict[str, Any] = {
    "persona": {
        "name": "執事",
        "first_person": "私め",
        "topics": ["Service", "Daily"],
        "style_markers": ["ございます", "いたしました", "お嬢様"],
        "scenes": ["朝の紅茶", "銀食器の手入れ"],
    },
    "export": {
        "system_prompt": "あなたは一人称が「私め」の執事です。標準的な文を執事の口調で言い換えてください。",
        "reverse_system_prompt": "執事口調の文を標準的な日本語に言い換えてください。",
    },
    "checks": {
        "voice": {
            "persona_required": [
                {"form": "ます", "pos": "助動詞"},
                {"form": "です", "pos": "助動詞"},
            ],
            "persona_forbidden": ["まじ", "じゃん", "やばい"],
        }
    },
}
SYSTEM = (
    "あなたは${persona_name}のセリフを書くシナリオライターです。一人称は「${first_person}」。"
    "標準的な文と${persona_name}の言い方のペアを${num_pairs}組、JSONで書いてください。"
    "topic は次のどれか一つ：${topics}\n"
)
REWRITE = "次の文を${persona_name}（一人称「${first_person}」）の口調に書き換えてください。topic：${topics}\n"
JUDGE = "${persona_name}（一人称「${first_person}」）のペアを採点してください。topic：${topics}\n"


def make_butler(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "persona.yaml").write_text(
        yaml.safe_dump(BUTLER_YAML, allow_unicode=True), encoding="utf-8"
    )
    for name, text in (
        ("system_prompt.txt", SYSTEM),
        ("rewrite_prompt.txt", REWRITE),
        ("judge_prompt.txt", JUDGE),
    ):
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def client(*args: str, cwd: Path = REPO) -> Result:
    return run_client([*args, "--log-format", "json"], cwd=cwd)


# -- client personas ---------------------------------------------------------------------


def test_personas_lists_the_shipped_two() -> None:
    result = run_client(["personas", "--json"], cwd=REPO)
    assert result.code == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {"gyaru", "ojousama"}
    gyaru, lady = rows["gyaru"], rows["ojousama"]
    assert (gyaru["default"], lady["default"]) == (True, False)
    assert (gyaru["first_person"], lady["first_person"]) == ("あーし", "わたくし")
    assert (gyaru["display_name"], lady["display_name"]) == ("あーし系ギャル", "お嬢様")
    assert "です" in gyaru["register"]["forbids"] and gyaru["register"]["requires_one_of"] == []
    assert "です" in lady["register"]["requires_one_of"] and "まじ" in lady["register"]["forbids"]
    assert lady["prompts"] == {
        "system": "personas/ojousama/system_prompt.txt",
        "rewrite": "personas/ojousama/rewrite_prompt.txt",
        "judge": "personas/ojousama/judge_prompt.txt",
    }
    assert all(row["error"] is None for row in rows.values())


def test_personas_table_and_a_folder_with_labels(tmp_path: Path) -> None:
    butler = make_butler(tmp_path / "butler")
    (butler / "labels.jsonl").write_text(
        '{"standard": "a", "gyaru": "b", "topic": "Daily", "label": "good"}\n\n', encoding="utf-8"
    )
    result = run_client(["personas", "gyaru", str(butler)], cwd=REPO)
    assert result.code == 0, result.stderr
    table = result.stdout
    for text in ("gyaru *", "あーし系ギャル", "執事", "私め", "needs one of: ます です",
                 "never: まじ じゃん やばい", "judge_prompt.txt", "labels.jsonl (1 pairs)"):  # fmt: skip
        assert text in table, text
    assert "ojousama" not in table


def test_personas_dirs_are_listed_and_a_broken_persona_exits_2(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    make_butler(mine / "butler")
    make_butler(mine / "broken")
    (mine / "broken" / "judge_prompt.txt").unlink()
    config = tmp_path / "c.yaml"
    config.write_text(f"personas_dirs: [{mine}]\npersona: butler\n", encoding="utf-8")
    result = run_client(["personas", "--config", str(config), "--json"], cwd=REPO)
    assert result.code == 2
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert {"gyaru", "ojousama", "butler", "broken"} <= set(rows)
    assert rows["butler"]["default"] and not rows["gyaru"]["default"]
    assert rows["broken"]["error"].startswith(
        f"persona folder {mine / 'broken'} lacks judge_prompt.txt"
    )
    assert f"client personas: broken: {rows['broken']['error']}" in result.stderr


# -- a third persona, from a folder alone ------------------------------------------------


@pytest.mark.loopback
def test_a_persona_folder_alone_runs_end_to_end(tmp_path: Path) -> None:
    butler = make_butler(tmp_path / "butler")
    out = tmp_path / "out"
    with PersonaServer(first_person="私め") as server:
        result = client(
            "generate", "--persona", str(butler), "--base-url", server.base_url,
            "--output-dir", str(out), "--run-id", "b1", "--no-progress",
            "--batches", "2", "--pairs-per-batch", "4",
        )  # fmt: skip
        bodies = [r.body for r in server.chat_requests]
        judged = [r.body for r in server.judge_requests]
    assert result.code == 0, result.stderr

    settings = load_settings(
        persona=str(butler), overrides={"generation": {"num_pairs_per_batch": 4}}
    )
    expected_system = prompt_set(settings).system
    assert "私め" in expected_system and "Service / Daily" in expected_system
    for body in bodies:
        assert body["messages"][0]["content"] == expected_system  # her own prompt file
        props = item_schema(body["response_format"])["items"]["properties"]
        assert props["topic"]["enum"] == ["Service", "Daily"]
        assert "私め" in props["gyaru"]["pattern"]
    assert judged and all("執事（一人称「私め」）" in b["messages"][0]["content"] for b in judged)

    data = json.loads((out / "processed" / "gyaru_dataset_b1.json").read_text(encoding="utf-8"))
    assert len(data["pairs"]) == 8 and data["metadata"]["summary"]["rejections"] == {}
    assert data["metadata"]["persona"] == "執事"
    assert data["metadata"]["config"]["prompt"]["system_prompt_path"] == str(
        butler / "system_prompt.txt"
    )
    # Her polite lines pass her rules; the gyaru's rules would turn every one down.
    gyaru = load_settings(persona="gyaru")
    assert gyaru.checks.voice != settings.checks.voice

    # Export and stats take her from the dataset: her system turn, 私め counted.
    train = tmp_path / "train.jsonl"
    exported = client(
        "export", "b1", "--output-dir", str(out), "--format", "openai-chat", "--out", str(train)
    )
    assert exported.code == 0, exported.stderr
    turns = {
        json.loads(line)["messages"][0]["content"]
        for line in train.read_text(encoding="utf-8").splitlines()
    }
    assert turns == {BUTLER_YAML["export"]["system_prompt"]}
    stats = run_client(["stats", "b1", "--output-dir", str(out), "--json"], cwd=REPO)
    assert stats.code == 0, stats.stderr
    assert json.loads(stats.stdout)["with_first_person"] == 8


# -- bad input: one line, exit 2 ---------------------------------------------------------


def _one_line(result: Result) -> str:
    assert result.code == 2, result.stderr
    assert "Traceback" not in result.stderr
    return result.error


def test_unknown_persona_lists_the_available_ones(tmp_path: Path) -> None:
    # From a folder of the user's own: the shipped personas are still found.
    error = _one_line(client("generate", "--persona", "nobody", cwd=tmp_path))
    assert error.startswith("--persona: unknown persona 'nobody'; available: gyaru, ojousama (in ")


def test_a_folder_missing_its_prompts(tmp_path: Path) -> None:
    butler = make_butler(tmp_path / "butler")
    (butler / "system_prompt.txt").unlink()
    (butler / "rewrite_prompt.txt").unlink()
    error = _one_line(client("check", "--persona", str(butler)))
    assert error == (
        f"persona folder {butler} lacks system_prompt.txt, rewrite_prompt.txt (a persona "
        "folder holds persona.yaml, system_prompt.txt, rewrite_prompt.txt and judge_prompt.txt)"
    )


def test_a_persona_yaml_with_unknown_keys(tmp_path: Path) -> None:
    butler = make_butler(tmp_path / "butler")
    data = yaml.safe_load((butler / "persona.yaml").read_text(encoding="utf-8"))
    data["persona"]["first_persn"] = "私"
    data["generaton"] = {"temperature": 1}
    (butler / "persona.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    for command in ("generate", "stats", "export", "review", "bench", "judge", "calibrate"):
        error = _one_line(client(command, "--persona", str(butler), *_positional(command)))
        assert error == (
            f"{butler / 'persona.yaml'}: unknown key 'persona.first_persn'; "
            f"{butler / 'persona.yaml'}: unknown key 'generaton'"
        ), command


def _positional(command: str) -> list[str]:
    if command == "export":
        return ["x", "--format", "alpaca", "--out", "o.jsonl"]
    return ["x"] if command in ("stats", "review", "judge") else []


def test_the_old_config_file_is_gone_and_says_so() -> None:
    """config/ojousama.yaml moved into personas/ojousama/: a stale command fails plainly."""
    error = _one_line(client("generate", "--config", "config/ojousama.yaml"))
    assert error == "config file not found: config/ojousama.yaml"
