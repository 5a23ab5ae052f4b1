"""The package's layers, read from the source: imports run from the surfaces down to the pipeline,
never back up, and no module takes part in an import cycle. No module is imported to check this."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "bot"
# Lower layers first; a module may import its own layer and those below it.
LAYERS = ["base", "pipeline", "curation", "chat", "ops", "surface"]


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in ("pipeline", "curation", "chat", "ops"):
        return parts[1]
    if len(parts) > 1 and parts[1] in ("cli", "app", "__main__"):
        return "surface"
    return "base"


@functools.cache
def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ["bot", *path.relative_to(PACKAGE).with_suffix("").parts]
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(path: Path, known: set[str]) -> set[str]:
    """The package's modules this file imports, at the top or inside functions."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return {n for n in names if n in known}


@functools.cache
def _graph() -> dict[str, frozenset[str]]:
    modules = _modules()
    return {m: frozenset(_imports(p, set(modules)) - {m}) for m, p in modules.items()}


def test_the_layers_are_folders_of_their_own() -> None:
    layers = {_layer(m) for m in _modules()}
    assert layers == set(LAYERS)


@pytest.mark.parametrize("module", sorted(_modules()))
def test_imports_run_down_the_layers(module: str) -> None:
    graph = _graph()
    upward = sorted(d for d in graph[module] if LAYERS.index(_layer(d)) > LAYERS.index(_layer(module)))
    assert not upward, f"{module} ({_layer(module)}) imports a higher layer: {upward}"


def test_no_module_takes_part_in_an_import_cycle() -> None:
    graph = _graph()
    packages = {m for m in graph if (PACKAGE / "/".join(m.split(".")[1:]) / "__init__.py").is_file()}
    # A package's __init__ re-exporting its modules is not a cycle with them.
    edges = {m: {d for d in ds if not (d in packages and m.startswith(d + "."))} for m, ds in graph.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    assert not cycles, f"import cycles: {cycles}"
