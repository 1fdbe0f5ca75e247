"""compose.yaml's `cluster` profile: both GPU servers behind vLLM's router, and its client.

The services come from the real Docker Compose binary (`config --format json`, as in
tests/compose/test_compose.py); the router's resolved command then goes through
vllm-router's own argument parser (`parse_router_args`, what the `vllm-router`
console script runs first) from the pinned dev dependency, and, with only the server
URLs and ports swapped for loopback ones, is started as the real router in front of a
loopback server: the flags compose passes are ones the router runs with. It proves:

- `--profile cluster` adds vllm-2, the router and `client-cluster` to the default
  project, and the router waits for both servers to be healthy;
- the router image is built from docker/router at the vllm-router version the tests
  run, under a local name that is never pulled;
- the router listens on the port compose publishes, sends to both servers at the port
  they serve on, uses ROUTER_POLICY (cache_aware by default), publishes its Prometheus
  port, and is healthy only through /readiness;
- `client-cluster` is the client but for its URL (the router's) and what it waits for;
- `.env` overrides (policy, worker URLs, extra flags) reach the parsed arguments, and
  a policy the router does not know is refused by its parser.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.compose.test_compose import (
    Service,
    flag_value,
    go_duration_s,
    image_parts,
    resolve,
    services_of,
)
from tests.fakeserver import FakeServer
from tests.routerproc import free_port, get_json, pinned_version, running_argv

ROUTER_PORT = 30000
ROUTER_METRICS_PORT = 29000
SERVER_PORT = 8000


def cluster(
    binary: Path, project: Path, env: Mapping[str, str] | None = None
) -> dict[str, Service]:
    return services_of(resolve(binary, project, profiles=["cluster"], env=env))


def parse(argv: list[str]) -> Any:
    """vllm-router's own parser (the console script's first step); SystemExit on bad flags."""
    from vllm_router.launch_router import parse_router_args

    args = parse_router_args(argv)
    args._validate_router_args()
    return args


def router_args(service: Service) -> Any:
    assert service["entrypoint"] == ["vllm-router"]
    return parse(service["command"])


def test_cluster_profile_adds_the_replica_the_router_and_its_client(
    binary: Path, project: Path
) -> None:
    services = cluster(binary, project)
    assert set(services) == {"vllm", "vllm-2", "router", "client", "client-cluster"}
    assert services["router"]["profiles"] == ["cluster"]
    assert services["client-cluster"]["profiles"] == ["cluster"]
    assert services["router"]["depends_on"] == {
        "vllm": {"condition": "service_healthy", "required": True},
        "vllm-2": {"condition": "service_healthy", "required": True},
    }
    # The default project is untouched: no router, no cluster client.
    assert set(services_of(resolve(binary, project))) == {"vllm", "client"}


def test_running_the_cluster_client_starts_the_router_and_both_servers(
    binary: Path, project: Path
) -> None:
    """`docker compose --profile cluster run --rm client-cluster generate ...`."""
    services = services_of(
        resolve(binary, project, profiles=["cluster"], services=["client-cluster"])
    )
    assert set(services) == {"client-cluster", "router", "vllm", "vllm-2"}
    assert services["client-cluster"]["depends_on"] == {
        "router": {"condition": "service_healthy", "required": True}
    }


def test_router_image_is_built_locally_at_the_tested_version(binary: Path, project: Path) -> None:
    router = cluster(binary, project)["router"]
    assert Path(router["build"]["context"]) == project / "docker" / "router"
    assert router["build"]["args"]["VLLM_ROUTER_VERSION"] == pinned_version()
    name, tag = image_parts(router["image"])
    assert "/" not in name, f"{name} looks like a registry image"
    assert tag == pinned_version()
    assert router["pull_policy"] == "build"


def test_router_command_parses_and_fronts_both_servers(binary: Path, project: Path) -> None:
    services = cluster(binary, project)
    args = router_args(services["router"])
    assert (args.host, args.port) == ("0.0.0.0", ROUTER_PORT)
    assert args.policy == "cache_aware"
    assert not args.service_discovery
    # Each server by its service name, at the port its own command serves on.
    for name in ("vllm", "vllm-2"):
        assert int(flag_value(services[name]["command"], "--port")) == SERVER_PORT
    assert args.worker_urls == [f"http://vllm:{SERVER_PORT}", f"http://vllm-2:{SERVER_PORT}"]
    assert (args.prometheus_host, args.prometheus_port) == ("0.0.0.0", ROUTER_METRICS_PORT)
    assert args.api_key is None, "the servers check the client's own key"


def test_router_publishes_its_api_and_metrics_on_loopback(binary: Path, project: Path) -> None:
    router = cluster(binary, project)["router"]
    ports = {p["target"]: p for p in router["ports"]}
    assert set(ports) == {ROUTER_PORT, ROUTER_METRICS_PORT}
    assert {p["host_ip"] for p in ports.values()} == {"127.0.0.1"}
    assert ports[ROUTER_PORT]["published"] == str(ROUTER_PORT)
    assert ports[ROUTER_METRICS_PORT]["published"] == str(ROUTER_METRICS_PORT)


def test_router_is_healthy_only_through_readiness(binary: Path, project: Path) -> None:
    check = cluster(binary, project)["router"]["healthcheck"]
    assert check["test"][:2] == ["CMD", "python3"]
    # /health always answers 200; /readiness answers 503 while no server is healthy.
    assert f"http://127.0.0.1:{ROUTER_PORT}/readiness" in " ".join(check["test"])
    assert go_duration_s(check["start_period"]) >= 10
    assert check.get("disable") is not True


def test_cluster_client_is_the_client_but_for_the_router(binary: Path, project: Path) -> None:
    services = cluster(binary, project)
    client, cc = services["client"], services["client-cluster"]
    url = cc["environment"]["GYARU_SERVER__BASE_URL"]
    assert url == f"http://router:{ROUTER_PORT}/v1"
    assert json.loads(cc["environment"]["GYARU_SERVER__BASE_URLS"]) == []
    shared_env = {k: v for k, v in client["environment"].items() if not k.endswith("BASE_URL")}
    assert {k: v for k, v in cc["environment"].items() if not k.endswith("BASE_URL")} == shared_env

    def shared(service: Service) -> Service:
        return {
            k: v for k, v in service.items() if k not in {"depends_on", "profiles", "environment"}
        }

    assert shared(cc) == shared(client)


def test_dotenv_settings_reach_the_routers_arguments(binary: Path, project: Path) -> None:
    (project / ".env").write_text(
        "ROUTER_POLICY=power_of_two\n"
        "ROUTER_WORKER_URLS=http://gpu-a:8000 http://gpu-b:8000 http://gpu-c:8000\n"
        'ROUTER_EXTRA_ARGS="--retry-max-retries 3 --cb-failure-threshold 5"\n'
        "ROUTER_PORT=31000\nROUTER_METRICS_PORT=29100\n"
        "CLIENT_CLUSTER_BASE_URL=http://elsewhere:30000/v1\n",
        encoding="utf-8",
    )
    services = cluster(binary, project)
    args = router_args(services["router"])
    assert args.policy == "power_of_two"
    assert args.worker_urls == ["http://gpu-a:8000", "http://gpu-b:8000", "http://gpu-c:8000"]
    assert (args.retry_max_retries, args.cb_failure_threshold) == (3, 5)
    assert {p["published"] for p in services["router"]["ports"]} == {"31000", "29100"}
    env = services["client-cluster"]["environment"]
    assert env["GYARU_SERVER__BASE_URL"] == "http://elsewhere:30000/v1"


def test_a_policy_the_router_does_not_know_is_refused(binary: Path, project: Path) -> None:
    """Guards the guard: the parser really runs, and rejects what the router would."""
    (project / ".env").write_text("ROUTER_POLICY=fastest\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        router_args(cluster(binary, project)["router"])


def flag_groups(command: list[str]) -> list[list[str]]:
    """The command as [flag, value...] groups, in order."""
    groups: list[list[str]] = []
    for word in command:
        if word.startswith("--") or not groups:
            groups.append([word])
        else:
            groups[-1].append(word)
    return groups


def loopback_argv(command: list[str], worker: str, port: int, metrics_port: int) -> list[str]:
    """compose's resolved router flags with the addresses swapped for loopback ones."""
    swap = {
        "--host": ["127.0.0.1"],
        "--port": [str(port)],
        "--worker-urls": [worker],
        "--prometheus-host": ["127.0.0.1"],
        "--prometheus-port": [str(metrics_port)],
    }
    groups = [[g[0], *swap.pop(g[0], g[1:])] for g in flag_groups(command)]
    assert not swap, f"compose's router command lacks {sorted(swap)}"
    return [word for group in groups for word in group]


@pytest.mark.loopback
def test_the_real_router_runs_with_composes_flags(
    binary: Path, project: Path, tmp_path: Path
) -> None:
    from tests.routerproc import ROUTER_BIN

    service = cluster(binary, project)["router"]
    port, metrics_port = free_port(), free_port()
    with FakeServer(model="m") as fake:
        worker = f"http://127.0.0.1:{fake.port}"
        argv = [str(ROUTER_BIN), *loopback_argv(service["command"], worker, port, metrics_port)]
        assert "--policy" in argv and argv[argv.index("--policy") + 1] == "cache_aware"
        with running_argv(argv, port=port, metrics_port=metrics_port, log_dir=tmp_path) as router:
            status, body = get_json(f"{router.root_url}/readiness")
            assert (status, body) == (
                200,
                {"status": "ready", "healthy_workers": 1, "total_workers": 1},
            )
            status, models = get_json(f"{router.base_url}/models")
            assert status == 200 and isinstance(models, dict)
            assert [m["id"] for m in models["data"]] == ["m"]
