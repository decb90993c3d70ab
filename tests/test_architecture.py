"""Which package may import which, counting every import: the formats package and the layers.

This complements ``tests/test_layering.py`` (module cycles, front doors): here imports inside
functions count as well, because a lazy import is still a dependency, only a later one. A *unit*
is a top-level package or module of ``jupyter_spackcache`` (``spec``, ``formats``, ``mirrors``,
``host``, ...); imports inside one unit are its own business.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from tests.test_layering import cycles

PACKAGE = "jupyter_spackcache"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE

#: what the formats package may import of ours: values (spec) and the error family
FORMATS_MAY_IMPORT = frozenset({"spec", "errors"})
#: modules that do I/O or start processes; formats takes bytes and text instead
IO_MODULES = frozenset(
    {"os", "shutil", "tempfile", "subprocess", "socket", "sqlite3", "asyncio", "httpx"}
)
#: layer rules beyond cycles: (importer, imported) pairs that must not exist
FORBIDDEN = {
    ("store", "mirrors"): "the store reads rows with formats.noderow, not the mirror cache",
    ("store", "install"): "the installer writes the store, not the other way round",
    ("host", "install"): "the host probe reads ELF through formats.elf",
    ("mirrors", "install"): "readers know nothing of the install pipeline",
    ("mirrors", "store"): "readers know nothing of the install database",
    ("mirrors", "push"): "readers and writers share formats, not each other",
    ("push", "mirrors"): "readers and writers share formats, not each other",
    ("push", "install"): "writers package what the store holds, not the install pipeline",
    ("install", "push"): "the install pipeline reads caches, it does not write them",
    ("spec", "formats"): "spec values know nothing of files",
}


def _modules() -> Iterator[tuple[str, Path, bool]]:
    """(dotted name, path, is a package ``__init__``) for every module of the package."""
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        yield ".".join(parts), path, is_package


def _imported(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> list[str]:
    """Absolute names a statement imports (``from x import y`` counts x and, if a module, x.y)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        anchor = module.split(".") if is_package else module.split(".")[:-1]
        anchor = anchor[: len(anchor) - node.level + 1]
        base = ".".join([*anchor, *([node.module] if node.module else [])])
    else:
        base = node.module or ""
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def _unit(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if parts[0] == PACKAGE and len(parts) > 1 else None


@cache
def import_graph() -> dict[tuple[str, str], tuple[str, ...]]:
    """(unit, imported unit) -> where, as ``module:line``, for every import across units."""
    known = {name for name, _, _ in _modules()}
    edges: dict[tuple[str, str], list[str]] = {}
    for module, path, is_package in _modules():
        source = _unit(module)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            targets = set()
            for name in _imported(module, is_package, node):
                if name != PACKAGE and name.startswith(PACKAGE + ".") and name not in known:
                    name = name.rpartition(".")[0]  # ``from pkg.mod import function``
                targets.add(_unit(name))
            for target in sorted(t for t in targets if t):
                if source and source != target:
                    edges.setdefault((source, target), []).append(f"{module}:{node.lineno}")
    return {edge: tuple(where) for edge, where in edges.items()}


def _show(edges: set[tuple[str, str]]) -> str:
    graph = import_graph()
    return "; ".join(f"{a} -> {b} ({graph[a, b][0]})" for a, b in sorted(edges))


# ---- the checker itself ---------------------------------------------------------------------


def test_relative_and_lazy_imports_are_seen() -> None:
    graph = import_graph()
    # relative, at module level: mirrors/v3.py ``from ..formats.v3layout import ...``
    assert any(w.startswith(f"{PACKAGE}.mirrors.v3:") for w in graph["mirrors", "formats"])
    # absolute, inside a function: host._interpreter imports formats.elf lazily
    assert any(w.startswith(f"{PACKAGE}.host:") for w in graph["host", "formats"])
    # ``from pkg import module``
    tree = ast.parse("from .. import errors")
    (node,) = tree.body
    assert isinstance(node, ast.ImportFrom)
    assert f"{PACKAGE}.errors" in _imported(f"{PACKAGE}.mirrors.v3", False, node)


# ---- the rules ------------------------------------------------------------------------------


def test_no_import_cycle_between_units_counting_lazy_imports() -> None:
    graph: dict[str, set[str]] = {}
    for a, b in import_graph():
        graph.setdefault(a, set()).add(b)
    found = cycles(graph)
    assert not found, [
        _show({(a, b) for a, b in import_graph() if a in comp and b in comp}) for comp in found
    ]


def test_formats_imports_only_spec_and_errors() -> None:
    ours = {b for a, b in import_graph() if a == "formats"}
    assert ours <= FORMATS_MAY_IMPORT, _show({("formats", b) for b in ours - FORMATS_MAY_IMPORT})


def test_formats_does_no_io() -> None:
    found = []
    for module, path, is_package in _modules():
        if _unit(module) != "formats":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for name in _imported(module, is_package, node):
                    if name.split(".")[0] in IO_MODULES:
                        found.append(f"{module}:{node.lineno} imports {name}")
            elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "open":
                found.append(f"{module}:{node.lineno} calls open()")
    assert not found, found


@pytest.mark.parametrize(("importer", "imported"), sorted(FORBIDDEN))
def test_layer_rule(importer: str, imported: str) -> None:
    where = import_graph().get((importer, imported))
    assert where is None, (
        f"{importer} imports {imported} ({', '.join(where)}): " + FORBIDDEN[importer, imported]
    )


def test_the_package_and_formats_import_without_the_jupyter_server() -> None:
    formats = sorted(
        name for name, _, is_package in _modules() if _unit(name) == "formats" and not is_package
    )
    assert f"{PACKAGE}.formats.specfile" in formats
    code = (
        "import importlib, sys\n"
        f"for name in {[PACKAGE, f'{PACKAGE}.formats', *formats]!r}:\n"
        "    importlib.import_module(name)\n"
        "heavy = {'tornado', 'jupyter_server'}\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "", f"importing pulled in {result.stdout.strip()}"
