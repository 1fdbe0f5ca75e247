"""deploy/k8s/ is compose.yaml's cluster set-up for Kubernetes, and the real tools accept it.

The manifests are rendered by the real kustomize (`kubectl kustomize`, tests/compose/
k8s.py) and every object is checked against Kubernetes' own API types; compose.yaml is
resolved by the real Compose binary with the `cluster` profile. It proves:

- `kubectl apply -k deploy/k8s` would create one namespace holding the vLLM servers,
  the router with its RBAC and Service, and the client Job with its volumes;
- the vLLM Deployment runs compose's image, entrypoint and exact flags, serves on the
  port compose's health check asks, probes /health with compose's interval, timeout
  and retries after a start-up allowance at least compose's start period, requests the
  GPUs compose reserves, keeps the model cache on a volume at compose's path, shares
  memory as `ipc: host` does, and takes its secrets from a Secret, never its arguments;
- the router runs compose's router image and flags (policy, ports, metrics) through
  vllm-router's own parser, with service discovery in place of worker URLs: a selector
  that matches the vLLM pods and nothing else, their port, its own namespace, and a Role
  that lets it watch pods and nothing more;
- the client Job runs `client generate` (parsed by the client's own parser) against the
  router Service's port, as compose's non-root user, with outputs on a volume, and
  resumes the same run when its pod is restarted.
"""

from __future__ import annotations

import json
import shutil
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.compose.k8s import container, find, render, schema_errors
from tests.compose.test_compose import (
    COMPOSE_FILE,
    Service,
    assigned_gpus,
    compose_binary,
    flag_value,
    go_duration_s,
    resolve,
    services_of,
)
from tests.compose.test_router_compose import parse

Objects = list[dict[str, Any]]


@pytest.fixture(scope="module")
def objects() -> Objects:
    return render()


@pytest.fixture(scope="module")
def compose_model(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    project = tmp_path_factory.mktemp("compose")
    shutil.copy(COMPOSE_FILE, project / "compose.yaml")
    return resolve(compose_binary(), project, profiles=["cluster"])


@pytest.fixture(scope="module")
def compose(compose_model: dict[str, Any]) -> dict[str, Service]:
    return services_of(compose_model)


def namespace(objects: Objects) -> str:
    (ns,) = [o for o in objects if o["kind"] == "Namespace"]
    name: str = ns["metadata"]["name"]
    return name


def env_of(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in spec.get("env", [])}


def port_named(spec: dict[str, Any], name: str) -> int:
    (port,) = [p["containerPort"] for p in spec["ports"] if p["name"] == name]
    return int(port)


def healthcheck_url(service: Service) -> Any:
    """The URL compose's health check asks for (python3 -c "...urlopen('URL'...)")."""
    (url,) = [w for w in " ".join(service["healthcheck"]["test"]).split("'") if "://" in w]
    return urlsplit(url)


# --- the whole ------------------------------------------------------------------------


def test_kustomize_renders_everything_into_one_namespace(objects: Objects) -> None:
    kinds = sorted((o["kind"], o["metadata"]["name"]) for o in objects)
    assert kinds == [
        ("Deployment", "vllm"),
        ("Deployment", "vllm-router"),
        ("Job", "client-generate"),
        ("Namespace", "gyaru-datagen"),
        ("PersistentVolumeClaim", "client-outputs"),
        ("PersistentVolumeClaim", "huggingface-cache"),
        ("Role", "vllm-router"),
        ("RoleBinding", "vllm-router"),
        ("Service", "vllm-router"),
        ("ServiceAccount", "vllm-router"),
    ]
    ns = namespace(objects)
    for obj in objects:
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == ns, obj["metadata"]


def test_every_object_has_only_fields_the_kubernetes_api_defines(objects: Objects) -> None:
    errors = [error for obj in objects for error in schema_errors(obj)]
    assert not errors, "\n".join(errors)


def test_the_schema_check_catches_a_misplaced_field_and_a_number_for_a_string(
    objects: Objects,
) -> None:
    """Guards the guard: the two mistakes the API server would refuse."""
    broken = json.loads(json.dumps(find(objects, "Deployment", "vllm")))
    spec = container(broken)
    spec["readinesProbe"] = spec.pop("readinessProbe")
    spec["args"][spec["args"].index("--port") + 1] = 8000
    errors = schema_errors(broken)
    assert any(e.endswith("readinesProbe: no such field in V1Container") for e in errors)
    assert any("8000 is not a str" in e for e in errors)


# --- vLLM -------------------------------------------------------------------------------


def test_vllm_runs_composes_image_entrypoint_and_flags(
    objects: Objects, compose: dict[str, Service]
) -> None:
    spec = container(find(objects, "Deployment", "vllm"))
    served = compose["vllm"]
    assert spec["image"] == served["image"]
    assert spec["command"] == served["entrypoint"]
    assert spec["args"] == served["command"]
    assert "--api-key" not in spec["args"]


def test_vllm_serves_and_is_probed_where_composes_health_check_asks(
    objects: Objects, compose: dict[str, Service]
) -> None:
    spec = container(find(objects, "Deployment", "vllm"))
    url = healthcheck_url(compose["vllm"])
    port = int(flag_value(spec["args"], "--port"))
    assert port_named(spec, "http") == port == url.port
    check = compose["vllm"]["healthcheck"]
    for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
        probe = spec[kind]
        assert (probe["httpGet"]["path"], probe["httpGet"]["port"]) == (url.path, "http"), kind
        assert probe["timeoutSeconds"] == go_duration_s(check["timeout"]), kind
    liveness, startup = spec["livenessProbe"], spec["startupProbe"]
    assert liveness["periodSeconds"] == go_duration_s(check["interval"])
    assert liveness["failureThreshold"] == check["retries"]
    allowance = startup["periodSeconds"] * startup["failureThreshold"]
    assert allowance >= go_duration_s(check["start_period"])


def test_vllm_requests_composes_gpus_and_a_replica_per_compose_server(
    objects: Objects, compose: dict[str, Service]
) -> None:
    deployment = find(objects, "Deployment", "vllm")
    spec = container(deployment)
    gpus = int(spec["resources"]["limits"]["nvidia.com/gpu"])
    assert gpus == len(assigned_gpus(compose["vllm"]))
    assert gpus == int(flag_value(spec["args"], "--tensor-parallel-size"))
    servers = [name for name in compose if name.startswith("vllm")]
    assert deployment["spec"]["replicas"] == len(servers) == 2
    # Replacing a pod never asks for a GPU more than the replicas hold.
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == 0


def test_vllm_keeps_the_model_cache_on_a_volume_and_shares_memory(
    objects: Objects, compose: dict[str, Service]
) -> None:
    deployment = find(objects, "Deployment", "vllm")
    spec = container(deployment)
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    mounts = {m["mountPath"]: volumes[m["name"]] for m in spec["volumeMounts"]}
    (cache_target,) = [v["target"] for v in compose["vllm"]["volumes"]]
    claim = mounts[cache_target]["persistentVolumeClaim"]["claimName"]
    assert find(objects, "PersistentVolumeClaim", claim)
    # compose's `ipc: host`: /dev/shm in memory, not the container's 64 MB.
    assert compose["vllm"]["ipc"] == "host"
    assert mounts["/dev/shm"]["emptyDir"]["medium"] == "Memory"


def test_vllm_secrets_come_from_a_secret_never_the_command_line(
    objects: Objects, compose: dict[str, Service]
) -> None:
    spec = container(find(objects, "Deployment", "vllm"))
    env = env_of(spec)
    passed_through = {k for k, v in compose["vllm"]["environment"].items() if v is None}
    assert set(env) == passed_through == {"HF_TOKEN", "VLLM_API_KEY"}
    for name, var in env.items():
        ref = var["valueFrom"]["secretKeyRef"]
        assert (ref["key"], ref["optional"]) == (name, True)
        assert "value" not in var


# --- the router -------------------------------------------------------------------------


def router_spec(objects: Objects) -> dict[str, Any]:
    return container(find(objects, "Deployment", "vllm-router"))


def parsed_router_args(objects: Objects) -> Any:
    """The router's arguments through vllm-router's parser, $(VAR) filled as Kubernetes does."""
    spec = router_spec(objects)
    env = env_of(spec)
    assert env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    args = [a.replace("$(POD_NAMESPACE)", namespace(objects)) for a in spec["args"]]
    return parse(args)


def test_router_runs_composes_image_and_flags_with_service_discovery(
    objects: Objects, compose: dict[str, Service]
) -> None:
    spec = router_spec(objects)
    router = compose["router"]
    assert spec["image"] == router["image"]
    assert spec["command"] == router["entrypoint"]
    ours, theirs = parsed_router_args(objects), parse(router["command"])
    for field in ("host", "port", "policy", "prometheus_host", "prometheus_port"):
        assert getattr(ours, field) == getattr(theirs, field), field
    assert ours.service_discovery is True
    assert ours.worker_urls == []
    assert ours.service_discovery_namespace == namespace(objects)


def test_router_discovers_the_vllm_pods_at_their_port_and_nothing_else(objects: Objects) -> None:
    args = parsed_router_args(objects)
    assert args.selector, "an empty selector matches no pod"
    vllm = find(objects, "Deployment", "vllm")
    labels = vllm["spec"]["template"]["metadata"]["labels"]
    assert args.selector.items() <= labels.items()
    assert args.service_discovery_port == port_named(container(vllm), "http")
    for other in ("vllm-router",):
        others = find(objects, "Deployment", other)["spec"]["template"]["metadata"]["labels"]
        assert not args.selector.items() <= others.items(), f"the selector matches {other}"
    job_labels = find(objects, "Job", "client-generate")["spec"]["template"]["metadata"]["labels"]
    assert not args.selector.items() <= job_labels.items()


def test_router_may_watch_pods_and_nothing_more(objects: Objects) -> None:
    pod_spec = find(objects, "Deployment", "vllm-router")["spec"]["template"]["spec"]
    account = pod_spec["serviceAccountName"]
    assert find(objects, "ServiceAccount", account)
    binding = find(objects, "RoleBinding", account)
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account, "namespace": namespace(objects)}
    ]
    role = find(objects, "Role", binding["roleRef"]["name"])
    assert binding["roleRef"]["kind"] == "Role", "a ClusterRole would reach every namespace"
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}
    ]


def test_router_ports_probes_and_service_agree_with_compose(
    objects: Objects, compose: dict[str, Service]
) -> None:
    spec = router_spec(objects)
    args = parsed_router_args(objects)
    targets = {p["target"] for p in compose["router"]["ports"]}
    assert {port_named(spec, "http"), port_named(spec, "metrics")} == targets
    assert (port_named(spec, "http"), port_named(spec, "metrics")) == (
        args.port,
        args.prometheus_port,
    )
    assert healthcheck_url(compose["router"]).path == spec["readinessProbe"]["httpGet"]["path"]
    assert spec["readinessProbe"]["httpGet"]["port"] == "http"
    assert spec["livenessProbe"]["httpGet"]["path"] == "/liveness"
    service = find(objects, "Service", "vllm-router")
    pod_labels = find(objects, "Deployment", "vllm-router")["spec"]["template"]["metadata"]
    assert service["spec"]["selector"].items() <= pod_labels["labels"].items()
    assert {(p["name"], p["targetPort"]) for p in service["spec"]["ports"]} == {
        ("http", "http"),
        ("metrics", "metrics"),
    }


# --- the client Job ---------------------------------------------------------------------


def test_client_job_generates_through_the_router_service(objects: Objects) -> None:
    from client.cli.main import build_parser

    job = find(objects, "Job", "client-generate")
    spec = container(job)
    assert spec["command"] == ["client"]
    args = build_parser().parse_args(spec["args"])
    assert args.command == "generate"
    url = urlsplit(env_of(spec)["GYARU_SERVER__BASE_URL"]["value"])
    service = find(objects, "Service", "vllm-router")
    (http,) = [p for p in service["spec"]["ports"] if p["name"] == "http"]
    assert (url.hostname, url.port, url.path) == (service["metadata"]["name"], http["port"], "/v1")
    assert float(env_of(spec)["GYARU_SERVER__WAIT_S"]["value"]) >= 1200
    key = env_of(spec)["VLLM_API_KEY"]["valueFrom"]["secretKeyRef"]
    assert (key["key"], key["optional"]) == ("VLLM_API_KEY", True)


def test_client_job_is_composes_client_on_a_volume_and_resumes_its_run(
    objects: Objects, compose_model: dict[str, Any], compose: dict[str, Service]
) -> None:
    from client.cli.main import build_parser

    job = find(objects, "Job", "client-generate")
    pod = job["spec"]["template"]["spec"]
    spec = container(job)
    client = compose["client"]
    name, _, tag = spec["image"].partition(":")
    # compose names the image it builds for `client` after the project.
    assert name == f"{compose_model['name']}-client" and tag and tag != "latest"
    assert spec["command"] == client["entrypoint"]
    uid, _, gid = client["user"].partition(":")
    context = pod["securityContext"]
    assert (context["runAsUser"], context["runAsGroup"]) == (int(uid), int(gid))
    assert context["runAsNonRoot"] is True
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: volumes[m["name"]] for m in spec["volumeMounts"]}
    (outputs_target,) = [v["target"] for v in client["volumes"] if v["target"].endswith("outputs")]
    claim = mounts[outputs_target]["persistentVolumeClaim"]["claimName"]
    assert find(objects, "PersistentVolumeClaim", claim)
    # A restarted pod reruns the same command: a fixed run id makes that a resume.
    assert pod["restartPolicy"] == "OnFailure"
    assert build_parser().parse_args(spec["args"]).run_id
