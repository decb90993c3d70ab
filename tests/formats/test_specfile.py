"""Decoding Spack's own spec files and indices (fixtures written by real Spack releases)."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path
from typing import Any

import pytest

from jupyter_spackcache.errors import MirrorError
from jupyter_spackcache.formats.specfile import (
    decode_index_record,
    decode_node,
    decode_specfile,
    spec_version_for_db,
    specfile_version,
)
from jupyter_spackcache.spec import ConcreteDAG
from tests.support.fixtures import FIXTURES as SHARED_FIXTURES

FIXTURES = SHARED_FIXTURES
UPSTREAM = FIXTURES / "spack-upstream"
SPECFILES = UPSTREAM / "specfiles"
V2_CACHE = UPSTREAM / "mirrors" / "v2_layout" / "unsigned" / "build_cache"
V3_BLOBS = FIXTURES / "spack-generated-v3" / "unsigned" / "blobs" / "sha256"
ALL_DEPTYPES = frozenset({"build", "link", "run", "test"})


def load_gz(path: Path) -> Any:
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        return json.load(stream)


def v2_specfile(stem: str) -> Any:
    return json.loads((V2_CACHE / f"{stem}.spec.json").read_text())


def load_specfile(name: str) -> ConcreteDAG:
    return decode_specfile(load_gz(SPECFILES / name))


# -- standalone spec files of every format -----------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt", "root_hash", "version", "target", "nodes"),
    [
        (
            "hdf5.v013.json.gz",
            1,
            "vglgw4reavn65vx5d4dlqn6rjywnq76d",
            "1.10.5",
            "skylake_avx512",
            20,
        ),
        ("hdf5.v016.json.gz", 1, "stp45yvzte43xdauknaj3auxlxb4xvzs", "1.10.7", "icelake", 21),
        ("hdf5.v017.json.gz", 2, "xqh5iyjjtrp2jw632cchacn3l7vqzf3m", "1.10.7", "icelake", 28),
        ("hdf5.v019.json.gz", 3, "iulacrbz7o5v5sbj7njbkyank3juh6d3", "1.12.2", "icelake", 36),
        ("hdf5.v020.json.gz", 4, "vlirlcgazhvsvtundz4kug75xkkqqgou", "1.12.2", "icelake", 37),
    ],
)
def test_every_upstream_specfile_decodes(
    name: str, fmt: int, root_hash: str, version: str, target: str, nodes: int
) -> None:
    doc = load_gz(SPECFILES / name)
    assert specfile_version(doc) == fmt
    dag = decode_specfile(doc)
    root = dag.root
    assert (root.name, root.version, root.hash, root.target) == ("hdf5", version, root_hash, target)
    assert (root.platform, root.os, root.namespace) == ("linux", "ubuntu20.04", "builtin")
    assert root.compiler == ("gcc", "9.4.0")
    assert root.spec_version == fmt
    assert root.variant("mpi") is True and root.variant("shared") is True
    assert root.variant("cflags") is None  # empty flag lists are dropped
    assert len(dag.nodes) == nodes
    # every edge, whatever hash type the file used, points at a node of the DAG
    assert dag.missing(ALL_DEPTYPES) == []
    assert all(n.compiler == ("gcc", "9.4.0") for n in dag.nodes.values())
    assert not any(n.is_external for n in dag.nodes.values())


def test_format1_edges_using_build_hashes_are_relinked() -> None:
    dag = load_specfile("hdf5.v013.json.gz")
    # the file's hdf5 -> openmpi entry says zh3vjn5..., openmpi's *build* hash
    (edge,) = [e for e in dag.root.edges if e.name == "openmpi"]
    assert edge.hash == "p56cirpjmyg3fkckepc7buathwe5clzd"
    assert edge.deptypes == frozenset({"build", "link"})
    assert dag.nodes[edge.hash].version == "3.1.4"
    assert dag.root.variant("patches") == (
        "b61e2f058964ad85be6ee5ecea10080bf79e73f83ff88d1fa4b602d00209da9c",
    )
    runtime = sorted(n.name for n in dag.runtime_closure())
    assert runtime == [
        "hdf5", "hwloc", "libiconv", "libpciaccess", "libxml2", "numactl", "openmpi", "xz", "zlib",
    ]  # fmt: skip


def test_format2_build_hash_dependency_keys() -> None:
    dag = load_specfile("hdf5.v017.json.gz")
    edges = {e.name: e for e in dag.root.edges}
    # "build_hash": "otn7dvn6..." in the file; openmpi's DAG hash is pqysi3qi...
    assert edges["openmpi"].hash == "pqysi3qi4t5lm5maxj6a6mgnujbr3qbp"
    assert dag.nodes[edges["openmpi"].hash].version == "4.1.1"
    assert edges["cmake"].deptypes == frozenset({"build"})
    assert edges["pkgconf"].deptypes == frozenset({"run"})
    assert dag.nodes[edges["cmake"].hash].version == "3.21.4"
    assert all(e.virtuals == () for n in dag.nodes.values() for e in n.edges)


def test_format4_edges_carry_virtuals() -> None:
    dag = load_specfile("hdf5.v020.json.gz")
    edges = {e.name: e for e in dag.root.edges}
    assert edges["openmpi"].virtuals == ("mpi",)
    assert edges["openmpi"].hash == "5nm2v2frfevnbgdnbrcflpnrw2e4cr5q"
    assert edges["pkgconf"].virtuals == ("pkgconfig",)
    assert edges["zlib"].virtuals == ()
    assert dag.nodes[edges["openmpi"].hash].version == "4.1.4"
    assert dag.root.variant("build_system") == "cmake"
    assert dag.root.variant("api") == "default"


# -- build cache (v2 layout) spec files and index ----------------------------------------


def test_v2_format4_specfile_with_compiler_attribute() -> None:
    doc = v2_specfile(
        "test-debian6-core2-gcc-10.2.1-libdwarf-20130729-sk2gqqz4n5njmvktycnd25wq25jxiqkr"
    )
    assert specfile_version(doc) == 4
    dag = decode_specfile(doc)
    root = dag.root
    assert root.short == "libdwarf@20130729/sk2gqqz"
    assert (root.platform, root.os, root.target, root.arch) == (
        "test", "debian6", "core2", "test-debian6-core2",
    )  # fmt: skip
    assert root.namespace == "builtin_mock"
    assert root.compiler == ("gcc", "10.2.1")
    assert root.variants == (("build_system", "generic"),)
    (edge,) = root.edges
    assert (edge.name, edge.hash) == ("libelf", "rqh2vuf6fqwkmipzgi2wjx352mq7y7ez")
    assert edge.deptypes == frozenset({"build", "link"}) and edge.virtuals == ()
    assert dag.nodes[edge.hash].version == "0.8.13"


def test_v2_format5_specfile_with_compiler_as_dependency() -> None:
    doc = v2_specfile(
        "test-debian6-m1-gcc-10.2.1-libdwarf-20130729-u5uz3dcch5if4eve4sef67o2rf2lbfgh"
    )
    assert specfile_version(doc) == 5
    dag = decode_specfile(doc)
    root = dag.root
    assert (root.hash, root.target, root.compiler, root.spec_version) == (
        "u5uz3dcch5if4eve4sef67o2rf2lbfgh", "m1", None, 5,
    )  # fmt: skip
    edges = {e.name: e for e in root.edges}
    assert set(edges) == {"compiler-wrapper", "gcc", "gcc-runtime", "libelf"}
    assert edges["gcc"].virtuals == ("c", "cxx")
    assert edges["gcc"].deptypes == frozenset({"build"}) and not edges["gcc"].is_runtime
    assert edges["gcc-runtime"].deptypes == frozenset({"link"})
    gcc = dag.nodes["vd7v4ssgnoqdplgxyig3orum67n4vmhq"]
    assert gcc.is_external and gcc.external == "/path"
    assert gcc.target == "aarch64"
    assert gcc.variant("languages") == ("c", "c++", "fortran")
    assert [n.name for n in dag.post_order()] == ["gcc-runtime", "libelf", "libdwarf"]


@pytest.mark.parametrize("path", sorted(V2_CACHE.glob("*.spec.json")), ids=lambda p: p.name[:40])
def test_every_v2_specfile_matches_its_file_name(path: Path) -> None:
    dag = decode_specfile(json.loads(path.read_text()))
    root = dag.root
    assert path.name.endswith(f"-{root.name}-{root.version}-{root.hash}.spec.json")
    assert path.name.startswith(f"{root.arch}-")
    assert dag.missing(ALL_DEPTYPES) == []


def test_v2_index_db8_records() -> None:
    db = json.loads((V2_CACHE / "index.json").read_text())["database"]
    assert db["version"] == "8"
    nodes = {h: decode_index_record(r["spec"], db["version"]) for h, r in db["installs"].items()}
    assert all(node.hash == h for h, node in nodes.items())
    core2 = nodes["sk2gqqz4n5njmvktycnd25wq25jxiqkr"]
    # converted from format 4: compiler comes from annotations "gcc@=10.2.1"
    assert (core2.spec_version, core2.compiler) == (4, ("gcc", "10.2.1"))
    m1 = nodes["u5uz3dcch5if4eve4sef67o2rf2lbfgh"]
    assert (m1.spec_version, m1.compiler) == (5, None)
    assert {e.name: e.virtuals for e in m1.edges}["gcc"] == ("c", "cxx")
    gcc = nodes["vd7v4ssgnoqdplgxyig3orum67n4vmhq"]
    assert gcc.external == "/path" and not db["installs"][gcc.hash]["in_buildcache"]
    dag = ConcreteDAG(root_hash=m1.hash, nodes=nodes)
    assert sorted(n.name for n in dag.runtime_closure()) == ["gcc-runtime", "libdwarf", "libelf"]


def spec_blobs() -> list[Path]:
    """The gzip-compressed JSON spec blobs among the v3 fixture's blobs (others are tarballs)."""
    found = []
    for path in sorted(V3_BLOBS.glob("*/*")):
        try:
            doc = json.loads(gzip.decompress(path.read_bytes()))
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict) and "spec" in doc:
            found.append(path)
    return found


def test_v3_fixture_has_six_spec_blobs() -> None:
    assert len(spec_blobs()) == 6


@pytest.mark.parametrize("blob", spec_blobs(), ids=lambda p: p.name[:12])
def test_v3_spec_blobs_decode(blob: Path) -> None:
    """Spec blobs written by ``spack buildcache migrate`` (gzip JSON, formats 4 and 5)."""
    doc = json.loads(gzip.decompress(blob.read_bytes()))
    dag = decode_specfile(doc)
    assert dag.root.platform == "test" and dag.root.os == "debian6"
    assert dag.root.target in ("core2", "m1")
    assert (dag.root.compiler is not None) == (dag.root.target == "core2")
    assert dag.missing(ALL_DEPTYPES) == []


# -- the local install DB fixture (DB 8 with v4-converted nodes, external glibc) ---------


def test_database_fixture_v8_with_converted_nodes() -> None:
    db = load_gz(UPSTREAM / "database" / "index.json.v7_v8.json.gz")["database"]
    nodes = {h: decode_index_record(r["spec"], db["version"]) for h, r in db["installs"].items()}
    assert len(nodes) == 8
    glibc = nodes["e2vda2iku2yhxf2lh77hk7fki7bl3v4h"]
    assert (glibc.name, glibc.version, glibc.external) == ("glibc", "2.31", "/usr")
    cmake = nodes["mxxhzeve3wyzsyplzpf2d4ian77sagsw"]
    assert cmake.external == "/home/culpo/opt/compiler-as-deps/build-tools/.spack-env/view"
    hdf5 = nodes["v2fykvuwiwiiod2wttuwofqs6o4kn75l"]
    assert (hdf5.version, hdf5.target, hdf5.os) == ("1.14.5", "icelake", "ubuntu20.04")
    assert (hdf5.compiler, hdf5.spec_version) == (("gcc", "10.5.0"), 4)
    assert hdf5.variant("mpi") is False and hdf5.variant("build_type") == "Release"
    edges = {e.name: e for e in hdf5.edges}
    assert edges["glibc"].virtuals == ("libc",)
    assert edges["zlib-ng"].virtuals == ("zlib-api",)
    assert edges["gcc-runtime"].virtuals == ("fortran-rt", "libgfortran")
    dag = ConcreteDAG(root_hash=hdf5.hash, nodes=nodes)
    assert dag.missing(ALL_DEPTYPES) == []
    assert sorted(n.name for n in dag.runtime_closure()) == [
        "gcc-runtime", "glibc", "hdf5", "pkgconf", "zlib-ng",
    ]  # fmt: skip


# -- synthetic shapes the fixtures lack, and errors ---------------------------------------


def test_direct_edges_and_string_target() -> None:
    node = decode_node(
        {
            "name": "zlib",
            "version": "1.3.1",
            "arch": {"platform": "linux", "platform_os": "rhel9", "target": "x86_64_v3"},
            "parameters": {"cflags": ["-O2"], "ldlibs": [], "optimize": True},
            "dependencies": [
                {
                    "name": "gcc",
                    "hash": "g" * 32,
                    "parameters": {"deptypes": ["build"], "virtuals": ["c"], "direct": True},
                }
            ],
            "hash": "z" * 32,
        },
        5,
    )
    assert node.target == "x86_64_v3" and node.namespace == "builtin"
    assert node.variants == (("cflags", ("-O2",)), ("optimize", True))
    assert node.edges[0].direct is True and node.edges[0].virtuals == ("c",)


def test_format1_wrapped_node_and_external_without_path() -> None:
    node = decode_node(
        {"glibc": {"version": "2.28", "arch": {}, "external": {"module": None}, "hash": "h" * 32}},
        1,
    )
    assert (node.name, node.external, node.is_external, node.platform) == ("glibc", "", True, "")


def test_db_version_mapping() -> None:
    assert [spec_version_for_db(v) for v in ("5", "6", "7", 8)] == [1, 3, 4, 5]
    with pytest.raises(MirrorError, match="database version 9 is not supported"):
        spec_version_for_db("9")
    with pytest.raises(MirrorError, match=r"database version 0\.9\.3 is not supported"):
        spec_version_for_db("0.9.3")


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ({}, "no 'spec' object"),
        ({"spec": {"nodes": []}}, "spec._meta.version"),
        ({"spec": {"_meta": {"version": 9}, "nodes": []}}, "spec format 9 is not supported"),
        ({"spec": {"_meta": {"version": 5}, "nodes": []}}, "spec file has no nodes"),
        ({"spec": {"_meta": {"version": 5}, "nodes": [{"name": "x"}]}}, "node x"),
        ({"spec": [{"a": 1, "b": 2}]}, "node without a name"),
    ],
)
def test_malformed_documents_give_one_line_errors(doc: dict[str, Any], needle: str) -> None:
    with pytest.raises(MirrorError, match=needle) as info:
        decode_specfile(doc)
    assert "\n" not in str(info.value)


def test_decoding_a_large_index_is_fast() -> None:
    """A public index holds ~50k nodes; decoding them must stay well under a few seconds."""
    db = load_gz(UPSTREAM / "database" / "index.json.v7_v8.json.gz")["database"]
    records = [r["spec"] for r in db["installs"].values()] * 6250
    start = time.perf_counter()
    for record in records:
        decode_index_record(record, 8)
    assert time.perf_counter() - start < 4.0
