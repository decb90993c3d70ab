"""Choosing binaries for a host, and explaining why nothing fits."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_spackcache.config import HostOverrides
from jupyter_spackcache.errors import ResolveError
from jupyter_spackcache.host import Host, detect_host
from jupyter_spackcache.resolve import resolve
from jupyter_spackcache.spec.parser import parse_spec
from tests.support.synth import N, glibc, make_index, runtime

HASWELL = detect_host(
    HostOverrides(platform="linux", os="debian12", target="haswell", libc="glibc@2.36:/usr")
)


def _gromacs(
    version: str, target: str, libc: str = "2.35", mpi: str = "openmpi", salt: str = ""
) -> N:
    rt = runtime(glibc(libc), target=target)
    mpi_node = N(mpi, "4.1.6", target=target, deps=[(rt, ("link",), ())])
    return N(
        "gromacs",
        version,
        target=target,
        variants={"mpi": True},
        salt=salt,
        deps=[(mpi_node, ("build", "link"), ("mpi",)), (rt, ("link",), ())],
    )


def test_explains_every_rejected_group(tmp_path: Path) -> None:
    roots = [_gromacs("2023.1", "zen4", salt=str(i)) for i in range(8)]
    roots += [_gromacs("2023.1", "x86_64_v3", libc="2.38", salt=str(i)) for i in range(4)]
    index = make_index(tmp_path, roots)
    result = resolve(parse_spec("gromacs@2023 +mpi ^openmpi"), [index], HASWELL)
    assert result.chosen is None
    assert result.explain() == (
        "12 builds of gromacs: 8 need target zen4 (this host: haswell), "
        "4 need glibc 2.38 (host: 2.36)"
    )
    with pytest.raises(ResolveError) as err:
        result.raise_if_unresolved()
    assert "available versions: 2023.1" in (err.value.hint or "")


def test_prefers_newest_then_most_specific_target_then_fewest_downloads(tmp_path: Path) -> None:
    old = _gromacs("2022.5", "haswell")
    generic = _gromacs("2023.1", "x86_64_v3")
    specific = _gromacs("2023.1", "haswell")
    foreign = _gromacs("2024.1", "zen4")
    index = make_index(tmp_path, [old, generic, specific, foreign])
    chosen = resolve(parse_spec("gromacs"), [index], HASWELL).raise_if_unresolved()
    assert chosen.root.hash == specific.hash
    assert [n.name for n in chosen.runtime] == ["glibc", "gcc-runtime", "openmpi", "gromacs"]
    assert {n.name for n in chosen.to_download} == {"gcc-runtime", "openmpi", "gromacs"}

    # the version constraint picks the older one; @2022 is a range matching 2022.5
    chosen = resolve(parse_spec("gromacs@2022"), [index], HASWELL).raise_if_unresolved()
    assert chosen.root.hash == old.hash

    # equal version and target: fewer downloads wins
    a = _gromacs("2023.1", "haswell", salt="a")
    b = _gromacs("2023.1", "haswell", salt="b")
    index2 = make_index(tmp_path / "2", [a, b])
    installed = {n.hash for n in [b] + [d for d, _, _ in b.deps]}
    pick = resolve(parse_spec("gromacs"), [index2], HASWELL, installed=installed.__contains__)
    assert pick.raise_if_unresolved().root.hash == b.hash
    assert pick.candidates[0].to_download == ()


def test_dependency_and_virtual_constraints(tmp_path: Path) -> None:
    with_openmpi = _gromacs("2023.1", "haswell", mpi="openmpi")
    with_mpich = _gromacs("2023.1", "haswell", mpi="mpich", salt="m")
    index = make_index(tmp_path, [with_openmpi, with_mpich])
    for text, expected in [
        ("gromacs ^mpich", with_mpich),
        ("gromacs ^openmpi@4.1:", with_openmpi),
    ]:
        assert resolve(parse_spec(text), [index], HASWELL).raise_if_unresolved().root.hash == (
            expected.hash
        )
    assert resolve(parse_spec("gromacs ^mpi"), [index], HASWELL).chosen is not None
    miss = resolve(parse_spec("gromacs ~mpi"), [index], HASWELL)
    assert miss.chosen is None and miss.rejections[0][1] == 2
    assert miss.rejections[0][0].startswith("do not match")


def test_foreign_externals_and_uncached_nodes_are_rejected(tmp_path: Path) -> None:
    cuda = N("cuda", "12.0", external="/opt/cuda")
    needs_cuda = N("app", "1.0", deps=[(cuda, ("link",), ())])
    missing_dep = N("lib", "1.0", in_buildcache=False)
    needs_missing = N("tool", "2.0", deps=[(missing_dep, ("link",), ())])
    build_only = N("cmake", "3.27", in_buildcache=False)
    fine = N("other", "1.0", deps=[(build_only, ("build",), ())])
    index = make_index(tmp_path, [needs_cuda, needs_missing, fine])
    assert resolve(parse_spec("app"), [index], HASWELL).explain() == (
        "1 build of app: 1 need the external cuda at /opt/cuda, not provided here"
    )
    assert (
        "need lib, which is not in the build cache"
        in resolve(parse_spec("tool"), [index], HASWELL).explain()
    )
    # build-only dependencies are never needed for a binary install
    assert resolve(parse_spec("other"), [index], HASWELL).chosen is not None


def test_platform_and_libc_path(tmp_path: Path) -> None:
    mac = N("zlib", "1.3", platform="darwin", os="sonoma", target="m1")
    other_libc = N("zlib", "1.3.1", deps=[(runtime(glibc("2.30", "/opt/glibc")), ("link",), ())])
    index = make_index(tmp_path, [mac, other_libc])
    text = resolve(parse_spec("zlib"), [index], HASWELL).explain()
    assert "1 are built for platform darwin (this host: linux)" in text
    assert "1 need glibc at /opt/glibc (this host's is at /usr)" in text


def test_unknown_package_suggests_names(tmp_path: Path) -> None:
    index = make_index(tmp_path, [_gromacs("2023.1", "haswell")])
    result = resolve(parse_spec("gromac"), [index], HASWELL)
    assert result.explain() == (
        "no package named 'gromac' in any configured mirror (did you mean: gromacs?)"
    )


def test_a_name_present_only_as_an_external_is_not_suggested_back(tmp_path: Path) -> None:
    cuda = N("cuda", "12.0", external="/opt/cuda")
    index = make_index(tmp_path, [N("app", "1.0", deps=[(cuda, ("link",), ())])])
    result = resolve(parse_spec("cuda"), [index], HASWELL)
    assert result.chosen is None and result.suggestions == ()
    assert result.explain() == (
        "'cuda' is in the configured mirrors only as an external or build-only dependency "
        "of other packages, not as a build to install"
    )


def test_hash_prefix_and_first_mirror_wins(tmp_path: Path) -> None:
    g = _gromacs("2023.1", "haswell")
    first = make_index(tmp_path / "a", [g], name="first")
    second = make_index(tmp_path / "b", [g], name="second")
    result = resolve(parse_spec(f"/{g.hash[:6]}"), [first, second], HASWELL)
    assert result.raise_if_unresolved().source == "first"
    assert len(result.candidates) == 1


def test_host_overrides_and_ancestry() -> None:
    host: Host = detect_host(HostOverrides(target="zen3", platform="linux", libc="none"))
    assert host.compatible_targets[:3] == ("zen3", "zen2", "zen")
    assert host.target_distance("x86_64") == len(host.compatible_targets) - 1
    assert host.target_distance("zen4") is None and host.libc is None


def test_libc_is_detected_like_spack_from_the_dynamic_linker() -> None:
    """glibc's version and prefix come from the running Python's PT_INTERP, as in Spack 1.x."""
    import os
    import sys

    from jupyter_spackcache.host import _interpreter, _libc_from_dynamic_linker

    linker = _interpreter(sys.executable)
    assert linker is not None and os.path.exists(linker)
    libc = _libc_from_dynamic_linker(linker)
    assert libc is not None and libc.name == "glibc"
    assert libc.version == os.confstr("CS_GNU_LIBC_VERSION").split()[1]  # type: ignore[union-attr]
    assert os.path.isdir(os.path.join(libc.path, "lib")) and libc.path != "/"
    assert _libc_from_dynamic_linker("/nonexistent/ld.so") is None
