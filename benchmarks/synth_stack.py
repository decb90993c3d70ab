"""Generate a signed v3 mirror of a synthetic 61-node, WRF-shaped stack for the installer bench.

Every package is a real prefix in a long padded build root, as Spack's CI builds them:

* a shared library compiled by the host's gcc with the prefix compiled in, ``NEEDED``
  entries on its direct link deps and an ``RPATH`` naming every transitive link dep;
* an executable for the packages that ship one;
* "bulk" ELF objects (the compiled library with payload appended, so the relocator has to
  scan them like a big real ``.so``), static archives and data files: a seeded mix of
  incompressible random bytes and compressible text, sized so the tarballs total about
  300 MB with a realistic spread (a handful of 25-60 MB packages, many small ones);
* headers, a pkg-config file and a CMake config naming the prefix and its deps.

The output is deterministic for a seed (the signature aside: gpg timestamps it). A finished
mirror is cached under ``--work``; reruns reuse it.

    python benchmarks/synth_stack.py --work /tmp/synth-stack
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_spackcache.demo.build import Toolchain, detect_toolchain, padded_root
from jupyter_spackcache.formats.clearsign import strip_clearsign
from jupyter_spackcache.formats.specfile import (
    dag_closure,
    make_node,
    make_specfile,
    package_hash,
)
from jupyter_spackcache.formats.v3layout import MEDIA_TARBALL_PREFIX, parse_manifest
from jupyter_spackcache.push import V3MirrorWriter, create_tarball, make_buildinfo
from jupyter_spackcache.trust import Keyring

MB = 1024 * 1024
#: share of incompressible bytes in bulk files
RANDOM_SHARE = 0.25
ROOT = "wrf"
INFO_FILE = "stack.json"
KEY_NAME, KEY_EMAIL = "synthetic stack bench", "bench@jupyter-spackcache.invalid"


@dataclass(frozen=True, slots=True)
class Pkg:
    """One package of the stack: deps, compressed size target (MB), file count, executable."""

    name: str
    version: str
    link: tuple[str, ...] = ()
    run: tuple[str, ...] = ()
    mb: float = 0.5
    files: int = 25
    exe: bool = False


def _p(
    name: str,
    version: str,
    link: str = "",
    run: str = "",
    mb: float = 0.5,
    files: int = 25,
    exe: bool = False,
) -> Pkg:
    return Pkg(name, version, tuple(link.split()), tuple(run.split()), mb, files, exe)


_RT = "gcc-runtime"
#: dependencies first; every package also links gcc-runtime (as Spack's do)
STACK: tuple[Pkg, ...] = (
    _p("gcc-runtime", "13.2.0", mb=1.8, files=30),
    _p("zlib-ng", "2.2.1", mb=0.3, files=12),
    _p("zstd", "1.5.6", mb=1.2, files=20, exe=True),
    _p("xz", "5.4.6", mb=1.0, files=60, exe=True),
    _p("bzip2", "1.0.8", mb=0.3, files=18, exe=True),
    _p("libiconv", "1.17", mb=1.3, files=40),
    _p("libmd", "1.0.4", mb=0.1, files=12),
    _p("libbsd", "0.12.1", "libmd", mb=0.3, files=60),
    _p("expat", "2.6.2", "libbsd", mb=0.4, files=20, exe=True),
    _p("libxml2", "2.10.3", "libiconv xz zlib-ng", mb=2.6, files=120, exe=True),
    _p("ncurses", "6.5", mb=3.5, files=420, exe=True),
    _p("readline", "8.2", "ncurses", mb=0.8, files=40),
    _p("libedit", "3.1", "ncurses", mb=0.4, files=30),
    _p("openssl", "3.3.1", "zlib-ng", mb=9.0, files=260, exe=True),
    _p("ca-certificates-mozilla", "2023-05-30", mb=0.2, files=3),
    _p("nghttp2", "1.62.0", mb=0.5, files=20),
    _p(
        "curl",
        "8.8.0",
        "nghttp2 openssl zlib-ng",
        run="ca-certificates-mozilla",
        mb=1.5,
        files=90,
        exe=True,
    ),
    _p("libaec", "1.0.6", mb=0.2, files=15, exe=True),
    _p("numactl", "2.0.18", mb=0.3, files=25, exe=True),
    _p("libpciaccess", "0.17", mb=0.1, files=10),
    _p("hwloc", "2.11.1", "libpciaccess libxml2 ncurses", mb=3.0, files=140, exe=True),
    _p("libevent", "2.1.12", "openssl", mb=0.8, files=70),
    _p("pmix", "5.0.3", "hwloc libevent zlib-ng", mb=4.0, files=210),
    _p("prrte", "3.0.6", "hwloc libevent pmix", mb=2.0, files=120, exe=True),
    _p("krb5", "1.21.3", "libedit openssl", mb=3.2, files=160, exe=True),
    _p("libxcrypt", "4.4.35", mb=0.2, files=12),
    _p(
        "openssh",
        "9.8p1",
        "krb5 libedit libxcrypt ncurses openssl zlib-ng",
        mb=3.5,
        files=60,
        exe=True,
    ),
    _p("libnl", "3.3.0", mb=0.8, files=90),
    _p("rdma-core", "52.0", "libnl", mb=2.2, files=140, exe=True),
    _p("ucx", "1.17.0", "numactl rdma-core zlib-ng", mb=6.0, files=180, exe=True),
    _p(
        "openmpi",
        "5.0.5",
        "hwloc libevent numactl pmix prrte ucx zlib-ng",
        run="openssh",
        mb=34.0,
        files=900,
        exe=True,
    ),
    _p("hdf5", "1.14.5", "libaec openmpi zlib-ng", mb=16.0, files=420, exe=True),
    _p("libtool", "2.4.7", mb=0.6, files=30),
    _p(
        "netcdf-c",
        "4.9.2",
        "bzip2 curl hdf5 libxml2 openmpi xz zlib-ng zstd",
        mb=4.5,
        files=110,
        exe=True,
    ),
    _p("netcdf-fortran", "4.6.1", "netcdf-c openmpi", mb=2.0, files=70, exe=True),
    _p("parallel-netcdf", "1.12.3", "openmpi", mb=5.0, files=90, exe=True),
    _p("libjpeg-turbo", "3.0.3", mb=1.5, files=45, exe=True),
    _p("libpng", "1.6.39", "zlib-ng", mb=0.9, files=35, exe=True),
    _p("jasper", "4.2.4", "libjpeg-turbo", mb=1.0, files=55, exe=True),
    _p("gdbm", "1.23", "readline", mb=0.5, files=25, exe=True),
    _p("berkeley-db", "18.1.40", mb=4.0, files=70, exe=True),
    _p("perl", "5.40.0", "berkeley-db bzip2 gdbm zlib-ng", mb=32.0, files=1400, exe=True),
    _p("libffi", "3.4.6", mb=0.2, files=15),
    _p("sqlite", "3.46.0", "readline zlib-ng", mb=3.0, files=15, exe=True),
    _p("util-linux-uuid", "2.40.2", mb=0.2, files=15),
    _p("gettext", "0.22.5", "libiconv libxml2 ncurses xz", mb=8.0, files=600, exe=True),
    _p("pcre2", "10.44", "bzip2 zlib-ng", mb=1.8, files=50, exe=True),
    _p(
        "python",
        "3.11.9",
        "bzip2 expat gdbm gettext libffi libxcrypt ncurses openssl readline "
        "sqlite util-linux-uuid xz zlib-ng",
        mb=52.0,
        files=2600,
        exe=True,
    ),
    _p("m4", "1.4.19", mb=0.4, files=10, exe=True),
    _p("diffutils", "3.10", "libiconv", mb=0.8, files=40, exe=True),
    _p("findutils", "4.9.0", mb=0.7, files=35, exe=True),
    _p("gmp", "6.3.0", mb=1.0, files=15),
    _p("mpfr", "4.2.1", "gmp", mb=0.7, files=20),
    _p("gawk", "5.3.0", "gmp mpfr readline", mb=1.8, files=90, exe=True),
    _p("pkgconf", "2.2.0", mb=0.2, files=25, exe=True),
    _p("udunits", "2.2.28", "expat", mb=0.6, files=40, exe=True),
    _p("time", "1.9", mb=0.1, files=6, exe=True),
    _p("tcsh", "6.24.0", "ncurses", mb=0.7, files=30, exe=True),
    _p("libtirpc", "1.3.3", "krb5", mb=0.4, files=60),
    _p("wrf-python-tools", "1.0", "python", run="perl", mb=0.3, files=20, exe=True),
    _p(
        "wrf",
        "4.6.1",
        "hdf5 jasper libpng libtirpc libtool netcdf-c netcdf-fortran openmpi "
        "parallel-netcdf udunits zlib-ng",
        run="m4 perl tcsh time diffutils findutils gawk pkgconf pcre2 wrf-python-tools",
        mb=60.0,
        files=700,
        exe=True,
    ),
)

_C_SOURCE = r"""
#include <stdio.h>
const char *PKG_PREFIX = PREFIX;
const char *PKG_DATA = PREFIX "/share/" NAME;
int SYM(void) { return (int)sizeof(PREFIX); }
#ifdef MAIN
int main(void) { printf("%s %d\n", PKG_PREFIX, SYM()); return 0; }
#endif
"""


def _slug(name: str) -> str:
    return name.replace("-", "_")


def _link_closure(name: str, pkgs: Mapping[str, Pkg]) -> list[str]:
    """``name``'s transitive link deps (breadth first), gcc-runtime included."""
    order: list[str] = []
    todo = [*pkgs[name].link, *([_RT] if name != _RT else [])]
    while todo:
        dep = todo.pop(0)
        if dep not in order:
            order.append(dep)
            todo.extend(pkgs[dep].link)
    return order


def plan_nodes(tc: Toolchain) -> dict[str, dict[str, Any]]:
    """Concrete node dicts by name (externals gcc and glibc included). Pure."""
    gcc = make_node(
        "gcc",
        tc.gcc_version,
        platform=tc.platform,
        os=tc.os,
        target=tc.target,
        variants={"build_system": "generic", "languages": ["c", "c++", "fortran"]},
        external=str(Path(tc.gcc).parent.parent),
        external_attributes={"compilers": {"c": tc.gcc}},
    )
    glibc = make_node(
        "glibc",
        tc.libc_version,
        platform=tc.platform,
        os=tc.os,
        target=tc.target,
        variants={"build_system": "autotools"},
        external="/usr",
    )
    nodes = {"gcc": gcc, "glibc": glibc}
    for pkg in STACK:
        deps: list[tuple[str, str, Sequence[str], Sequence[str]]] = [
            ("gcc", gcc["hash"], ("build",), ("c",)),
            ("glibc", glibc["hash"], ("link",), ("libc",)),
        ]
        if pkg.name != _RT:
            deps.append((_RT, nodes[_RT]["hash"], ("link",), ()))
        deps += [(d, nodes[d]["hash"], ("build", "link"), ()) for d in pkg.link]
        deps += [(d, nodes[d]["hash"], ("run",), ()) for d in pkg.run]
        nodes[pkg.name] = make_node(
            pkg.name,
            pkg.version,
            platform=tc.platform,
            os=tc.os,
            target=tc.target,
            deps=deps,
            recipe_hash=package_hash(repr(pkg).encode()),
        )
    return nodes


class Payload:
    """Seeded bulk bytes: random (incompressible) and text-like (gzip ~3.7x) in a given mix."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(seed)
        words = [
            "".join(rng.choices("abcdefghijklmnopqrstuvwxyz_", k=rng.randint(2, 11)))
            for _ in range(1000)
        ]
        weights = [1 / (rank + 1) ** 1.1 for rank in range(len(words))]  # Zipf-like
        self.corpus = " ".join(rng.choices(words, weights=weights, k=700_000)).encode()
        #: how well gzip -6 shrinks the text (about 3.7x), to size files for a compressed target
        self.text_ratio = len(self.corpus) / len(zlib.compress(self.corpus, 6))

    def make(self, rng: random.Random, size: int, random_share: float) -> bytes:
        """``size`` bytes, interleaving 16 KiB chunks of random data and corpus text."""
        out = bytearray()
        while len(out) < size:
            n = min(16384, size - len(out))
            if rng.random() < random_share:
                out += rng.randbytes(n)
            else:
                start = rng.randrange(0, len(self.corpus) - n)
                out += self.corpus[start : start + n]
        return bytes(out)


def _gcc(tc: Toolchain, args: list[str]) -> None:
    done = subprocess.run([tc.gcc, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"gcc failed: {done.stderr.strip()[-400:]}")


def _compile(
    pkg: Pkg, tc: Toolchain, prefixes: Mapping[str, Path], closure: list[str], src: Path
) -> Path:
    """lib<slug>.so (and bin/<name>) with the prefix compiled in and RPATHs to the closure."""
    prefix = prefixes[pkg.name]
    slug = _slug(pkg.name)
    defs = [f'-DPREFIX="{prefix}"', f'-DNAME="{pkg.name}"', f"-DSYM={slug}_id", "-O2", "-g0"]
    libs = ["-Wl,--disable-new-dtags", "-Wl,--no-as-needed"]
    for dep in closure:
        libs += [f"-L{prefixes[dep]}/lib", f"-Wl,-rpath,{prefixes[dep]}/lib"]
    libs += [f"-l{_slug(d)}" for d in (*pkg.link, *([_RT] if pkg.name != _RT else []))]
    lib = prefix / "lib" / f"lib{slug}.so"
    lib.parent.mkdir(parents=True, exist_ok=True)
    _gcc(
        tc,
        ["-shared", "-fPIC", *defs, str(src), "-o", str(lib), f"-Wl,-soname,lib{slug}.so", *libs],
    )
    if pkg.exe:
        exe = prefix / "bin" / pkg.name
        exe.parent.mkdir(parents=True, exist_ok=True)
        _gcc(
            tc,
            [
                "-DMAIN",
                *defs,
                str(src),
                "-o",
                str(exe),
                f"-Wl,-rpath,{prefix}/lib",
                f"-L{prefix}/lib",
                f"-l{slug}",
                *libs,
            ],
        )
    return lib


def _text_files(
    pkg: Pkg,
    prefix: Path,
    prefixes: Mapping[str, Path],
    closure: list[str],
    rng: random.Random,
    count: int,
) -> None:
    """Headers (some naming the prefix), a pkg-config file and a CMake config."""
    slug = _slug(pkg.name)
    (prefix / "lib" / "pkgconfig").mkdir(parents=True, exist_ok=True)
    deps = " ".join(closure[:6])
    (prefix / "lib" / "pkgconfig" / f"{pkg.name}.pc").write_text(
        f"prefix={prefix}\nlibdir=${{prefix}}/lib\nincludedir=${{prefix}}/include\n\n"
        f"Name: {pkg.name}\nVersion: {pkg.version}\nRequires: {deps}\n"
        f"Libs: -L${{libdir}} -Wl,-rpath,${{libdir}} -l{slug}\nCflags: -I${{includedir}}\n"
    )
    cmake = prefix / "lib" / "cmake" / pkg.name
    cmake.mkdir(parents=True, exist_ok=True)
    dirs = "\n".join(f'set({_slug(d).upper()}_DIR "{prefixes[d]}")' for d in closure)
    (cmake / f"{pkg.name}-config.cmake").write_text(
        f'set({slug.upper()}_PREFIX "{prefix}")\n{dirs}\n'
        f'set({slug.upper()}_LIBRARIES "{prefix}/lib/lib{slug}.so")\n'
    )
    inc = prefix / "include" / pkg.name
    inc.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        note = f"/* installed in {prefix}/include */\n" if i % 4 == 0 else ""
        body = "".join(
            f"int {slug}_f{i}_{k}(int x, double *y);\n" for k in range(rng.randint(5, 60))
        )
        (inc / f"{slug}_{i}.h").write_text(f"#pragma once\n{note}{body}")


def _bulk_files(
    pkg: Pkg, prefix: Path, lib: Path, payload: Payload, rng: random.Random, count: int
) -> None:
    """Bulk bytes: ELF objects with payload appended, a static archive and data files.

    The uncompressed size is chosen so that gzip brings it near ``pkg.mb`` (random data does
    not compress, corpus text shrinks about 3.7x; a quarter of the bytes are random, so the
    whole compresses ~2.2x, like real binaries and data).
    """
    share = RANDOM_SHARE
    total = int(pkg.mb * MB / (share + (1 - share) / payload.text_ratio))
    elf = lib.read_bytes()
    marker = f"\0{prefix}/lib\0".encode()
    n_elf = max(1, count // 10)
    sizes = [rng.paretovariate(1.2) for _ in range(count)]
    scale = total / sum(sizes)
    for i, weight in enumerate(sizes):
        size = max(256, int(weight * scale))
        body = payload.make(rng, size, share)
        if i < n_elf:
            path = prefix / "lib" / f"lib{_slug(pkg.name)}_part{i}.so.{pkg.version}"
            data = elf + marker + body
        elif i % 7 == 1:
            path = prefix / "lib" / f"lib{_slug(pkg.name)}_{i}.a"
            data = b"!<arch>\n" + body
        else:
            path = prefix / "share" / pkg.name / f"data{i // 50}" / f"f{i}.dat"
            data = body
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if i < n_elf:
            path.chmod(0o755)


def build_package(
    pkg: Pkg,
    tc: Toolchain,
    prefixes: Mapping[str, Path],
    closure: list[str],
    payload: Payload,
    src: Path,
    seed: int,
) -> None:
    """Fill ``prefixes[pkg.name]`` (the spec file is written by the caller)."""
    rng = random.Random(seed * 1_000_003 + zlib.crc32(pkg.name.encode()))
    prefix = prefixes[pkg.name]
    lib = _compile(pkg, tc, prefixes, closure, src)
    n_text = max(1, pkg.files // 3)
    _text_files(pkg, prefix, prefixes, closure, rng, n_text)
    _bulk_files(pkg, prefix, lib, payload, rng, max(2, pkg.files - n_text - 3))
    os.symlink(f"lib{_slug(pkg.name)}.so", prefix / "lib" / f"lib{_slug(pkg.name)}.so.1")


def generate(work: Path, *, seed: int = 42, key_length: int = 4096) -> dict[str, Any]:
    """Build the stack and push it to ``<work>/mirror`` (signed); cached in ``stack.json``."""
    info_path = work / INFO_FILE
    if info_path.exists():
        cached: dict[str, Any] = json.loads(info_path.read_text())
        if cached.get("seed") == seed:
            return cached
    mirror = work / "mirror"
    shutil.rmtree(mirror, ignore_errors=True)
    tc = detect_toolchain()
    nodes = plan_nodes(tc)
    by_hash = {n["hash"]: n for n in nodes.values()}
    pkgs = {p.name: p for p in STACK}
    build = work / "build"
    shutil.rmtree(build, ignore_errors=True)
    unpadded = str(build.absolute() / "store")
    store_root = padded_root(unpadded, 256)
    prefixes = {
        p.name: Path(store_root)
        / f"{tc.platform}-{tc.target}"
        / f"{p.name}-{p.version}-{nodes[p.name]['hash']}"
        for p in STACK
    }
    payload = Payload(seed)
    gnupg = Path(tempfile.mkdtemp(prefix="g", dir="/tmp"))
    try:
        with Keyring(gnupg) as keyring:
            fpr = keyring.create_key(KEY_NAME, KEY_EMAIL, key_length=key_length).fingerprint
            writer = V3MirrorWriter(mirror, keyring=keyring, signing_key=fpr)
            src = build / "pkg.c"
            build.mkdir(parents=True)
            src.write_text(_C_SOURCE)
            tarballs = build / "tarballs"
            for pkg in STACK:
                closure = _link_closure(pkg.name, pkgs)
                prefix = prefixes[pkg.name]
                (prefix / ".spack").mkdir(parents=True)
                build_package(pkg, tc, prefixes, closure, payload, src, seed)
                specfile = make_specfile(dag_closure(nodes[pkg.name], by_hash))
                (prefix / ".spack" / "spec.json").write_text(
                    json.dumps({"spec": specfile["spec"]}, separators=(",", ":"))
                )
                relocated = [pkg.name, *closure, *pkg.run]
                buildinfo = make_buildinfo(
                    prefix,
                    store_root=store_root,
                    sbang_path=f"{unpadded}/bin/sbang",
                    hash_to_prefix={nodes[d]["hash"]: str(prefixes[d]) for d in relocated},
                )
                tarball = tarballs / f"{pkg.name}.tar.gz"
                create_tarball(prefix, tarball, buildinfo=buildinfo)
                writer.add(specfile, tarball)
                print(f"  {pkg.name:<26} {tarball.stat().st_size / MB:6.1f} MB", flush=True)
            writer.add_key(fpr)
            writer.write_index()
    finally:
        shutil.rmtree(gnupg, ignore_errors=True)
        shutil.rmtree(build, ignore_errors=True)
    sizes = [t.stat().st_size for t in tarball_paths(mirror)]
    info = {
        "seed": seed,
        "mirror": str(mirror),
        "root": ROOT,
        "fingerprint": fpr,
        "packages": len(STACK),
        "build_prefix_length": len(store_root),
        "tarball_bytes": sum(sizes),
        "largest_mb": [round(s / MB, 1) for s in sizes[:6]],
    }
    info_path.write_text(json.dumps(info, indent=1))
    return info


def tarball_paths(mirror: Path) -> list[Path]:
    """The package tarballs the mirror's spec manifests list, largest first."""
    found = []
    for manifest in mirror.rglob("*.spec.manifest.json"):
        text = strip_clearsign(manifest.read_text(encoding="utf-8"))
        record = parse_manifest(text, what=manifest.name).first(MEDIA_TARBALL_PREFIX, what="")
        found.append(mirror / record.path)
    return sorted(found, key=lambda p: p.stat().st_size, reverse=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="cache directory")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    info = generate(args.work.absolute(), seed=args.seed)
    print(json.dumps(info, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
