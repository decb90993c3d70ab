"""Matching abstract specs against concrete nodes and DAGs, with short reasons for misses."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from jupyter_spackcache.formats.specfile import decode_index_record, decode_specfile
from jupyter_spackcache.spec import (
    ConcreteDAG,
    ConcreteNode,
    Edge,
    explain_dag_mismatch,
    explain_mismatch,
    node_satisfies,
    parse_spec,
    satisfies,
    target_matches,
)
from tests.support.fixtures import FIXTURES as SHARED_FIXTURES

UPSTREAM = SHARED_FIXTURES / "spack-upstream"
V2_CACHE = UPSTREAM / "mirrors" / "v2_layout" / "unsigned" / "build_cache"

BUILD = frozenset({"build"})
LINK = frozenset({"link"})
BUILD_LINK = frozenset({"build", "link"})


def h(name: str) -> str:
    """A readable fake 32-character DAG hash."""
    return (name.replace("-", "") + "x" * 32)[:32]


def node(name: str, version: str, *edges: Edge, **kw: object) -> ConcreteNode:
    fields: dict[str, object] = {
        "platform": "linux",
        "os": "ubuntu22.04",
        "target": "zen3",
    }
    fields.update(kw)
    return ConcreteNode(name=name, version=version, hash=h(name), edges=edges, **fields)  # type: ignore[arg-type]


def edge(name: str, deptypes: frozenset[str], *virtuals: str, direct: bool = False) -> Edge:
    return Edge(name, h(name), deptypes, virtuals, direct)


def gromacs_dag() -> ConcreteDAG:
    """gromacs built with gcc (a direct, external compiler) against openmpi and fftw."""
    nodes = [
        node(
            "gromacs",
            "2023.3",
            edge("fftw", BUILD_LINK, "fftw-api"),
            edge("gcc", BUILD, "c", "cxx", direct=True),
            edge("gcc-runtime", LINK),
            edge("glibc", LINK, "libc"),
            edge("openmpi", BUILD_LINK, "mpi"),
            variants=(
                ("build_type", "Release"),
                ("cflags", ("-O2", "-g")),
                ("cuda", False),
                ("mpi", True),
            ),
        ),
        node("openmpi", "4.1.6", edge("gcc", BUILD, "c"), edge("hwloc", LINK)),
        node(
            "fftw",
            "3.3.10",
            edge("openmpi", BUILD_LINK, "mpi"),
            variants=(("mpi", True), ("precision", ("double", "float"))),
        ),
        node("hwloc", "2.9.1"),
        node("gcc-runtime", "12.3.0", edge("gcc", BUILD)),
        node(
            "gcc",
            "12.3.0",
            external="/usr",
            target="x86_64",
            variants=(("languages", ("c", "c++", "fortran")),),
        ),
        node("glibc", "2.35", external="/usr", target="x86_64"),
    ]
    return ConcreteDAG(root_hash=h("gromacs"), nodes={n.hash: n for n in nodes})


GROMACS = gromacs_dag()


@pytest.mark.parametrize(
    "text",
    [
        "gromacs@2023 +mpi ^openmpi",
        "gromacs@2023:",
        "gromacs@:2023.3",
        "gromacs@2023.3",
        "gromacs@=2023.3",
        "gromacs@2022,2023",
        "+mpi",
        "gromacs ~cuda mpi=true",
        "gromacs cuda=False",
        "gromacs build_type=Release",
        "gromacs cflags=-O2",
        "gromacs cflags='-g -O2'",
        "gromacs arch=linux-ubuntu22.04-zen3",
        "gromacs platform=linux os=ubuntu22.04 target=zen3",
        "gromacs target=x86_64_v3:",
        "gromacs target=:zen4",
        "gromacs target=zen:zen4",
        "gromacs target=skylake,zen3",
        "builtin.gromacs",
        "gromacs/gromacsx",
        "gromacs ^mpi",
        "gromacs ^mpi@4.1:",
        "gromacs ^[virtuals=mpi] openmpi",
        "gromacs ^mpi=openmpi",
        "gromacs ^[deptypes=build] openmpi",
        "gromacs ^openmpi ^hwloc@2.9:",
        "gromacs ^openmpi %gcc@12",
        "gromacs ^openmpi %c=gcc",
        "gromacs ^fftw precision=double",
        "gromacs ^fftw precision=float,double +mpi",
        "gromacs ^fftw-api",
        "gromacs ^libc",
        "gromacs ^glibc@2.35",
        "gromacs %gcc",
        "gromacs %gcc@12",
        "gromacs %gcc@12 languages=c,fortran",
        "gromacs %c,cxx=gcc",
        "gromacs %c=gcc@12.3.0",
        "gromacs %[virtuals=cxx] gcc",
        "gromacs %openmpi",
        "gromacs %mpi",
        # Spack 1.x rules: propagation binds only nodes that have the variant
        "gromacs ++mpi",
        "gromacs mpi==true",
        "gromacs ++mpi ^fftw",
        "gromacs ^openmpi ~~mpi",
        "gromacs ~~openmp",
        # name=* asks for the variant with any value
        "gromacs build_type=*",
        "gromacs ^fftw precision=*",
        "gromacs os=* platform=* target=*",
        # := asks for exactly these values, = for at least these
        "gromacs ^fftw precision:=double,float",
        "gromacs ^fftw precision=double",
        "gromacs %gcc languages:=c,c++,fortran",
        # conditional edges hold vacuously when the condition does not
        "gromacs ^[when='+cuda'] cuda",
        "gromacs ^[when='^notapackage' virtuals=mpi] mpich",
        "gromacs ^[when='+mpi' virtuals=mpi] openmpi",
        "gromacs %[when='%c'] c=gcc@12",
        "gromacs %%gcc",
        "gromacs %%c,cxx=gcc",
    ],
)
def test_gromacs_dag_satisfies(text: str) -> None:
    spec = parse_spec(text)
    assert explain_dag_mismatch(spec, GROMACS) is None
    assert satisfies(spec, GROMACS)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("lammps", "package is gromacs, not lammps"),
        ("gromacs@2024", "version 2023.3 is not @2024"),
        ("gromacs@:2023.2", "version 2023.3 is not @:2023.2"),
        ("gromacs@=2023", "version 2023.3 is not @=2023"),
        ("gromacs ~mpi", "needs ~mpi"),
        ("gromacs +cuda", "needs +cuda"),
        ("gromacs +openmp", "has no variant openmp"),
        ("gromacs mpi=false", "needs ~mpi"),
        ("gromacs build_type=Debug", "build_type=Release is not build_type=Debug"),
        ("gromacs cflags=-O3", "cflags lacks -O3"),
        ("gromacs target=zen4", "target is zen3"),
        ("gromacs target=zen4:", "target is zen3"),
        ("gromacs target=:zen2", "target is zen3"),
        ("gromacs target=neoverse_v1:", "target is zen3"),
        ("gromacs os=rhel9", "os is ubuntu22.04"),
        ("gromacs platform=darwin", "platform is linux"),
        ("gromacs arch=linux-ubuntu22.04-zen4", "target is zen4"[:10]),
        ("other.gromacs", "namespace is builtin"),
        ("gromacs/abc", "hash gromacs does not start with abc"),
        ("gromacs ^mpich", "no dependency matches ^mpich"),
        ("gromacs ^openmpi@5:", "no dependency matches ^openmpi@5:"),
        ("gromacs ^blas", "no dependency matches ^blas"),
        ("gromacs ^[virtuals=blas] openmpi", "no dependency matches ^blas=openmpi"),
        ("gromacs ^[deptypes=run] openmpi", "no dependency matches ^[deptypes=run] openmpi"),
        ("gromacs ^fftw precision=half", "no dependency matches ^fftw precision=half"),
        ("gromacs ^hwloc %gcc", "no dependency matches ^hwloc %gcc"),
        ("gromacs ^gromacs", "no dependency matches ^gromacs"),
        ("gromacs %gcc@13", "no direct dependency matches %gcc@13"),
        ("gromacs %fortran=gcc", "no direct dependency matches %fortran=gcc"),
        ("gromacs %clang", "no direct dependency matches %clang"),
        ("gromacs %hwloc", "no direct dependency matches %hwloc"),
        ("gromacs %gcc languages=ada", "no direct dependency matches %gcc languages=ada"),
        ("gromacs ~~mpi", "needs ~mpi"),
        ("gromacs ++cuda", "needs +cuda"),
        ("gromacs ^fftw ~~mpi", "no dependency matches ^fftw~~mpi"),
        ("gromacs openmp=*", "has no variant openmp"),
        ("gromacs ^fftw precision:=double", "no dependency matches ^fftw precision:=double"),
        ("gromacs %gcc languages:=c", "no direct dependency matches %gcc languages:=c"),
        ("gromacs ^[when='+mpi'] mpich", "no dependency matches ^[when='+mpi'] mpich"),
        ("gromacs %%clang", "no direct dependency matches %%clang"),
    ],
)
def test_gromacs_dag_mismatch_reasons(text: str, reason: str) -> None:
    spec = parse_spec(text)
    found = explain_dag_mismatch(spec, GROMACS)
    assert found is not None and found.startswith(reason)
    assert not satisfies(spec, GROMACS)


def test_node_level_check_ignores_dependency_constraints() -> None:
    root = GROMACS.root
    assert node_satisfies(parse_spec("gromacs@2023 +mpi ^mpich %clang"), root)
    assert explain_mismatch(parse_spec("gromacs ~mpi ^mpich"), root) == "needs ~mpi"
    assert explain_mismatch(parse_spec("gromacs@1.3:"), root) is None
    zlib = node("zlib", "1.2.11", variants=(("shared", False),))
    assert explain_mismatch(parse_spec("zlib@1.3:"), zlib) == "version 1.2.11 is not @1.3:"
    assert explain_mismatch(parse_spec("zlib+shared"), zlib) == "needs +shared"
    assert explain_mismatch(parse_spec("zlib target=zen4"), zlib) == "target is zen3"
    # a propagated variant is checked on nodes that have it, and skipped on the others
    assert explain_mismatch(parse_spec("zlib ~~shared ++pic"), zlib) is None
    assert explain_mismatch(parse_spec("zlib ++shared"), zlib) == "needs +shared"
    fftw = GROMACS.nodes[h("fftw")]
    assert explain_mismatch(parse_spec("fftw precision:=float,double"), fftw) is None
    assert (
        explain_mismatch(parse_spec("fftw precision:=float"), fftw)
        == "precision=double,float is not precision:=float"
    )


def test_unparseable_concrete_version_never_matches_a_range() -> None:
    odd = node("odd", "1.0 beta")
    assert explain_mismatch(parse_spec("odd@1:"), odd) == "version 1.0 beta is not @1:"
    assert node_satisfies(parse_spec("odd"), odd)


def test_legacy_compiler_names_match_renamed_packages() -> None:
    nodes = [
        node("zlib", "1.3", edge("llvm", BUILD, "c", direct=True)),
        node("llvm", "17.0.6", external="/opt/llvm"),
    ]
    dag = ConcreteDAG(h("zlib"), {n.hash: n for n in nodes})
    assert satisfies(parse_spec("zlib %clang@17"), dag)
    assert satisfies(parse_spec("zlib %llvm@17"), dag)
    assert not satisfies(parse_spec("zlib %clang@18"), dag)


def test_edge_to_a_node_the_index_left_out() -> None:
    root = node("zlib", "1.3", edge("gcc", BUILD, "c"))
    dag = ConcreteDAG(root.hash, {root.hash: root})
    assert satisfies(parse_spec("zlib %gcc"), dag)
    assert satisfies(parse_spec("zlib %c=gcc"), dag)
    assert not satisfies(parse_spec("zlib %gcc@12"), dag)
    assert not satisfies(parse_spec("zlib ^gcc"), dag)


def test_target_ranges_follow_archspec_ancestry() -> None:
    assert target_matches("x86_64_v3:", "zen3")
    assert target_matches(":zen4", "zen3")
    assert target_matches("x86_64:x86_64_v3", "x86_64_v2")
    assert not target_matches("x86_64_v4:", "zen3")
    assert not target_matches("aarch64:", "zen3")
    assert not target_matches("unknown_cpu:", "zen3")
    assert target_matches("m1", "m1") and not target_matches("m1", "m2")


# -- real DAGs decoded from Spack's fixtures ----------------------------------------------


def load_json_gz(path: Path) -> dict[str, object]:
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        data: dict[str, object] = json.load(stream)
    return data


@pytest.fixture(scope="module")
def hdf5_v4() -> ConcreteDAG:
    return decode_specfile(load_json_gz(UPSTREAM / "specfiles" / "hdf5.v020.json.gz"))


@pytest.fixture(scope="module")
def hdf5_v1() -> ConcreteDAG:
    return decode_specfile(load_json_gz(UPSTREAM / "specfiles" / "hdf5.v013.json.gz"))


@pytest.fixture(scope="module")
def libdwarf_v5() -> ConcreteDAG:
    name = "test-debian6-m1-gcc-10.2.1-libdwarf-20130729-u5uz3dcch5if4eve4sef67o2rf2lbfgh"
    return decode_specfile(json.loads((V2_CACHE / f"{name}.spec.json").read_text()))


def test_format4_compiler_attribute_and_virtual_edges(hdf5_v4: ConcreteDAG) -> None:
    assert satisfies(parse_spec("hdf5@1.12 +mpi ^mpi@4.1:"), hdf5_v4)
    assert satisfies(parse_spec("hdf5 %gcc@9.4.0"), hdf5_v4)
    assert satisfies(parse_spec("hdf5 %gcc@9"), hdf5_v4)
    assert satisfies(parse_spec("hdf5 ^pkgconfig ^zlib@1.2:"), hdf5_v4)
    assert satisfies(parse_spec("hdf5 target=icelake ^openmpi target=x86_64_v4:"), hdf5_v4)
    assert explain_dag_mismatch(parse_spec("hdf5 %gcc@10"), hdf5_v4) == (
        "compiler gcc@9.4.0 is not %gcc@10"
    )
    assert explain_dag_mismatch(parse_spec("hdf5 ^openmpi@5:"), hdf5_v4) == (
        "no dependency matches ^openmpi@5:"
    )
    assert explain_dag_mismatch(parse_spec("hdf5 +cxx"), hdf5_v4) == "needs +cxx"


def test_format1_has_no_virtual_information(hdf5_v1: ConcreteDAG) -> None:
    assert satisfies(parse_spec("hdf5@1.10 ^openmpi@3.1.4 ^zlib@1.2.11"), hdf5_v1)
    assert not satisfies(parse_spec("hdf5 ^mpi"), hdf5_v1)
    assert satisfies(parse_spec("hdf5 %gcc@9.4 ^openmpi %gcc@9.4"), hdf5_v1)


def test_format5_compiler_is_a_direct_dependency(libdwarf_v5: ConcreteDAG) -> None:
    assert satisfies(parse_spec("libdwarf %gcc@10.2.1"), libdwarf_v5)
    assert satisfies(parse_spec("libdwarf %c,cxx=gcc"), libdwarf_v5)
    assert satisfies(parse_spec("libdwarf ^libelf %c=gcc@10"), libdwarf_v5)
    assert satisfies(parse_spec("libdwarf target=m1 ^gcc-runtime@10.2.1"), libdwarf_v5)
    assert not satisfies(parse_spec("libdwarf ^libelf %cxx=gcc"), libdwarf_v5)
    assert explain_dag_mismatch(parse_spec("libdwarf %gcc@11"), libdwarf_v5) == (
        "no direct dependency matches %gcc@11"
    )


def test_install_database_with_external_libc() -> None:
    db = load_json_gz(UPSTREAM / "database" / "index.json.v7_v8.json.gz")["database"]
    assert isinstance(db, dict)
    nodes = {k: decode_index_record(r["spec"], db["version"]) for k, r in db["installs"].items()}
    dag = ConcreteDAG("v2fykvuwiwiiod2wttuwofqs6o4kn75l", nodes)
    assert satisfies(parse_spec("hdf5@1.14 ~mpi %gcc@10.5 ^libc ^glibc@2.31 ^zlib-api"), dag)
    assert explain_dag_mismatch(parse_spec("hdf5 ^glibc@2.32:"), dag) == (
        "no dependency matches ^glibc@2.32:"
    )
