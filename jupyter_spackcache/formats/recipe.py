"""Spack's recipe snapshots: where a binary keeps its ``package.py``, and what it says it is.

Build caches carry no package description: not in the index, not in the spec files. But every
Spack binary carries the recipe it was built from, under ``<prefix>/.spack/repos/``, and what
``spack info`` shows as the description is that recipe's package class docstring. So a
description known here is the docstring of a snapshot, read with :mod:`ast` only: a recipe is
Python written by someone else, and is never imported or run.

Two layouts exist. Package API v1 repositories (Spack before 1.0, and mock or site repositories
that stay on v1) are ``repos/<namespace>/packages/<name>/package.py``; Spack 1.x with API v2
writes ``repos/spack_repo/<namespace parts>/packages/<module name>/package.py``, where the
module name is the package name with ``-`` turned into ``_`` (and a leading ``_`` when it starts
with a digit or is a Python keyword).
"""

from __future__ import annotations

import ast
import keyword
import re
from pathlib import PurePosixPath

#: where the snapshots live inside an install prefix
REPOS_DIR = PurePosixPath(".spack") / "repos"
#: a description is a line or two in a list, not the recipe's whole manual
MAX_DESCRIPTION = 300
#: recipes are a few KB; a bigger "recipe" is not read past this
MAX_RECIPE_BYTES = 512 * 1024

_SEPARATORS = re.compile(r"[-_]+")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_WHITESPACE = re.compile(r"\s+")


def class_name(package: str) -> str:
    """The class a recipe for ``package`` defines: ``py-numpy`` -> ``PyNumpy``, ``3proxy`` ->
    ``_3proxy`` (the name must be a Python identifier)."""
    words = [w for w in _SEPARATORS.split(package) if w]
    name = "".join(w[:1].upper() + w[1:].lower() for w in words)
    if name[:1].isdigit() or name in {"False", "None", "True"}:
        name = "_" + name
    return name


def module_name(package: str) -> str:
    """The directory a package API v2 repository keeps ``package`` in."""
    name = package.replace("-", "_")
    if name[:1].isdigit() or keyword.iskeyword(name):
        name = "_" + name
    return name


def recipe_paths(package: str, namespace: str | None) -> tuple[PurePosixPath, ...]:
    """Where, relative to an install prefix, the snapshot of ``package``'s recipe may be:
    the v2 layout first (what Spack 1.x writes), then the v1 one."""
    namespace = namespace or "builtin"
    v2 = REPOS_DIR.joinpath("spack_repo", *namespace.split("."), "packages", module_name(package))
    v1 = REPOS_DIR / namespace / "packages" / package
    return (v2 / "package.py", v1 / "package.py")


def recipe_description(text: str, package: str | None = None) -> str | None:
    """The first paragraph of the package class's docstring, on one line; None when the recipe
    has none or cannot be parsed.

    The class is the one named after ``package`` (as Spack loads it); without that name, or
    when no class has it, the recipe's only top-level class.
    """
    try:
        tree = ast.parse(text[:MAX_RECIPE_BYTES])
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    wanted = class_name(package) if package else None
    chosen = next((c for c in classes if c.name == wanted), None)
    if chosen is None and len(classes) == 1:
        chosen = classes[0]
    if chosen is None:
        return None
    doc = ast.get_docstring(chosen, clean=True)
    if not doc:
        return None
    first = _WHITESPACE.sub(" ", _PARAGRAPH_BREAK.split(doc.strip(), maxsplit=1)[0]).strip()
    return shorten(first) or None


def shorten(text: str, limit: int = MAX_DESCRIPTION) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, marked with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.") + "…"
