"""The import graph of `shared` and `services`: no cycle anywhere (imports made only for type
checking count too), and no import hidden inside a function to dodge one."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("shared", "services")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, ast.Module]:
    return {
        _module_name(path): ast.parse(path.read_text(), str(path))
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


MODULES = _sources()


def _imported(node: ast.Import | ast.ImportFrom, module: str) -> set[str]:
    """The project modules an import statement names (a `from package import module` names
    the module, else the package)."""
    if isinstance(node, ast.Import):
        names = {alias.name for alias in node.names}
    else:
        base = node.module or ""
        if node.level:
            package = module.split(".")[: -node.level] if node.level else []
            base = ".".join([*package, base]) if base else ".".join(package)
        names = {f"{base}.{alias.name}" for alias in node.names} | {base}
    found = set()
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name:
            found.add(name)
    return found


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, tree in MODULES.items():
        edges: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                edges |= _imported(node, module)
        # A package's __init__ is imported on the way to its modules, not by them.
        graph[module] = {target for target in edges if target != module}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _package_edge(module: str, target: str) -> bool:
    """`from package import module` also names the package: an edge from a module of the
    package to its own `__init__` is only the way in, never a cycle of meaning."""
    return module.startswith(target + ".")


def test_no_import_cycle_anywhere() -> None:
    graph = {
        module: {t for t in targets if not _package_edge(module, t)}
        for module, targets in _graph().items()
    }
    assert _cycles(graph) == []


def test_no_import_inside_a_function() -> None:
    hidden = []
    for module, tree in MODULES.items():
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    hidden.append(f"{module}:{node.lineno}")
    assert hidden == []


def test_the_graph_is_read() -> None:
    """The checks above would pass on an empty graph: this one can fail."""
    graph = _graph()
    assert "services.badges.awarding" in graph["services.badges.handlers.instances"]
    assert "shared.context" in graph["shared.request_dispatch"]
