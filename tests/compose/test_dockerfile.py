"""docker/Dockerfile builds a reproducible, non-root client image that runs `client`.

No Docker engine is needed: the Dockerfile and .dockerignore are read as text. It
proves that every image the build pulls is pinned to an explicit version tag (never
`latest`, never a bare name), that dependencies are installed from uv.lock with
`uv sync --locked` in a layer before the source is copied (so editing the code does
not reinstall them), that dev dependencies stay out, that the final user is not root
and the entrypoint is the `client` script, that the Python image satisfies the
project's requires-python, and that the build context lets in what the build copies
and nothing secret (.env) or bulky (.venv, outputs/).
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "docker" / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
PYPROJECT = REPO / "pyproject.toml"

# An explicit version tag: digits and dots, optionally a variant (3.11.14-slim-bookworm).
VERSION_TAG = re.compile(r"^v?\d+(?:\.\d+)+(?:-[A-Za-z0-9.]+)*$")
ROOT_USERS = {"root", "0", "0:0", "root:root"}


@dataclass
class Instruction:
    keyword: str
    args: str


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)


def instructions(text: str) -> list[Instruction]:
    """Dockerfile instructions with continuation lines joined and comments dropped."""
    result: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        pending += line
        keyword, _, args = pending.partition(" ")
        result.append(Instruction(keyword.upper(), args.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return result


def stages(text: str) -> list[Stage]:
    result: list[Stage] = []
    for ins in instructions(text):
        if ins.keyword == "FROM":
            words = [w for w in ins.args.split() if not w.startswith("--")]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            result.append(Stage(base=words[0], name=name))
        else:
            assert result, f"{ins.keyword} before the first FROM"
            result[-1].instructions.append(ins)
    return result


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return DOCKERFILE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def all_stages(dockerfile: str) -> list[Stage]:
    return stages(dockerfile)


def assert_pinned(image: str) -> None:
    assert "$" not in image, f"{image}: a variable hides what is pulled"
    assert "@sha256:" in image or ":" in image.rsplit("/", 1)[-1], f"{image} has no tag"
    tag = image.rsplit("/", 1)[-1].split("@")[0].partition(":")[2]
    assert tag != "latest", f"{image} floats on latest"
    assert VERSION_TAG.match(tag), f"{image}: {tag!r} is not an explicit version"


def pulled_images(all_stages: list[Stage]) -> list[str]:
    """Bases that are not earlier stages, plus images named in COPY --from=."""
    names = {s.name for s in all_stages if s.name}
    images = [s.base for s in all_stages if s.base not in names]
    for stage in all_stages:
        for ins in stage.instructions:
            match = re.search(r"--from=(\S+)", ins.args)
            if ins.keyword == "COPY" and match and match[1] not in names:
                images.append(match[1])
    return images


def test_every_pulled_image_is_pinned_to_a_version(all_stages: list[Stage]) -> None:
    images = pulled_images(all_stages)
    assert images
    for image in images:
        assert_pinned(image)


def test_python_and_uv_come_from_their_official_images(all_stages: list[Stage]) -> None:
    images = pulled_images(all_stages)
    assert any(re.match(r"(docker\.io/(library/)?)?python:3\.\d+", i) for i in images), images
    assert any(i.startswith("ghcr.io/astral-sh/uv:") for i in images), images


def test_python_image_satisfies_requires_python(all_stages: list[Stage]) -> None:
    requires = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["requires-python"]
    minimum = re.match(r">=\s*(\d+)\.(\d+)", requires)
    assert minimum, requires
    final = all_stages[-1].base
    version = re.match(r"(?:.*/)?python:(\d+)\.(\d+)", final)
    assert version, f"the final stage is not a python image: {final}"
    assert (int(version[1]), int(version[2])) >= (int(minimum[1]), int(minimum[2]))


def uv_syncs(all_stages: list[Stage]) -> list[tuple[int, str]]:
    """(position, command) of every `uv sync` across the whole file."""
    flat = [ins for stage in all_stages for ins in stage.instructions]
    return [(i, ins.args) for i, ins in enumerate(flat) if "uv sync" in ins.args]


def test_dependencies_install_from_the_lock_file_without_dev_tools(
    all_stages: list[Stage],
) -> None:
    syncs = uv_syncs(all_stages)
    assert syncs, "no `uv sync` in the Dockerfile"
    for _, command in syncs:
        words = shlex.split(command.split("uv sync", 1)[1])
        assert "--locked" in words or "--frozen" in words, command
        assert "--no-dev" in words, command
    flat = " ".join(ins.args for stage in all_stages for ins in stage.instructions)
    assert "pip install" not in flat, "everything goes through uv.lock"


def test_dependency_layer_comes_before_the_source(all_stages: list[Stage]) -> None:
    flat = [ins for stage in all_stages for ins in stage.instructions]
    syncs = uv_syncs(all_stages)
    deps_only = [i for i, cmd in syncs if "--no-install-project" in cmd]
    assert deps_only, "no dependency-only `uv sync --no-install-project` layer"
    copies_source = [
        i
        for i, ins in enumerate(flat)
        if ins.keyword in {"COPY", "ADD"}
        and "--from" not in ins.args
        and re.search(r"(^|\s)(\.|client)/?(\s|$)", ins.args)
    ]
    assert copies_source, "the client source is never copied"
    assert deps_only[0] < min(copies_source)
    # The dependency layer may see only the lock and the project metadata.
    first = flat[deps_only[0]].args
    sources = set(re.findall(r"--mount=type=bind,source=([^,\s]+)", first))
    assert sources <= {"uv.lock", "pyproject.toml"}, sources


def test_final_user_is_not_root(all_stages: list[Stage]) -> None:
    users = [ins.args for ins in all_stages[-1].instructions if ins.keyword == "USER"]
    assert users, "the final stage never leaves root"
    assert users[-1].strip() not in ROOT_USERS


def test_entrypoint_runs_the_client_script(all_stages: list[Stage]) -> None:
    entrypoints = [ins.args for ins in all_stages[-1].instructions if ins.keyword == "ENTRYPOINT"]
    assert entrypoints, "no ENTRYPOINT in the final stage"
    # Exec form: signals reach the client directly, not a shell.
    assert json.loads(entrypoints[-1]) == ["client"]


def test_final_stage_holds_no_build_tool(all_stages: list[Stage]) -> None:
    final = all_stages[-1]
    copied_from = [
        re.search(r"--from=(\S+)", ins.args)
        for ins in final.instructions
        if ins.keyword == "COPY" and "--from" in ins.args
    ]
    assert all(m and m[1] != "uv" for m in copied_from), "uv is not needed at run time"
    assert not any("uv sync" in ins.args for ins in final.instructions)


# --- .dockerignore -------------------------------------------------------------------


def ignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _matches(pattern: str, path: str) -> bool:
    pattern = pattern.strip("/")
    if pattern.startswith("**/"):
        tail = pattern[3:]
        parts = path.split("/")
        return any(fnmatch.fnmatchcase("/".join(parts[i:]), tail) for i in range(len(parts)))
    return fnmatch.fnmatchcase(path, pattern)


def excluded(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    verdict = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        body = pattern[1:] if negate else pattern
        if any(_matches(body, c) for c in candidates):
            verdict = not negate
    return verdict


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        ".env.local",
        ".venv/bin/python",
        "outputs/raw/batch.json",
        ".git/config",
        "tests/compose/test_compose.py",
        "client/__pycache__/cli.cpython-311.pyc",
    ],
)
def test_build_context_leaves_out_secrets_and_bulk(path: str) -> None:
    assert excluded(path, ignore_patterns()), f"{path} would be sent to the Docker build"


def copied_sources(all_stages: list[Stage]) -> set[str]:
    sources: set[str] = set()
    for stage in all_stages:
        for ins in stage.instructions:
            if ins.keyword in {"COPY", "ADD"} and "--from" not in ins.args:
                words = [w for w in ins.args.split() if not w.startswith("--")]
                sources.update(w.rstrip("/") for w in words[:-1])
            sources.update(re.findall(r"--mount=type=bind,source=([^,\s]+)", ins.args))
    return sources


def test_build_context_lets_in_everything_the_build_copies(all_stages: list[Stage]) -> None:
    sources = copied_sources(all_stages)
    assert {"pyproject.toml", "uv.lock", "client"} <= sources
    patterns = ignore_patterns()
    for source in sorted(sources):
        assert (REPO / source).exists(), f"the build copies {source}, which does not exist"
        probe = f"{source}/__init__.py" if (REPO / source).is_dir() else source
        assert not excluded(probe, patterns), f".dockerignore keeps out {source}"
