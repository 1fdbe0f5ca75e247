"""The shape of client/: which layer may import which, no import cycles, small modules
and functions, one module that retries (the only one importing tenacity), and a run
with no phase-order asserts. Walks the source with ast, so imports inside functions
count too.

    cli      -> anything below; nothing imports cli, and no command imports cli.main
    web      -> storage, pairs, root  (the review page's server; only cli imports it)
    run      -> server, storage, pairs, root
    server   -> pairs, root
    storage  -> pairs, root
    pairs    -> root
    root     -> root  (config, errors, log, redact, clock)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "client"
LAYERS = ("cli", "web", "run", "server", "storage", "pairs")
ALLOWED: dict[str, set[str]] = {
    "cli": {"cli", "web", "run", "server", "storage", "pairs", "root"},
    "web": {"web", "storage", "pairs", "root"},
    "run": {"run", "server", "storage", "pairs", "root"},
    "server": {"server", "pairs", "root"},
    "storage": {"storage", "pairs", "root"},
    "pairs": {"pairs", "root"},
    "root": {"root"},
}
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "root"


def sources() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path, modules: set[str]) -> Iterator[tuple[str, int]]:
    """The client modules a file imports (the most specific known module of each name)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        for name in names:
            if name.split(".")[0] != "client":
                continue
            while name not in modules and "." in name:
                name = name.rsplit(".", 1)[0]
            if name in modules:
                yield name, node.lineno
                break


def graph() -> dict[str, dict[str, int]]:
    found = sources()
    edges: dict[str, dict[str, int]] = {}
    for module, path in found.items():
        edges[module] = {
            target: line for target, line in imports(path, set(found)) if target != module
        }
    return edges


def test_the_walk_sees_the_layers() -> None:
    # A walk that finds nothing would pass every rule below.
    edges = graph()
    assert {layer(m) for m in edges} == {*LAYERS, "root"}
    assert "client.run.prepare" in edges["client.run.generate"]
    assert "client.pairs.records" in edges["client.storage.batch_record"]


def layer_violations(edges: dict[str, dict[str, int]]) -> list[str]:
    problems = []
    for module, targets in edges.items():
        for target, line in targets.items():
            source_layer, target_layer = layer(module), layer(target)
            if target_layer not in ALLOWED[source_layer]:
                problems.append(f"{module}:{line} ({source_layer}) imports {target}")
            elif target == "client.cli.main" and module != "client.cli.__main__":
                problems.append(f"{module}:{line} imports the cli root (commands must not)")
    return problems


def cycles(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in edges:
        if node not in index:
            visit(node)
    return found


def test_layers_import_only_downwards() -> None:
    assert layer_violations(graph()) == []


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_the_rules_catch_what_they_forbid() -> None:
    edges = {
        "client.pairs.schema": {"client.storage.layout": 3},
        "client.server.api": {"client.storage.atomic": 4},
        "client.run.job": {"client.cli.args": 5},
        "client.cli.check": {"client.cli.main": 6},
        "client.errors": {"client.pairs.records": 7},
        "client.run.generate": {"client.storage.layout": 8},
    }
    assert len(layer_violations(edges)) == 5
    assert cycles({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.name))
def test_modules_and_functions_are_small(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) < MAX_MODULE_LINES, f"{path}: split this module"
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 >= MAX_FUNCTION_LINES
    ]
    assert long == [], f"{path}: functions over {MAX_FUNCTION_LINES} lines"


def third_party_importers(package: str) -> set[str]:
    """The client modules that import `package`."""
    found = set()
    for module, path in sources().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            if any(name.split(".")[0] == package for name in names):
                found.add(module)
    return found


def test_one_module_owns_retrying() -> None:
    # Every request kind goes through the one attempt loop, over the one retry policy.
    assert third_party_importers("tenacity") == {"client.server.retry"}


def test_the_run_is_whole_from_the_start() -> None:
    """No step of a run waits for another to fill a field in (run.prepare returns a
    whole `Prepared`), so no `assert x is not None` holds the order together."""
    waiting = [
        f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
        for path in sorted((PACKAGE / "run").rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Assert)
        and isinstance(node.test, ast.Compare)
        and any(isinstance(op, ast.IsNot) for op in node.test.ops)
    ]
    assert waiting == []
