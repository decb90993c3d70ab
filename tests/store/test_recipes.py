"""Descriptions read from installed prefixes: both repository layouts, any namespace, each
prefix read once, and nothing but a regular file inside the prefix is ever read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jupyter_spackcache.formats.recipe import recipe_paths
from jupyter_spackcache.store import recipes
from jupyter_spackcache.store.recipes import description_at

RECIPE = 'from spack.package import *\n\n\nclass {cls}(Package):\n    """{doc}"""\n'


def snapshot(prefix: Path, relative: str, cls: str, doc: str) -> Path:
    path = prefix / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(RECIPE.format(cls=cls, doc=doc))
    return path


def test_both_layouts_and_a_namespace_the_node_does_not_name(tmp_path: Path) -> None:
    v2 = tmp_path / "v2"
    snapshot(v2, str(recipe_paths("py-six", "builtin")[0]), "PySix", "Python 2 and 3 helpers.")
    assert description_at(v2, "py-six", "builtin") == "Python 2 and 3 helpers."
    v1 = tmp_path / "v1"
    snapshot(v1, ".spack/repos/builtin/packages/zlib/package.py", "Zlib", "Compression.")
    assert description_at(v1, "zlib", "builtin") == "Compression."
    # recorded as builtin, snapshot kept under a site namespace: still found
    site = tmp_path / "site"
    snapshot(site, ".spack/repos/spack_repo/site/packages/zlib_ng/package.py", "ZlibNg", "Ng.")
    assert description_at(site, "zlib-ng", "builtin") == "Ng."
    assert description_at(tmp_path / "none", "zlib", "builtin") is None


def test_each_prefix_is_read_once(tmp_path: Path) -> None:
    path = snapshot(tmp_path, str(recipe_paths("zlib", None)[0]), "Zlib", "First.")
    assert description_at(tmp_path, "zlib", None) == "First."
    path.write_text(RECIPE.format(cls="Zlib", doc="Second."))
    assert description_at(tmp_path, "zlib", None) == "First."  # remembered
    recipes._memo.clear()
    assert description_at(tmp_path, "zlib", None) == "Second."


def test_only_regular_files_inside_the_prefix_are_read(tmp_path: Path) -> None:
    outside = snapshot(tmp_path, "elsewhere/package.py", "Zlib", "Not this prefix's.")
    prefix = tmp_path / "prefix"
    link = prefix / recipe_paths("zlib", "builtin")[0]
    link.parent.mkdir(parents=True)
    link.symlink_to(outside)
    assert description_at(prefix, "zlib", "builtin") is None
    fifo_prefix = tmp_path / "fifo"
    fifo = fifo_prefix / recipe_paths("zlib", "builtin")[0]
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)  # reading it would block the server: refused without reading
    assert description_at(fifo_prefix, "zlib", "builtin") is None


@pytest.fixture(autouse=True)
def fresh_memo() -> None:
    recipes._memo.clear()
