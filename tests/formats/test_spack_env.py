"""``spack.lock`` and ``spack.yaml`` as values: our reader and writer, checked against Spack's own.

The lockfiles here are built the way Spack's ``Environment._to_lockfile_dict`` builds them, from
spec files Spack itself wrote (the upstream ``v2_layout`` fixtures: spec format 5 nodes of Spack
1.0 and format 4 nodes of Spack 0.22), and every one is also read by Spack v1.1.0's own code
(:mod:`tests.support.spackreader`), which must see the same roots and DAG hashes as we do.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_spackcache.errors import EnvFileError
from jupyter_spackcache.formats.spack_env import (
    LockRoot,
    lockfile_version_for,
    parse_spack_lock,
    parse_spack_manifest,
    render_spack_lock,
)
from jupyter_spackcache.ops.environments import lock_from_documents, parse_env_text
from tests.mirrors.test_mirror_readers import UPSTREAM
from tests.support.spackreader import spack_available, spack_reads, unpack_spack

V2_SPECS = UPSTREAM / "v2_layout" / "unsigned" / "build_cache"
#: libdwarf for platform=test target=m1, spec format 5 (Spack 1.0): compiler as a dependency
M1_LIBDWARF = "test-debian6-m1-gcc-10.2.1-libdwarf-20130729-u5uz3dcch5if4eve4sef67o2rf2lbfgh"
#: libdwarf for target=core2, spec format 4 (Spack 0.22): ``compiler`` node attribute
CORE2_LIBDWARF = "test-debian6-core2-gcc-10.2.1-libdwarf-20130729-sk2gqqz4n5njmvktycnd25wq25jxiqkr"


def spack_written(stem: str) -> dict[str, Any]:
    """A spec file exactly as Spack wrote it into a build cache."""
    doc: dict[str, Any] = json.loads((V2_SPECS / f"{stem}.spec.json").read_text())
    return doc


def lock_like_spack(documents: list[dict[str, Any]], version: int) -> dict[str, Any]:
    """A lockfile dict shaped as Spack's ``_to_lockfile_dict`` makes it (written here from
    Spack's code, independently of our renderer): roots are the documents' root nodes."""
    concrete: dict[str, Any] = {}
    for doc in documents:
        for node in doc["spec"]["nodes"]:
            concrete.setdefault(node["hash"], node)
    roots = [doc["spec"]["nodes"][0] for doc in documents]
    return {
        "_meta": {
            "file-type": "spack-lockfile",
            "lockfile-version": version,
            "specfile-version": {5: 4, 6: 5}[version],
        },
        "spack": {"version": "1.1.0", "type": "release"},
        "roots": [{"hash": r["hash"], "spec": r["name"]} for r in roots],
        "concrete_specs": concrete,
    }


@pytest.fixture(scope="module")
def spack_lib() -> Iterator[Path]:
    reason = spack_available()
    if reason is not None:
        pytest.skip(reason)
    where = Path(tempfile.mkdtemp(prefix="spack-lib-"))
    try:
        yield unpack_spack(where)
    finally:
        shutil.rmtree(where, ignore_errors=True)


def spack_view(spack_lib: Path, text: str, tmp_path: Path) -> dict[str, Any]:
    lockfile = tmp_path / "in.lock"
    lockfile.write_text(text)
    work = tmp_path / "spack-work"
    work.mkdir()
    return spack_reads(spack_lib, lockfile, work)


# ---- spack.lock: read ---------------------------------------------------------------------------


def test_reads_a_v6_lock_of_spack_written_nodes() -> None:
    doc = lock_like_spack([spack_written(M1_LIBDWARF)], 6)
    lock = parse_spack_lock(doc, "spack.lock")
    assert lock.version == 6
    assert lock.roots == (LockRoot("u5uz3dcch5if4eve4sef67o2rf2lbfgh", "libdwarf"),)
    assert set(lock.nodes) == set(doc["concrete_specs"])
    assert (
        lock.nodes["u5uz3dcch5if4eve4sef67o2rf2lbfgh"]
        is doc["concrete_specs"]["u5uz3dcch5if4eve4sef67o2rf2lbfgh"]
    )  # kept as written, not re-rendered
    runtime = lock.closure([r.hash for r in lock.roots], deptypes=frozenset({"link", "run"}))
    names = [lock.nodes[h]["name"] for h in runtime]
    assert names == ["libdwarf", "gcc-runtime", "libelf"]  # not gcc / compiler-wrapper (build)
    everything = {lock.nodes[h]["name"] for h in lock.closure([r.hash for r in lock.roots])}
    assert everything == {"libdwarf", "libelf", "gcc-runtime", "gcc", "compiler-wrapper"}


def test_reads_a_v5_lock_with_legacy_compiler_nodes() -> None:
    doc = lock_like_spack([spack_written(CORE2_LIBDWARF)], 5)
    lock = parse_spack_lock(doc, "spack.lock")
    assert [lock.nodes[h]["name"] for h in lock.closure([lock.roots[0].hash])] == [
        "libdwarf",
        "libelf",
    ]
    assert lockfile_version_for(lock.nodes.values()) == 5


def included_lock() -> dict[str, Any]:
    """A v6 lock of the m1 libdwarf that includes a concrete environment of the core2 one."""
    outer = lock_like_spack([spack_written(M1_LIBDWARF)], 6)
    inner = lock_like_spack([spack_written(CORE2_LIBDWARF)], 6)
    for node in inner["concrete_specs"].values():  # a v6 file may not carry legacy nodes
        node["annotations"] = {"original_specfile_version": 4}
    outer["include_concrete"] = {
        "/envs/base": {"roots": inner["roots"], "concrete_specs": inner["concrete_specs"]}
    }
    return outer


def test_include_concrete_roots_are_merged() -> None:
    lock = parse_spack_lock(included_lock(), "spack.lock")
    assert [r.spec for r in lock.roots] == ["libdwarf", "libdwarf"]
    assert lock.included == ("/envs/base",)
    assert "sk2gqqz4n5njmvktycnd25wq25jxiqkr" in lock.nodes


def _break(doc: dict[str, Any], how: str) -> dict[str, Any]:
    root = doc["roots"][0]["hash"]
    if how == "version":
        doc["_meta"]["lockfile-version"] = 4
    elif how == "no-meta":
        del doc["_meta"]
        doc.pop("roots")
    elif how == "dangling":
        del doc["concrete_specs"]["jr3yipyxyjulcdvckwwwjrrumis7glpa"]
    elif how == "root":
        doc["roots"][0]["hash"] = "z" * 32
    elif how == "rehashed":
        doc["concrete_specs"][root]["hash"] = "y" * 32
    elif how == "legacy-in-v6":
        node = doc["concrete_specs"][root]
        del node["annotations"]
        node["compiler"] = {"name": "gcc", "version": "10.2.1"}
    elif how == "empty":
        doc["roots"] = []
    return doc


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("version", "is a version 4 Spack lockfile; this reads versions 5 and 6"),
        ("no-meta", "is neither a spack.lock, a spack.yaml nor a jupyter-spackcache lock"),
        ("dangling", "depends on jr3yipyxyjulcdvckwwwjrrumis7glpa, which is not in concrete_specs"),
        ("root", "root libdwarf /zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz is not in concrete_specs"),
        ("rehashed", "carries the hash 'yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy'"),
        ("legacy-in-v6", "has the pre-1.0 'compiler' attribute"),
        ("empty", "has no roots"),
    ],
)
def test_damaged_locks_are_one_clear_error(how: str, message: str) -> None:
    doc = _break(lock_like_spack([spack_written(M1_LIBDWARF)], 6), how)
    with pytest.raises(EnvFileError) as info:
        parse_env_text(json.dumps(doc), "team/spack.lock")
    assert message in str(info.value) and str(info.value).startswith("team/spack.lock")
    assert info.value.code == "env-file"


# ---- spack.lock: write --------------------------------------------------------------------------


def test_written_lock_reads_back_to_identical_hashes_and_nodes() -> None:
    m1, core2 = spack_written(M1_LIBDWARF), spack_written(CORE2_LIBDWARF)
    for doc, version in ((m1, 6), (core2, 5)):
        root = doc["spec"]["nodes"][0]["hash"]
        text = lock_from_documents([(root, "libdwarf@20130729")], lambda h, d=doc: d)
        back = parse_env_text(text, "out.lock")
        assert back.kind == "spack.lock" and back.lock is not None
        assert back.lock.version == version  # chosen by what Spack's readers accept
        assert [r.hash for r in back.lock.roots] == [root]
        assert dict(back.lock.nodes) == {n["hash"]: n for n in doc["spec"]["nodes"]}
        assert json.loads(text)["_meta"]["specfile-version"] == {5: 4, 6: 5}[version]


def test_render_refuses_a_lock_spack_could_not_read() -> None:
    nodes = {n["hash"]: n for n in spack_written(M1_LIBDWARF)["spec"]["nodes"]}
    del nodes["izgzpzeljwairalfjm3k6fntbb64nt6n"]  # gcc-runtime, a dependency of the root
    with pytest.raises(EnvFileError, match="which is not in concrete_specs"):
        render_spack_lock(
            [LockRoot("u5uz3dcch5if4eve4sef67o2rf2lbfgh", "libdwarf")], nodes, writer="test"
        )
    old = {"spec": {"_meta": {"version": 3}, "nodes": [{"name": "x", "hash": "a" * 32}]}}
    with pytest.raises(EnvFileError, match="spec-file format 3, older than"):
        lock_from_documents([("a" * 32, "x")], lambda h: old)
    with pytest.raises(EnvFileError, match="nothing to export"):
        lock_from_documents([], lambda h: old)


# ---- Spack's own reader ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stem", "version"), [(M1_LIBDWARF, 6), (CORE2_LIBDWARF, 5)], ids=["v6", "v5"]
)
def test_spack_reads_what_we_write_to_the_same_hashes(
    spack_lib: Path, tmp_path: Path, stem: str, version: int
) -> None:
    doc = spack_written(stem)
    root = doc["spec"]["nodes"][0]["hash"]
    text = lock_from_documents([(root, "libdwarf@20130729")], lambda h: doc)
    ours = parse_spack_lock(json.loads(text), "ours")
    seen = spack_view(spack_lib, text, tmp_path)
    assert seen["version"] == version
    assert seen["roots"] == [root]
    assert seen["user_specs"] == ["libdwarf@20130729"]
    assert "libdwarf@20130729" in seen["manifest"]  # the spack.yaml `spack env create` wrote
    assert set(seen["nodes"]) == set(ours.closure([root]))
    for h, node in seen["nodes"].items():
        assert node["concrete"]
        assert node["name"] == ours.nodes[h]["name"]
        assert node["deps"] == sorted(d for d, _ in ours.dependencies(h))


def test_spack_and_we_agree_on_a_lock_shaped_by_spack(spack_lib: Path, tmp_path: Path) -> None:
    doc = lock_like_spack([spack_written(M1_LIBDWARF)], 6)
    seen = spack_view(spack_lib, json.dumps(doc), tmp_path)
    ours = parse_spack_lock(doc, "spack.lock")
    assert seen["roots"] == [r.hash for r in ours.roots]
    assert set(seen["nodes"]) == set(ours.closure([r.hash for r in ours.roots]))


# ---- spack.yaml ---------------------------------------------------------------------------------

MANIFEST = """\
# a group's environment
spack:
  specs:
  - demo-tool
  - 'libdemo-base@1:'
  view: true
  concretizer:
    unify: true
  mirrors:
    group: https://cache.example.org
"""


def test_manifest_specs_and_the_sections_it_ignores() -> None:
    env = parse_env_text(MANIFEST, "spack.yaml")
    assert env.kind == "spack.yaml" and env.manifest is not None
    assert env.manifest.specs == ("demo-tool", "libdemo-base@1:")
    assert env.manifest.ignored == (("view", 6), ("concretizer", 7), ("mirrors", 9))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "spack:\n  specs:\n  - matrix:\n    - [a, b]\n",
            "spack.yaml, line 3: only plain spec strings",
        ),
        ("spack:\n  specs:\n  - demo-tool\n  - $pkgs\n", "spack.yaml, line 4: only plain spec"),
        ("spack:\n  specs: [a\n", "spack.yaml, line 3:"),
        ("packages: {}\n", "no top-level 'spack:' section"),
        ("spack:\n  specs: demo\n", "spack.yaml, line 2: 'specs' must be a list"),
    ],
)
def test_manifest_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(EnvFileError) as info:
        parse_spack_manifest(text, "spack.yaml")
    assert message in str(info.value)


def test_notebook_and_own_lock_are_told_apart() -> None:
    own = {
        "format": "jupyter-spackcache-lock",
        "version": 1,
        "host": "linux-debian12-zen3",
        "created": 1.0,
        "mirrors": [],
        "nodes": [
            {
                "name": "zlib",
                "version": "1.3",
                "hash": "a" * 32,
                "target": "zen3",
                "mirror": None,
                "root": True,
            }
        ],
    }
    assert parse_env_text(json.dumps(own), "x.spack-lock.json").kind == "notebook lock"
    notebook = {"nbformat": 4, "cells": [], "metadata": {"spackcache": {"lock": own}}}
    env = parse_env_text(json.dumps(notebook), "a.ipynb")
    assert env.notebook is not None and env.notebook.roots[0].hash == "a" * 32
    with pytest.raises(EnvFileError, match="a notebook without a jupyter-spackcache lock"):
        parse_env_text(json.dumps({"nbformat": 4, "metadata": {}}), "b.ipynb")


@pytest.mark.parametrize(
    ("how", "spack_says"),
    [
        ("dangling", "KeyError: 'jr3yipyxyjulcdvckwwwjrrumis7glpa'"),
        ("legacy-in-v6", "The 'compiler' option is unexpected in specfiles at v5 or greater"),
    ],
)
def test_spack_refuses_what_we_refuse(
    spack_lib: Path, tmp_path: Path, how: str, spack_says: str
) -> None:
    doc = _break(lock_like_spack([spack_written(M1_LIBDWARF)], 6), how)
    with pytest.raises(EnvFileError):
        parse_spack_lock(doc, "spack.lock")
    with pytest.raises(AssertionError, match=spack_says):
        spack_view(spack_lib, json.dumps(doc), tmp_path)


def test_spack_reads_include_concrete_as_we_do(spack_lib: Path, tmp_path: Path) -> None:
    doc = included_lock()
    seen = spack_view(spack_lib, json.dumps(doc), tmp_path)
    ours = parse_spack_lock(doc, "spack.lock")
    # Spack's concrete roots are the file's own; the included ones come on top (ours merges)
    assert seen["roots"] == [doc["roots"][0]["hash"]]
    assert [r.hash for r in ours.roots] == [
        doc["roots"][0]["hash"],
        doc["include_concrete"]["/envs/base"]["roots"][0]["hash"],
    ]
