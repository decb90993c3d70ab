"""How the package's modules may import each other (docs/architecture.md), read from the source.

Imports at module level count, ``if TYPE_CHECKING:`` ones included (a cycle of type-only
imports still ties the modules together for a reader); imports inside functions do not (they
are how an entry point or an optional part is loaded late). The root package is left out: every
module may import ``__version__`` from it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "jupyter_spackcache"
FRONT_DOORS = ("cli", "server", "magics")


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in (ROOT / PACKAGE).rglob("*.py")}


def _module_level(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    for stmt in body:
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            yield stmt
        elif isinstance(stmt, ast.If):  # TYPE_CHECKING and the like
            yield from _module_level(stmt.body)
            yield from _module_level(stmt.orelse)
        elif isinstance(stmt, ast.Try):
            yield from _module_level(stmt.body)


def imports_of(name: str) -> set[str]:
    """The package's modules that module ``name`` imports at module level."""
    path = MODULES[name]
    here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for stmt in _module_level(ast.parse(path.read_text()).body):
        if isinstance(stmt, ast.Import):
            found.update(alias.name for alias in stmt.names)
            continue
        if stmt.level:
            base = here[: len(here) - (stmt.level - 1)]
            module = ".".join([*base, *([stmt.module] if stmt.module else [])])
        else:
            module = stmt.module or ""
        submodules = {f"{module}.{a.name}" for a in stmt.names} & MODULES.keys()
        found.update(submodules)
        if len(submodules) < len(stmt.names):
            found.add(module)
    return {m for m in found if m in MODULES and m not in {name, PACKAGE}}


GRAPH = {name: imports_of(name) for name in MODULES if name != PACKAGE}


def room(module: str) -> str:
    """The package (``install``) or top-level module (``config``) a module belongs to."""
    return module.split(".")[1]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_cycles_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_modules() -> None:
    assert cycles(GRAPH) == []


def test_no_import_cycle_between_packages() -> None:
    rooms: dict[str, set[str]] = {}
    for module, imported in GRAPH.items():
        rooms.setdefault(room(module), set()).update(
            room(m) for m in imported if room(m) != room(module)
        )
    assert cycles(rooms) == []


@pytest.mark.parametrize("door", FRONT_DOORS)
def test_only_front_doors_import_front_doors(door: str) -> None:
    """The core and the operations layer never depend on how they are presented."""
    users = sorted(
        module
        for module, imported in GRAPH.items()
        if room(module) not in FRONT_DOORS and any(room(m) == door for m in imported)
    )
    assert users == []


def test_server_and_magics_import_no_other_front_door() -> None:
    """The server answers with ops results and present.py; it shares nothing with the CLI.

    The magics are the CLI's command set run in a kernel (same parsers, same text), so they
    may use the CLI; neither the CLI nor the magics use the server.
    """
    crossing = sorted(
        (module, m)
        for module, imported in GRAPH.items()
        for m in imported
        if (room(module), room(m))
        in {
            ("server", "cli"),
            ("server", "magics"),
            ("magics", "server"),
            ("cli", "server"),
            ("cli", "magics"),
        }
    )
    assert crossing == []


def test_the_core_loads_no_web_framework() -> None:
    """The CLI, kernels and the install child process pay for no web framework at start."""
    code = (
        "import sys, jupyter_spackcache, jupyter_spackcache.ops.install, "
        "jupyter_spackcache.present, jupyter_spackcache.server.tasks.worker\n"
        "print(sorted(m for m in ('tornado', 'jupyter_server') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert out.strip() == "[]"
