"""Relocation: real gcc-built packages moved to a shorter root must run; Spack's rules hold."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import random
import re
import shutil
import stat
import struct
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_spackcache.errors import InstallError
from jupyter_spackcache.formats.buildinfo import BuildInfo, parse_buildinfo
from jupyter_spackcache.formats.elf import GrowError, read_elf_paths, rewrite_patches
from jupyter_spackcache.install.extract import safe_extract
from jupyter_spackcache.install.relocate import (
    build_prefix_map,
    check_prefix_lengths,
    install_sbang,
    relocate,
)
from jupyter_spackcache.install.relocate.sbang import patched_shebang, sbang_script
from jupyter_spackcache.install.relocate.strings import StringRelocationError, string_patches
from jupyter_spackcache.install.relocate.text import TextRelocator
from jupyter_spackcache.spec.concrete import ConcreteDAG, ConcreteNode, Edge
from tests.support import elfbuild
from tests.support.fixtures import FIXTURES as SHARED_FIXTURES

V2_CACHE = SHARED_FIXTURES / "spack-upstream/mirrors/v2_layout/unsigned/build_cache"
SBANG_LINE = "#!/bin/sh {}\n"


def _node(name: str, dag_hash: str, *edges: Edge, external: str | None = None) -> ConcreteNode:
    return ConcreteNode(
        name, "1.0", dag_hash, "linux", "debian12", "x86_64", edges=edges, external=external
    )


def _single_node_dag(dag_hash: str) -> ConcreteDAG:
    return ConcreteDAG(dag_hash, {dag_hash: _node("demo", dag_hash)})


# ------------------------------------------------------------- a real package, end to end


@dataclasses.dataclass(frozen=True)
class Built:
    base: Path
    package: elfbuild.DemoPackage
    tarball: bytes
    runpath: bool


@pytest.fixture(scope="module", params=[False, True], ids=["RPATH", "RUNPATH"])
def built(request: pytest.FixtureRequest) -> Iterator[Built]:
    """A demo package compiled into a long padded root, packed, and its build dir deleted."""
    base = Path(tempfile.mkdtemp(prefix="r", dir="/tmp"))
    package = elfbuild.build_demo_package(base, new_dtags=request.param)
    tarball = elfbuild.pack_layout2(package.prefix)
    shutil.rmtree(base / "old")  # the relocated package must not find anything here
    yield Built(base, package, tarball, runpath=request.param)
    shutil.rmtree(base, ignore_errors=True)


def _install(built: Built, store_name: str) -> tuple[Path, Path]:
    """Extract to staging, relocate to ``<base>/<store_name>``, rename into place."""
    store = built.base / store_name
    prefix = store / "linux-x86_64" / f"demo-1.0-{elfbuild.DEMO_HASH}"
    prefix.parent.mkdir(parents=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=prefix.parent))
    info = safe_extract(io.BytesIO(built.tarball), staging)
    prefix_map = build_prefix_map(
        info,
        dag=_single_node_dag(elfbuild.DEMO_HASH),
        new_prefixes={elfbuild.DEMO_HASH: str(prefix)},
        new_store_root=str(store),
        new_sbang=str(store / "bin" / "sbang"),
    )
    check_prefix_lengths(prefix_map)
    relocate(staging, info, prefix_map)
    install_sbang(store)
    staging.rename(prefix)
    return store, prefix


def _run(*argv: str | Path) -> str:
    env = {"PATH": "/usr/bin:/bin"}  # in particular: no LD_LIBRARY_PATH
    return subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout


def test_relocated_binary_runs_from_its_new_prefix(built: Built) -> None:
    store, prefix = _install(built, "new")
    old_store = str(built.package.store)
    assert len(str(store)) < len(old_store)

    lines = dict(line.split("=", 1) for line in _run(prefix / "bin" / "demo").splitlines())
    # the library was found through the rewritten rpath, at its new place
    assert lines["lib"] == f"{prefix}/lib/libdemo.so"
    # bare C string whose tail differs: rewritten as new + NUL (shrinks by far more than 7)
    assert lines["store"] == str(store)
    # strings with a long tail are left-padded with '/', which path lookup ignores
    for key, expected in (("data", f"{prefix}/share/demo/data.txt"), ("libprefix", str(prefix))):
        padding, rest = lines[key][: -len(expected)], lines[key][-len(expected) :]
        assert rest == expected and set(padding) == {"/"}
        assert len(lines[key]) == len(expected) + len(old_store) - len(str(store))

    demo = read_elf_paths((prefix / "bin" / "demo").read_bytes())
    assert demo is not None and demo.rpath is not None
    assert demo.rpath.value == f"{prefix}/lib".encode()
    assert demo.is_runpath is built.runpath
    assert f"libdemo.so => {prefix}/lib/libdemo.so" in _run("ldd", prefix / "bin" / "demo")

    for path in prefix.rglob("*"):
        if path.is_file() and not path.is_symlink() and ".spack" not in path.parts:
            assert old_store.encode() not in path.read_bytes(), path


def test_text_links_and_long_shebangs(built: Built) -> None:
    store, prefix = _install(built, "s")

    assert (prefix / "share" / "demo" / "data.txt").read_text() == (
        f"data lives in {prefix}/share\n-I{prefix}/include\n"
    )
    assert os.readlink(prefix / "bin" / "demo-link") == f"{prefix}/bin/demo"
    assert os.readlink(prefix / "lib" / "libdemo.so.1") == "libdemo.so"
    assert (store / "bin" / "sbang").read_bytes() == sbang_script()

    sbang_first = SBANG_LINE.format(store / "bin" / "sbang")
    interpreter = f"#!{prefix}/libexec/{'d' * 70}/mysh\n"
    for name in ("long-raw", "long-sbang", "long-raw-hardlink"):
        script = prefix / "bin" / name
        assert script.read_text().startswith(sbang_first + interpreter), name
        assert stat.S_IMODE(script.stat().st_mode) == 0o755
        assert _run(script, "a b") == f"script-ran-with {script} a b\n"


def test_longer_new_root_is_refused_before_anything_changes(built: Built) -> None:
    long_store = built.base / ("x" * (len(str(built.package.store)) + 5))
    staging = Path(tempfile.mkdtemp(dir=built.base))
    info = safe_extract(io.BytesIO(built.tarball), staging)
    before = (staging / "bin" / "demo").read_bytes()
    prefix_map = build_prefix_map(
        info,
        dag=_single_node_dag(elfbuild.DEMO_HASH),
        new_prefixes={elfbuild.DEMO_HASH: f"{long_store}/demo"},
        new_store_root=str(long_store),
        new_sbang=f"{long_store}/bin/sbang",
    )
    with pytest.raises(InstallError, match="install root path is too long") as excinfo:
        check_prefix_lengths(prefix_map)
    assert excinfo.value.hint is not None and "shorter" in excinfo.value.hint

    # relocate() itself refuses to grow the rpath or an embedded string, naming the file
    with pytest.raises(
        InstallError, match=r"install root path is too long to relocate bin/demo: cannot grow"
    ):
        relocate(staging, dataclasses.replace(info, relocate_textfiles=()), prefix_map)
    assert (staging / "bin" / "demo").read_bytes() == before


# ------------------------------------------------------------- Spack's own fixture tarballs


def _dag_from_spec_json(path: Path) -> ConcreteDAG:
    nodes = {}
    for raw in json.loads(path.read_text())["spec"]["nodes"]:
        edges = tuple(
            Edge(d["name"], d["hash"], frozenset(d.get("parameters", {}).get("deptypes", ())))
            for d in raw.get("dependencies", [])
        )
        external = (raw.get("external") or {}).get("path")
        nodes[raw["hash"]] = _node(raw["name"], raw["hash"], *edges, external=external)
    root = json.loads(path.read_text())["spec"]["nodes"][0]["hash"]
    return ConcreteDAG(root, nodes)


@pytest.mark.parametrize("spack", sorted(V2_CACHE.rglob("*.spack")), ids=lambda p: p.name[:40])
def test_upstream_tarballs_relocate_text(spack: Path, tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    info = safe_extract(spack, staging)
    dag = _dag_from_spec_json(staging / ".spack" / "spec.json")
    store = "/opt/sc"
    new_prefixes = {h: f"{store}/{h[:7]}" for h in info.hash_to_prefix}
    prefix_map = build_prefix_map(
        info,
        dag=dag,
        new_prefixes=new_prefixes,
        new_store_root=store,
        new_sbang="/opt/sc/bin/sbang",
    )
    check_prefix_lengths(prefix_map)
    assert prefix_map[-1] == (info.buildpath, store)
    assert (info.old_prefix, new_prefixes[dag.root_hash]) in prefix_map

    manifest = staging / ".spack" / "install_manifest.json"
    original = manifest.read_bytes()
    relocate(staging, info, prefix_map)
    assert manifest.read_bytes() == original  # the tarball lists no files: nothing changes

    # What `spack buildcache create` would have listed had these been real text files.
    olds = [old.encode() for old, _ in prefix_map]
    texts = tuple(
        str(p.relative_to(staging))
        for p in staging.rglob("*")
        if p.is_file()
        and p.name != "binary_distribution"
        and any(o in p.read_bytes() for o in olds)
    )
    assert texts
    relocate(staging, dataclasses.replace(info, relocate_textfiles=texts), prefix_map)
    for name in texts:
        data = (staging / name).read_bytes()
        assert info.buildpath.encode() not in data, name
        assert store.encode() in data
    data = manifest.read_bytes()
    assert f"{new_prefixes[dag.root_hash]}/.spack/spec.json".encode() in data


# ------------------------------------------------------------------------------ prefix map


def test_prefix_map_order_and_filtering() -> None:
    link, run, build = frozenset({"link"}), frozenset({"run"}), frozenset({"build"})
    nodes = [
        _node("r", "R", Edge("a", "A", link), Edge("c", "C", run), Edge("d", "D", build)),
        _node("a", "A", Edge("b", "B", link), Edge("e", "E", link)),
        _node("b", "B"),
        _node("c", "C"),
        _node("d", "D"),
        _node("e", "E", external="/usr"),
    ]
    dag = ConcreteDAG("R", {n.hash: n for n in nodes})
    info = parse_buildinfo(
        "{buildpath: /old, sbang_install_path: /o/bin/sbang, hash_to_prefix: "
        "{R: /old/r, A: /old/a, B: /old/b, C: /old/c, D: /old/d, E: /usr}}"
    )
    news = {h: f"/new/{h.lower()}" for h in "RABCDE"} | {"B": "/old/b"}
    prefix_map = build_prefix_map(
        info, dag=dag, new_prefixes=news, new_store_root="/new", new_sbang="/n/bin/sbang"
    )
    assert prefix_map == [
        ("/o/bin/sbang", "/n/bin/sbang"),
        ("/old/r", "/new/r"),
        ("/old/a", "/new/a"),  # B maps to itself: dropped; E is external; D is build-only
        ("/old/c", "/new/c"),
        ("/old", "/new"),
    ]
    with pytest.raises(InstallError, match=r"no install prefix known for dependency a@1.0/A"):
        build_prefix_map(
            info, dag=dag, new_prefixes={"R": "/n/r"}, new_store_root="/n", new_sbang="/n/s"
        )


def test_check_prefix_lengths_exempts_sbang_only() -> None:
    check_prefix_lengths([("/o/bin/sbang", "/much/longer/bin/sbang"), ("/old/x", "/new")])
    with pytest.raises(InstallError, match=r"/longer/x \(9 characters\) must not be longer"):
        check_prefix_lengths([("/old/x", "/longer/x")])


# ------------------------------------------------------------------------------ text rule


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (b"-I/old/p/include -L/old/p/lib", b"-I/N/include -L/N/lib"),
        (b"prefix=/old/p\n", b"prefix=/N\n"),
        (b"/data/old/p stays", b"/data/old/p stays"),  # embedded in a longer path
        (b"/x/old/p stays", b"/x/old/p stays"),
        (b"x/old/p", b"x/N"),  # a leading run of word chars is kept, as in Spack
        (b"/old/p/sub/bin and /old/p/other", b"/S/bin and /N/other"),  # first match wins
        (
            b"/old/pp: path chars after the prefix are kept",
            b"/Np: path chars after the prefix are kept",
        ),
    ],
)
def test_text_rule(before: bytes, after: bytes) -> None:
    relocator = TextRelocator.from_map([("/old/p/sub", "/S"), ("/old/p", "/N")])
    assert relocator.apply(before) == after


def test_text_file_is_read_only_and_hardlinked(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    conf = tmp_path / "etc" / "a.conf"
    conf.write_text("root=/o/p\n")
    os.link(conf, tmp_path / "etc" / "b.conf")
    conf.chmod(0o444)
    info = parse_buildinfo(
        "{buildpath: /o, hash_to_prefix: {}, hardlinks_deduped: false, "
        "relocate_textfiles: [etc/a.conf, etc/b.conf, etc/missing.conf]}"
    )
    # the new prefix contains the old one: patching the inode twice would show
    relocate(tmp_path, info, [("/o/p", "/o/p/q")])
    assert conf.read_text() == "root=/o/p/q\n"
    assert stat.S_IMODE(conf.stat().st_mode) == 0o444


def test_listed_names_must_stay_inside_the_prefix(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "f").write_text("/o/p")
    prefix = tmp_path / "prefix"
    prefix.mkdir()
    os.symlink(outside, prefix / "sub")
    for name, message in (("../outside/f", "outside the prefix"), ("sub/f", "behind a symlink")):
        info = BuildInfo("/o", None, None, {}, (name,), (), (), True)
        with pytest.raises(InstallError, match=message):
            relocate(prefix, info, [("/o/p", "/n")])
    assert (outside / "f").read_text() == "/o/p"


# -------------------------------------------------------------------- embedded-string rule

MAP = [(b"/old/prefix/dep", b"/n/dep"), (b"/old/prefix", b"/n")]


def _patched(data: bytes, prefix_map: list[tuple[bytes, bytes]] = MAP) -> bytes:
    buffer = bytearray(data)
    for offset, replacement in string_patches(data, prefix_map):
        assert len(replacement) <= len(data) - offset
        buffer[offset : offset + len(replacement)] = replacement
    assert len(buffer) == len(data)
    return bytes(buffer)


def test_strings_are_left_padded_when_no_nul_is_near() -> None:
    data = b"\0/old/prefix/share/data/file\0"
    assert _patched(data) == b"\0" + b"/" * 9 + b"/n/share/data/file\0"


def test_strings_prefer_the_earlier_map_entry() -> None:
    data = b"/old/prefix/dep/lib/x.so\0/old/prefix/lib/y.so\0"
    assert _patched(data) == b"/" * 9 + b"/n/dep/lib/x.so\0" + b"/" * 9 + b"/n/lib/y.so\0"


def test_short_c_string_with_different_tail_is_rewritten_with_its_tail() -> None:
    # NUL within 7 bytes and the prefixes end differently: new + tail + NUL
    data = b"<</old/prefix/lib\0>>"
    assert _patched(data) == b"<</n/lib\0" + b"efix/lib\0>>"


def test_short_c_string_with_common_tail_is_padded() -> None:
    prefix_map = [(b"/aaaa/pkg-1234567", b"/b/pkg-1234567")]
    assert _patched(b"/aaaa/pkg-1234567\0", prefix_map) == b"////b/pkg-1234567\0"


def test_c_string_that_cannot_shrink_enough_is_an_error() -> None:
    with pytest.raises(StringRelocationError, match="cannot shorten the C string"):
        string_patches(b"/old/prefix/lib\0", [(b"/old/prefix", b"/new/pre")])


def test_strings_cannot_grow() -> None:
    with pytest.raises(StringRelocationError, match="cannot grow"):
        string_patches(b"x/o/p/y", [(b"/o/p", b"/longer")])


# -------------------------------------------------------------------------- ELF, synthetic


def _synthetic_elf(order: str, is64: bool, interp: bytes, rpath: bytes, tag: int) -> bytes:
    """A minimal ET_DYN image: one PT_LOAD over the file, PT_INTERP, PT_DYNAMIC, a strtab."""
    addr = "Q" if is64 else "I"
    ehdr = struct.Struct(f"{order}16sHHI{addr}{addr}{addr}IHHHHHH")
    phdr = struct.Struct(f"{order}IIQQQQQQ" if is64 else f"{order}IIIIIIII")
    dyn = struct.Struct(f"{order}qQ" if is64 else f"{order}iI")
    vbase = 0x400000
    ph_off = ehdr.size
    interp_off = ph_off + 3 * phdr.size
    strtab_off = interp_off + len(interp) + 1
    strtab = b"\0libc.so.6\0" + rpath + b"\0"
    dyn_off = strtab_off + len(strtab)
    entries = [(5, vbase + strtab_off), (10, len(strtab)), (1, 1), (tag, 11), (0, 0)]
    size = dyn_off + dyn.size * len(entries)

    def ph(kind: int, offset: int, length: int) -> bytes:
        if is64:
            return phdr.pack(kind, 4, offset, vbase + offset, vbase + offset, length, length, 8)
        return phdr.pack(kind, offset, vbase + offset, vbase + offset, length, length, 4, 4)

    ident = b"\x7fELF" + bytes([2 if is64 else 1, 1 if order == "<" else 2, 1]) + bytes(9)
    image = ehdr.pack(ident, 3, 0, 1, 0, ph_off, 0, 0, ehdr.size, phdr.size, 3, 0, 0, 0)
    image += ph(1, 0, size) + ph(3, interp_off, len(interp) + 1) + ph(2, dyn_off, size - dyn_off)
    image += interp + b"\0" + strtab + b"".join(dyn.pack(t, v) for t, v in entries)
    assert len(image) == size
    return image


@pytest.mark.parametrize(("order", "is64"), [(">", False), (">", True), ("<", False)])
def test_elf_reader_and_in_place_rewrite(order: str, is64: bool) -> None:
    rpath = b"/old/prefix/dep/lib:::/old/prefix/lib:/usr/lib"
    image = _synthetic_elf(order, is64, b"/old/prefix/glibc/ld.so", rpath, tag=29)
    paths = read_elf_paths(image)
    assert paths is not None and paths.is_runpath
    assert paths.rpath is not None and paths.rpath.value == rpath
    assert paths.interpreter is not None and paths.interpreter.value == b"/old/prefix/glibc/ld.so"

    patched = bytearray(image)
    for offset, replacement in rewrite_patches(paths, MAP):
        patched[offset : offset + len(replacement)] = replacement
    again = read_elf_paths(bytes(patched))
    assert again is not None and again.rpath is not None and again.interpreter is not None
    assert again.rpath.value == b"/n/dep/lib:/n/lib:/usr/lib"  # empty entries dropped
    assert again.interpreter.value == b"/n/glibc/ld.so"
    assert len(patched) == len(image)

    with pytest.raises(GrowError, match="rpath"):
        rewrite_patches(paths, [(b"/old/prefix", b"/a/much/longer/prefix/than/before")])


def test_non_elf_and_object_files_are_skipped() -> None:
    assert read_elf_paths(b"#!/bin/sh\n") is None
    relocatable = bytearray(_synthetic_elf("<", True, b"/x", b"/y", tag=15))
    relocatable[16:18] = struct.pack("<H", 1)  # ET_REL
    assert read_elf_paths(bytes(relocatable)) is None


def test_non_elf_listed_as_binary_gets_string_pass_only(tmp_path: Path) -> None:
    (tmp_path / "blob.dat").write_bytes(b"MZ..../old/prefix/share/x\0")
    info = BuildInfo("/old", None, None, {}, (), ("blob.dat",), (), True)
    relocate(tmp_path, info, [("/old/prefix", "/n")])
    assert (tmp_path / "blob.dat").read_bytes() == b"MZ...." + b"/" * 9 + b"/n/share/x\0"


# ------------------------------------------------------------------------------ sbang


@pytest.mark.parametrize(
    ("interpreter", "second"),
    [
        ("/bin/python3", "#!{}\n"),
        ("/bin/lua", "--!{}\n"),
        ("/bin/luajit", "--!{}\n"),
        ("/bin/node", "//!{}\n"),
        ("/bin/php", "<?php #!{} ?>\n"),
    ],
)
def test_patched_shebang_comment_styles(interpreter: str, second: str) -> None:
    long_path = "/" + "p" * 130 + interpreter
    new_first = b"#!/bin/sh /s/bin/sbang\n"
    lines = patched_shebang(f"#!{long_path}\n".encode(), new_first)
    assert lines == new_first + second.format(long_path).encode()
    assert patched_shebang(b"#!/bin/sh\n", new_first) is None


def test_sbang_script_runs_the_second_line(tmp_path: Path) -> None:
    sbang = install_sbang(tmp_path)
    assert stat.S_IMODE(sbang.stat().st_mode) == 0o755
    inode = sbang.stat().st_ino
    assert install_sbang(tmp_path) == sbang and sbang.stat().st_ino == inode

    env = {"PATH": "/usr/bin:/bin", "SBANG_DEBUG": "1"}
    cases = {
        "perl": ("#!/usr/bin/env perl -w\n", "/usr/bin/env perl -w -x {} arg"),
        "php": ("<?php #!/opt/php/bin/php -n ?>\n", "/opt/php/bin/php -n {} arg"),
        "lua": ("--!/opt/lua/bin/lua\n", "/opt/lua/bin/lua {} arg"),
    }
    for name, (second, expected) in cases.items():
        script = tmp_path / name
        script.write_text(f"#!/bin/sh {sbang}\n{second}body\n")
        out = subprocess.run(
            ["/bin/sh", str(sbang), str(script), "arg"], env=env, capture_output=True, text=True
        )
        assert out.stdout == expected.format(script) + "\n", name

    missing = subprocess.run(["/bin/sh", str(sbang), str(tmp_path / "nope")], capture_output=True)
    assert missing.returncode == 1 and b"no such file" in missing.stderr


def test_text_shortcut_equals_the_plain_regex() -> None:
    """The find-then-match shortcut must give exactly what Spack's whole-file regex gives."""
    prefix_map = {b"/old/p/sub": b"/S", b"/old/p": b"/N", b"/old": b"/O"}
    spack_rule = re.compile(rb"(?<![\w\-_/])([\w\-_]*?)(/old/p/sub|/old/p|/old)([\w\-_/]*)")
    pieces = [b"/old/p", b"/old/p/sub", b"/old", b"-I", b"x", b"_", b"-", b"/", b" ", b"=", b"\n"]
    relocator = TextRelocator.from_map([("/old/p/sub", "/S"), ("/old/p", "/N"), ("/old", "/O")])
    rng = random.Random(1234)
    for _ in range(3000):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        expected = spack_rule.sub(lambda m: m[1] + prefix_map[m[2]] + m[3], data)
        assert relocator.apply(data) == expected, data
