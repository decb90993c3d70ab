"""Spec syntax: parsing into AbstractSpec, canonical text, and errors that point at a column."""

from __future__ import annotations

import pytest

from jupyter_spackcache.errors import SpackCacheError, SpecSyntaxError
from jupyter_spackcache.spec import AbstractSpec, VersionConstraint, parse_spec, parse_specs


def test_gromacs_range_variant_and_dependency() -> None:
    spec = parse_spec("gromacs@2023 +mpi ^openmpi")
    assert spec.name == "gromacs"
    assert spec.versions == VersionConstraint.parse("2023")
    assert spec.versions.contains("2023.3") and not spec.versions.contains("20231")
    assert spec.variants == (("mpi", True),)
    assert [d.name for d in spec.dependencies] == ["openmpi"]
    assert spec.direct == ()
    assert str(spec) == "gromacs@2023+mpi ^openmpi"


def test_zlib_compiler_and_arch() -> None:
    """Spack 1.x: attributes after ``%gcc@...`` belong to gcc, so arch binds to the compiler
    here; written before the ``%`` it constrains zlib itself."""
    spec = parse_spec("zlib@1.2.11 %gcc@10.2.1 arch=linux-ubuntu22.04-x86_64_v3")
    assert (spec.name, str(spec.versions)) == ("zlib", "1.2.11")
    assert (spec.platform, spec.os, spec.target) == (None, None, None)
    (gcc,) = spec.direct
    assert gcc.name == "gcc" and gcc.versions.contains("10.2.1")
    assert not gcc.versions.contains("10.3")
    assert (gcc.platform, gcc.os, gcc.target) == ("linux", "ubuntu22.04", "x86_64_v3")
    assert spec.dependencies == ()
    assert str(spec) == "zlib@1.2.11 %gcc@10.2.1 platform=linux os=ubuntu22.04 target=x86_64_v3"

    root_arch = parse_spec("zlib@1.2.11 arch=linux-ubuntu22.04-x86_64_v3 %gcc@10.2.1")
    assert (root_arch.platform, root_arch.os, root_arch.target) == (
        "linux",
        "ubuntu22.04",
        "x86_64_v3",
    )
    assert root_arch.direct[0].target is None
    assert (
        str(root_arch) == "zlib@1.2.11 platform=linux os=ubuntu22.04 target=x86_64_v3 %gcc@10.2.1"
    )


def test_hdf5_disabled_variant_value_and_dependency_range() -> None:
    spec = parse_spec("hdf5 ~mpi api=v18 ^zlib@1.2:")
    assert spec.variant_map == {"mpi": False, "api": "v18"}
    (zlib,) = spec.dependencies
    assert zlib.name == "zlib" and str(zlib.versions) == "1.2:"
    assert str(spec) == "hdf5~mpi api=v18 ^zlib@1.2:"


def test_anonymous_hash_and_variant_specs() -> None:
    assert parse_spec("/abcdef") == AbstractSpec(hash_prefix="abcdef")
    assert str(parse_spec("/abcdef")) == "/abcdef"
    mpi = parse_spec("+mpi")
    assert mpi.name is None and mpi.is_anonymous and mpi.variants == (("mpi", True),)
    assert parse_spec("zlib/abc12").hash_prefix == "abc12"
    assert parse_spec("zlib@1.3/abc12").hash_prefix == "abc12"
    assert parse_spec("* +mpi").name is None


def test_several_root_specs() -> None:
    specs = parse_specs("zlib cmake@3.20")
    assert [s.name for s in specs] == ["zlib", "cmake"]
    assert specs[1].versions.contains("3.20.5")
    assert parse_specs("") == []
    assert [str(s) for s in parse_specs("hdf5 ^zlib cmake %gcc /abc /def")] == [
        "hdf5 ^zlib",
        "cmake %gcc/abc",
        "/def",
    ]


def test_direct_dependency_binds_to_the_preceding_node() -> None:
    spec = parse_spec("hdf5 %gcc@12 ^zlib %clang ^openmpi")
    assert [d.name for d in spec.direct] == ["gcc"]
    openmpi, zlib = spec.dependencies  # sorted by name, as Spack prints them
    assert [d.name for d in zlib.direct] == ["clang"]
    assert openmpi.direct == ()
    assert str(spec) == "hdf5 %gcc@12 ^openmpi ^zlib %clang"


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("zlib -shared", "zlib~shared"),
        ("zlib ++shared ~~pic", "zlib~~pic++shared"),
        ("hdf5 api==v18", "hdf5 api==v18"),
        ("hdf5 api:=v18", "hdf5 api:=v18"),
        ("gcc languages=c,c++", "gcc languages='c,c++'"),
        ("gcc languages='c,c++'", "gcc languages='c,c++'"),
        ("a cflags='-O3 -g'", "a cflags='-O3 -g'"),
        ('a cflags="-O3"', "a cflags=-O3"),
        ("zlib target=zen4", "zlib target=zen4"),
        ("zlib os=rhel9 platform=linux", "zlib platform=linux os=rhel9"),
        ("zlib arch=linux--zen2", "zlib platform=linux target=zen2"),
        ("builtin.zlib@1.3", "builtin.zlib@1.3"),
        ("zlib@=1.3", "zlib@=1.3"),
        ("zlib @ 1.2 , 1.4:", "zlib@1.2,1.4:"),
        ("zlib@git.my/branch=1.3", "zlib@git.my/branch=1.3"),
        ("a %c,cxx=gcc@12", "a %c,cxx=gcc@12"),
        ("a ^[virtuals=mpi] openmpi", "a ^mpi=openmpi"),
        (
            "a ^[deptypes=link,build virtuals=blas] openblas",
            "a ^[deptypes=build,link] blas=openblas",
        ),
        ("a %%gcc", "a %%gcc"),
        ("a\t+b", "a+b"),
        ("zlib-ng@2.2", "zlib-ng@2.2"),
        ("py-numpy target=x86_64_v3:", "py-numpy target=x86_64_v3:"),
    ],
)
def test_canonical_text_and_round_trip(text: str, canonical: str) -> None:
    spec = parse_spec(text)
    assert str(spec) == canonical
    assert parse_spec(canonical) == spec


def test_edge_attributes_are_kept() -> None:
    spec = parse_spec("a %c,cxx=gcc ^[deptypes=link virtuals=mpi] openmpi@4:")
    (gcc,) = spec.direct
    assert (gcc.name, gcc.virtuals) == ("gcc", ("c", "cxx"))
    (mpi,) = spec.dependencies
    assert (mpi.name, mpi.virtuals, mpi.deptypes) == ("openmpi", ("mpi",), ("link",))


def test_namespace_and_values() -> None:
    spec = parse_spec("builtin.zlib patches=abc,def cflags='-O2 -g'")
    assert (spec.namespace, spec.name, spec.fullname) == ("builtin", "zlib", "builtin.zlib")
    assert spec.variant_map == {"patches": ("abc", "def"), "cflags": "-O2 -g"}


def test_specs_are_hashable_values() -> None:
    assert parse_spec("zlib +a ~b") == parse_spec("zlib~b+a")
    assert len({parse_spec("zlib@1.2"), parse_spec("zlib @1.2")}) == 1
    assert repr(parse_spec("zlib @1.2")) == "AbstractSpec('zlib@1.2')"


@pytest.mark.parametrize(
    ("text", "column", "needle"),
    [
        ("zlib; rm -rf /", 5, "character ';' is not allowed"),
        ("zlib && ls", 6, "character '&' is not allowed"),
        ("zlib `id`", 6, "character '`' is not allowed"),
        ("zlib $(id)", 6, "character '$' is not allowed"),
        ("zlib | cat", 6, "character '|' is not allowed"),
        ("zlib > out", 6, "character '>' is not allowed"),
        ("zlib\nls", 5, "character '\\n' is not allowed"),
        ("a cflags='$(id)'", 11, "character '$' is not allowed"),
        ("zlib@", 5, "expected a version after '@'"),
        ("zlib@1.4:1.2", 5, "empty version range"),
        ("zlib@1.2@1.3", 9, "only one version"),
        ("zlib +a ~a", 9, "variant 'a' is given twice"),
        ("hdf5 ^", 6, "expected a package or constraint after '^'"),
        ("hdf5 %", 6, "expected a package or constraint after '%'"),
        ("zlib cmake", 6, "expected one spec"),
        ("zlib arch=a-b-c arch=d-e-f", 17, "two architectures"),
        ("zlib.", 1, "invalid name 'zlib.'"),
        ("a b='x", 5, "unterminated quoted value"),
        ("a b='x'y", 8, "expected one spec"),
        ("a %[with=+x] b", 5, "the only edge attributes are deptypes, virtuals and when"),
        ("a ^[deptypes=runtime] b", 5, "unknown dependency type 'runtime'"),
        ("a ^[virtuals=mpi b", 18, "unexpected token in edge attributes"),
        ("a ^[virtuals=mpi", 17, "unterminated edge attributes"),
        ("a ^[virtuals", 5, "unexpected token in edge attributes"),
        ("./spec.json", 1, "spec files are not supported"),
        ("/tmp/x.yaml", 1, "spec files are not supported"),
        ("zlib api=", 9, "missing value for 'api'"),
        ("zlib os=a,b", 6, "invalid os 'a,b'"),
        ("zlib target=zen2 arch=linux-rhel9-zen3", 18, "cannot specify 'target' twice"),
        ("zlib +", 6, "unexpected character '+'"),
        ("zlib ~.x", 6, "unexpected character '~'"),
        ("zlib /", 6, "expected a hash after '/'"),
        ("zlib =3", 6, "unexpected character '='"),
        ("zlib langs=a,,b", 6, "empty item in value of 'langs'"),
    ],
)
def test_malformed_input_names_problem_and_column(text: str, column: int, needle: str) -> None:
    with pytest.raises(SpecSyntaxError) as info:
        parse_spec(text)
    err = info.value
    assert needle in str(err)
    assert err.column == column
    assert str(err).endswith(f"at column {column}")
    assert "\n" not in str(err)
    assert err.text == text
    spec_line, caret_line = err.caret().split("\n")
    assert len(spec_line) == len(text)
    assert caret_line == " " * (column - 1) + "^"
    assert isinstance(err, SpackCacheError) and err.code == "spec-syntax"


def test_empty_spec_is_an_error_with_a_hint() -> None:
    with pytest.raises(SpecSyntaxError, match="empty spec") as info:
        parse_spec("   ")
    assert info.value.hint
    assert parse_specs("   ") == []


def test_hostile_input_is_linear() -> None:
    """No regex backtracking: long pathological strings fail (or pass) quickly."""
    import time

    start = time.perf_counter()
    for text in ("a" * 50_000 + "!", "a@" + "1." * 20_000 + ";", "+" * 30_000, "a=" + "," * 9999):
        with pytest.raises(SpecSyntaxError):
            parse_spec(text)
    assert parse_spec("@" + "1." * 20_000 + "1:").versions.contains("2")
    long_ok = " ".join(f"+v{i}" for i in range(5000))
    assert len(parse_spec("pkg " + long_ok).variants) == 5000
    assert time.perf_counter() - start < 2.0
