"""Write a large, deterministic synthetic Spack binary index (DB v8, spec format 5).

The benchmark needs an index the size and shape of Spack's public develop cache (about
50,000 nodes in 185 MB of JSON, ~3.5 KB a node) without downloading it. The nodes here follow
buildcache-format.md §2 and §3.2: microarchitecture targets as archspec dicts, generic ones as
strings, compilers as external build dependencies with c/cxx/fortran virtuals, ``gcc-runtime``
link edges, an external ``glibc`` reached through the ``libc`` virtual, build-only tools that
were never pushed, and a few nodes converted from format 4.

Everything comes from one seeded ``random.Random``: the same arguments give the same bytes.

    python benchmarks/synth_index.py --nodes 50000 --out /tmp/index.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from base64 import b32encode
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import archspec.cpu

FLAGS = ("cflags", "cppflags", "cxxflags", "fflags", "ldflags", "ldlibs")
_dump = json.JSONEncoder(separators=(",", ":")).encode  # Spack writes indices compactly


def _words(text: str) -> list[str]:
    return text.split()


@dataclass(frozen=True)
class Stack:
    """One build configuration of the cache: every node of a DAG shares it."""

    os: str
    target: str
    glibc: str
    gcc: str
    platform: str = "linux"


STACKS = (
    Stack("ubuntu22.04", "x86_64_v3", "2.35", "11.4.0"),
    Stack("ubuntu24.04", "x86_64_v3", "2.39", "13.2.0"),
    Stack("rhel8", "x86_64_v3", "2.28", "8.5.0"),
    Stack("debian12", "zen2", "2.36", "12.2.0"),
    Stack("rhel9", "zen3", "2.34", "11.4.1"),
    Stack("ubuntu24.04", "zen4", "2.39", "13.2.0"),
    Stack("rhel9", "skylake", "2.34", "11.4.1"),
    Stack("rhel8", "icelake", "2.28", "8.5.0"),
    Stack("rhel9", "sapphirerapids", "2.34", "13.3.0"),
    Stack("amzn2023", "neoverse_v1", "2.34", "11.4.1"),
    Stack("ubuntu22.04", "neoverse_v2", "2.35", "12.3.0"),
)

#: tools only ever reached through build edges; many were never pushed (in_buildcache false)
BUILD_ONLY = frozenset(
    _words(
        "gmake gnuconfig m4 autoconf automake libtool pkgconf diffutils bison flex cmake ninja "
        "meson py-pip py-setuptools py-wheel py-cython py-meson-python py-pyproject-metadata "
        "py-flit-core"
    )
)

#: The hand-written recipes, in build order (a dependency comes before its dependents):
#: ``name | versions, newest first | languages | deps | variants``, indented lines continue.
#: A dep is ``name[:types][@virtuals]`` with types from b(uild) l(ink) r(un), default ``bl``;
#: variants are written as in a spec: ``+x``, ``~x``, ``key=value``, ``key=[a,b]`` (a list).
CORE_TEXT = """
gmake | 4.4.1 | c |  | ~guile
gnuconfig | 2022-09-17
diffutils | 3.10 | c | gmake:b
m4 | 1.4.19 | c | diffutils:b gmake:b | +sigsegv
libiconv | 1.17 | c | gmake:b | libs=[shared,static]
pkgconf | 2.2.0 | c | gmake:b
autoconf | 2.72 |  | m4:b gmake:b
automake | 1.16.5 |  | autoconf:b gmake:b
libtool | 2.4.7 | c | m4:b gmake:b
zlib-ng | 2.2.1 2.1.6 2.0.7 | c | gmake:b gnuconfig:b | +compat +new_strategies +opt +pic
    +shared
xz | 5.4.6 5.4.1 | c | gmake:b | libs=[shared,static] +pic
bzip2 | 1.0.8 | c | diffutils:b gmake:b | ~debug +pic +shared
zstd | 1.5.6 1.5.5 | c,cxx | gmake:b | compression=[none] libs=[shared,static] ~programs
ncurses | 6.5 6.4 | c,cxx | pkgconf:b@pkgconfig gmake:b | abi=none ~symlinks +termlib
readline | 8.2 | c | ncurses gmake:b
libffi | 3.4.6 | c | gmake:b
expat | 2.6.3 | c,cxx | gmake:b | ~libbsd
gdbm | 1.23 | c | readline gmake:b
berkeley-db | 18.1.40 | c,cxx | gmake:b | +cxx ~docs +stl
perl | 5.40.0 5.38.2 | c | berkeley-db gdbm bzip2 zlib-ng@zlib-api gmake:b | +cpanm +opcode
    +open +shared +threads
ca-certificates-mozilla | 2023-05-30
openssl | 3.4.0 3.3.2 | c | ca-certificates-mozilla:r perl:b zlib-ng@zlib-api | certs=mozilla
    ~docs +shared
libxcrypt | 4.4.35 | c | perl:b gmake:b | ~obsolete_api
sqlite | 3.46.0 | c | readline zlib-ng@zlib-api gmake:b | +column_metadata +dynamic_extensions
    +fts ~functions +rtree
gettext | 0.22.5 | c,cxx | libiconv@iconv libxml2 ncurses xz bzip2 gmake:b | +bzip2 +curses
    +git ~libunistring +pic +shared +tar +xz
libxml2 | 2.13.4 2.10.3 | c | libiconv@iconv xz zlib-ng@zlib-api pkgconf:b@pkgconfig | +pic
    ~python +shared
util-linux-uuid | 2.40.2 | c | pkgconf:b@pkgconfig gmake:b
curl | 8.10.1 | c | openssl zlib-ng@zlib-api pkgconf:b@pkgconfig gmake:b | ~gssapi ~ldap
    ~libidn2 ~librtmp libs=[shared,static] ~nghttp2 tls=[openssl]
cmake | 3.30.5 3.27.9 | c,cxx | ncurses openssl zlib-ng@zlib-api curl gmake:b |
    build_type=Release ~doc +ncurses +ownlibs ~qtgui
ninja | 1.12.1 | c,cxx |  | ~re2c
python | 3.12.5 3.11.9 | c,cxx | bzip2 expat gdbm gettext libffi libxcrypt ncurses openssl
    readline sqlite util-linux-uuid@uuid xz zlib-ng@zlib-api pkgconf:b@pkgconfig gmake:b |
    +bz2 +ctypes +dbm ~debug +libxml2 +lzma ~optimizations +pic +pyexpat +pythoncmd +readline
    +shared +sqlite3 +ssl ~tkinter +uuid +zlib
python-venv | 1.0 |  | python:br
py-pip | 24.2 23.1.2 |  | python:br@python python-venv:br
py-setuptools | 69.2.0 |  | python:br@python python-venv:br py-pip:b
py-wheel | 0.41.2 |  | python:br@python python-venv:br py-pip:b
py-flit-core | 3.9.0 |  | python:br@python python-venv:br py-pip:b
py-packaging | 24.1 |  | python:blr@python python-venv:br py-flit-core:b py-pip:b
py-pyproject-metadata | 0.7.1 |  | python:br@python py-packaging:br py-pip:b
meson | 1.5.1 |  | python:br@python py-setuptools:b py-pip:b ninja:r
py-meson-python | 0.16.0 |  | meson:br py-pyproject-metadata:br ninja:br py-pip:b
    python:br@python
py-cython | 3.0.11 | c,cxx | python:blr@python py-setuptools:b py-pip:b
libpciaccess | 0.17 | c | pkgconf:b@pkgconfig libtool:b gmake:b
numactl | 2.0.18 | c | autoconf:b automake:b libtool:b m4:b gmake:b
hwloc | 2.11.1 2.9.1 | c,cxx | libpciaccess libxml2 ncurses pkgconf:b@pkgconfig | ~cairo ~cuda
    ~gl ~libudev +libxml2 ~netloc ~nvml ~oneapi-level-zero ~opencl +pci ~rocm +shared
libevent | 2.1.12 | c | openssl gmake:b | +openssl
pmix | 5.0.3 | c | hwloc libevent pkgconf:b@pkgconfig | ~docs +pmi_backwards_compatibility
    ~python
libedit | 3.1-20240808 | c | ncurses pkgconf:b@pkgconfig
krb5 | 1.21.3 | c | bison:b gettext openssl libedit perl:b | +shared
bison | 3.8.2 | c,cxx | m4:b diffutils:b | ~color
openssh | 9.9p1 | c | krb5 libedit libxcrypt ncurses openssl zlib-ng@zlib-api | +gssapi
openmpi | 5.0.5 4.1.6 | c,cxx,fortran | hwloc libevent numactl openssh:r pmix zlib-ng@zlib-api
    perl:b autoconf:b automake:b libtool:b pkgconf:b@pkgconfig | ~atomics ~cuda fabrics=[none]
    ~gpfs ~internal-hwloc ~internal-libevent ~internal-pmix ~java ~lustre ~memchecker
    ~openshmem +romio romio-filesystem=[none] +rsh schedulers=[none] ~static +vt
    +wrapper-rpath
fftw | 3.3.10 | c,fortran | gmake:b | ~mpi ~openmp ~pfft_patches precision=[double,float]
    +shared
openblas | 0.3.28 0.3.26 | c,cxx,fortran | perl:b gmake:b | ~bignuma ~consistent_fpcsr
    +dynamic_dispatch +fortran ~ilp64 +locking +pic +shared symbol_suffix=none threads=none
hdf5 | 1.14.5 1.14.3 1.12.3 | c,cxx,fortran | zlib-ng@zlib-api cmake:b pkgconf:b@pkgconfig |
    api=default build_type=Release ~cxx ~fortran generator=make ~hl ~ipo ~java ~map +mpi
    +shared ~subfiling ~szip ~threadsafe +tools
gromacs | 2024.3 2023.5 2023.3 2022.6 | c,cxx | fftw@fftw-api openblas@blas,lapack hwloc
    cmake:b pkgconf:b@pkgconfig | build_type=Release ~cp2k ~cuda ~cycle_subcounters ~double
    generator=make +hwloc ~ipo +lapack ~mdrun_only +mpi ~nosuffix ~opencl +openmp
    openmp_max_threads=none ~plumed ~relaxed_double_precision +shared ~sycl
py-numpy | 2.1.2 1.26.4 | c,cxx | python:blr@python python-venv:br openblas@blas,lapack
    py-cython:b py-meson-python:b py-pip:b pkgconf:b@pkgconfig
"""


def _variant_values(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for token in text.split():
        if token[0] in "+~":
            out[token[1:]] = token[0] == "+"
        else:
            key, _, value = token.partition("=")
            out[key] = value[1:-1].split(",") if value.startswith("[") else value
    return out


def _core(text: str) -> dict[str, tuple[str, str, str, dict[str, Any]]]:
    recipes: dict[str, tuple[str, str, str, dict[str, Any]]] = {}
    for entry in re.split(r"\n(?! )", text.strip()):
        fields = [f.strip() for f in entry.split("|")] + ["", "", ""]  # trailing may be empty
        name, versions, langs, deps, variants = fields[:5]
        recipes[name] = (versions, langs, " ".join(deps.split()), _variant_values(variants))
    return recipes


CORE = _core(CORE_TEXT)
#: variants that add an edge when on, and the edge
VARIANT_DEPS = {"hdf5": ("mpi", "openmpi@mpi"), "gromacs": ("mpi", "openmpi@mpi")}

_SYLLABLES_TEXT = (
    "ab ac al an ar as at ba be bi bo ca ce ci co da de di do el en er es fa fe fi "
    "ga ge go ha he hi ka ki la le li lo lu ma me mi mo na ne ni no or pa pe pi po "
    "qu ra re ri ro sa se si so ta te ti to tu ul un ur va ve vi xa ze zo"
)
_SYLLABLES = _words(_SYLLABLES_TEXT)
_VARIANT_POOL = _words(
    "shared static pic openmp mpi cuda rocm docs tests python fortran cxx threads ipo "
    "debug examples lto doc gui x11 opengl vtk hdf5 netcdf blas lapack scalapack metis "
    "parmetis hypre petsc superlu sundials trilinos int64 complex float double quad "
    "plugins tools java perl lua ruby tcl jemalloc tbb kokkos raja umpire mkl "
    "openssl zlib zstd bzip2 lz4 snappy brotli curl xml json yaml boost eigen"
)
_VARIANT_POOL += [f"{a}_{b}" for a in ("with", "enable", "build", "use") for b in _VARIANT_POOL]
_LIST_VARIANTS = {
    "cuda_arch": ["none"],
    "amdgpu_target": ["none"],
    "libs": ["shared", "static"],
    "languages": ["c", "c++"],
    "precision": ["double"],
}
_STR_VARIANTS = {
    "build_type": "Release",
    "generator": "make",
    "cxxstd": "17",
    "backend": "auto",
    "api": "default",
}


def fake_hash(*parts: object) -> str:
    return b32encode(hashlib.sha1(repr(parts).encode()).digest()).decode().lower()[:32]


def package_hash(name: str, version: str) -> str:
    return b32encode(hashlib.sha256(f"{name}@{version}".encode()).digest()).decode().lower()


@dataclass
class Package:
    name: str
    versions: tuple[str, ...]
    langs: tuple[str, ...]
    #: (dependency name, deptypes, virtuals)
    deps: list[tuple[str, tuple[str, ...], tuple[str, ...]]]
    variants: dict[str, Any]
    build_system: str
    versions_per_stack: int = 1


def _parse_dep(text: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    head, _, virt = text.partition("@")
    name, _, letters = head.partition(":")
    kinds = {"b": "build", "l": "link", "r": "run"}
    types = tuple(kinds[c] for c in (letters or "bl"))
    return name, types, tuple(v for v in virt.split(",") if v)


def _build_system(name: str, deps: str) -> str:
    if name.startswith("py-"):
        return "python_pip"
    if name.startswith("r-"):
        return "r"
    if name.startswith("perl-"):
        return "perl"
    if "cmake:b" in deps:
        return "cmake"
    return "autotools" if "autoconf" in deps or "m4:b" in deps else "generic"


def packages(rng: random.Random, total: int) -> list[Package]:
    """The recipes: the hand-written core, then generated ones in build order."""
    out = [
        Package(
            name,
            tuple(v.split()),
            tuple(lang for lang in langs.split(",") if lang),
            [_parse_dep(d) for d in deps.split()],
            variants,
            _build_system(name, deps),
            3 if name in VARIANT_DEPS else 1 + len(v.split()) // 2,
        )
        for name, (v, langs, deps, variants) in CORE.items()
    ]
    libs = [
        p.name
        for p in out
        if p.name not in BUILD_ONLY
        and not p.name.startswith("py-")
        and p.name not in {"python", "python-venv", "ca-certificates-mozilla"}
    ]
    pys = ["py-packaging", "py-numpy"]
    seen = {p.name for p in out}
    while len(out) < total:
        kind = rng.choices(("py-", "r-", "perl-", "lib", ""), weights=(30, 12, 6, 12, 40))[0]
        stem = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))
        name = kind + stem
        if name in seen:
            continue
        seen.add(name)
        pool = pys if kind == "py-" else libs
        deps: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = []
        for dep in dict.fromkeys(rng.choices(pool, k=rng.randint(1, 16))):
            deps.append((dep, ("build", "run") if kind == "py-" else ("build", "link"), ()))
        if kind == "py-":
            deps += [
                ("python", ("build", "link", "run"), ("python",)),
                ("python-venv", ("build", "run"), ()),
                ("py-pip", ("build",), ()),
                ("py-setuptools", ("build",), ()),
                ("py-wheel", ("build",), ()),
            ]
        elif kind == "perl-":
            deps.append(("perl", ("build", "link", "run"), ()))
        elif kind == "r-":
            deps.append(("zlib-ng", ("build", "link"), ("zlib-api",)))
        else:
            deps += rng.choice(
                [
                    [("cmake", ("build",), ()), ("ninja", ("build",), ())],
                    [
                        ("autoconf", ("build",), ()),
                        ("automake", ("build",), ()),
                        ("libtool", ("build",), ()),
                        ("m4", ("build",), ()),
                    ],
                    [("meson", ("build",), ()), ("ninja", ("build",), ())],
                    [("gmake", ("build",), ())],
                ]
            )
            deps.append(("pkgconf", ("build",), ("pkgconfig",)))
        langs = (
            ()
            if kind == "py-" and rng.random() < 0.7
            else tuple(rng.choice([("c",), ("c", "cxx"), ("c", "cxx", "fortran"), ("cxx",)]))
        )
        nvar = min(len(_VARIANT_POOL), int(rng.paretovariate(1.1) * 16))
        variants: dict[str, Any] = {v: rng.random() < 0.4 for v in rng.sample(_VARIANT_POOL, nvar)}
        for key, value in rng.sample(sorted(_LIST_VARIANTS.items()), rng.randint(0, 3)):
            variants[key] = value
        for key, text in rng.sample(sorted(_STR_VARIANTS.items()), rng.randint(0, 3)):
            variants[key] = text
        if rng.random() < 0.2:  # patched packages: sha256 list, also in top-level "patches"
            variants["patches"] = [
                hashlib.sha256(f"{name}{i}".encode()).hexdigest() for i in range(rng.randint(1, 4))
            ]
        versions = tuple(
            f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{i}" for i in range(rng.randint(1, 5), 0, -1)
        )
        pool.append(name)
        dep_note = "cmake:b" if ("cmake", ("build",), ()) in deps else ""
        out.append(Package(name, versions, langs, deps, variants, _build_system(name, dep_note), 1))
    return out


@dataclass
class Builder:
    """Instantiates recipes as concrete nodes, stack by stack, and serialises each at once."""

    rng: random.Random
    recipes: dict[str, Package]
    #: (hash, spec JSON text, in_buildcache)
    records: list[tuple[str, str, bool]] = field(default_factory=list)
    refs: Counter[str] = field(default_factory=Counter)
    default: dict[tuple[int, str], str] = field(default_factory=dict)
    _targets: dict[str, Any] = field(default_factory=dict)

    def target(self, name: str) -> Any:
        """Generic targets are strings; microarchitectures the archspec dict (format doc §3.2)."""
        if name not in self._targets:
            t = archspec.cpu.TARGETS[name]
            if t.vendor == "generic":
                self._targets[name] = name
            else:
                d = t.to_dict()
                d.pop("compilers", None)
                d["cpupart"] = d.get("cpupart") or ""
                self._targets[name] = d
        return self._targets[name]

    def emit(
        self,
        sid: int,
        name: str,
        version: str,
        params: dict[str, Any],
        edges: list[tuple[str, str, tuple[str, ...], tuple[str, ...]]],
        *,
        external: dict[str, Any] | None = None,
        in_buildcache: bool = True,
        annotations: dict[str, Any] | None = None,
        salt: object = None,
    ) -> str:
        stack = STACKS[sid]
        h = fake_hash(sid, name, version, sorted(params.items()), edges, salt)
        node: dict[str, Any] = {
            "name": name,
            "version": version,
            "arch": {
                "platform": stack.platform,
                "platform_os": stack.os,
                "target": self.target(stack.target),
            },
            "namespace": "builtin",
            "parameters": dict(sorted({**{f: [] for f in FLAGS}, **params}.items())),
        }
        if "patches" in params:
            node["patches"] = params["patches"]
        if external is not None:
            node["external"] = external
        node["package_hash"] = package_hash(name, version)
        if edges:
            node["dependencies"] = [
                {"name": n, "hash": eh, "parameters": {"deptypes": list(t), "virtuals": list(v)}}
                for n, eh, t, v in sorted(edges)
            ]
            self.refs.update(eh for _, eh, _, _ in edges)
        node["annotations"] = annotations or {"original_specfile_version": 5}
        node["hash"] = h
        self.records.append((h, _dump(node), in_buildcache and external is None))
        return h

    def base(self, sid: int) -> None:
        """The per-stack toolchain: external glibc and gcc, gcc-runtime, compiler-wrapper."""
        stack = STACKS[sid]
        none: dict[str, Any] = {"module": None, "extra_attributes": {}}
        self.default[sid, "glibc"] = self.emit(
            sid,
            "glibc",
            stack.glibc,
            {"build_system": "autotools"},
            [],
            external={"path": "/usr", **none},
        )
        self.default[sid, "gcc"] = self.emit(
            sid,
            "gcc",
            stack.gcc,
            {
                "binutils": False,
                "bootstrap": True,
                "build_system": "autotools",
                "build_type": "RelWithDebInfo",
                "graphite": False,
                "languages": ["c", "c++", "fortran"],
                "nvptx": False,
                "piclibs": False,
                "strip": False,
            },
            [],
            external={
                "path": "/usr",
                "module": None,
                "extra_attributes": {
                    "compilers": {
                        "c": "/usr/bin/gcc",
                        "cxx": "/usr/bin/g++",
                        "fortran": "/usr/bin/gfortran",
                    }
                },
            },
        )
        self.default[sid, "gcc-runtime"] = self.emit(
            sid,
            "gcc-runtime",
            stack.gcc,
            {"build_system": "generic"},
            [
                ("gcc", self.default[sid, "gcc"], ("build",), ()),
                ("glibc", self.default[sid, "glibc"], ("link",), ("libc",)),
            ],
        )
        self.default[sid, "compiler-wrapper"] = self.emit(
            sid, "compiler-wrapper", "1.0", {"build_system": "generic"}, [], in_buildcache=False
        )

    def node(
        self,
        sid: int,
        name: str,
        *,
        version: int = 0,
        overrides: dict[str, Any] | None = None,
        salt: object = None,
    ) -> str:
        """The hash of ``name`` built in stack ``sid`` (dependencies built first, shared)."""
        key = (sid, name)
        if key in self.default and version == 0 and not overrides and salt is None:
            return self.default[key]
        pkg = self.recipes[name]
        variants = {**pkg.variants, **(overrides or {})}
        deps = list(pkg.deps)
        if name in VARIANT_DEPS and variants.get(VARIANT_DEPS[name][0]):
            deps.append(_parse_dep(VARIANT_DEPS[name][1]))
        edges = [(d, self.node(sid, d), t, v) for d, t, v in deps]
        annotations = None
        if pkg.langs:
            if self.rng.random() < 0.03:  # converted from format 4: compiler as annotation
                annotations = {
                    "original_specfile_version": 4,
                    "compiler": f"gcc@={STACKS[sid].gcc}",
                }
            else:
                virt = tuple(
                    {"c": "c", "cxx": "cxx", "fortran": "fortran"}[lang] for lang in pkg.langs
                )
                edges += [
                    ("gcc", self.node(sid, "gcc"), ("build",), virt),
                    ("gcc-runtime", self.node(sid, "gcc-runtime"), ("link",), ()),
                    ("compiler-wrapper", self.node(sid, "compiler-wrapper"), ("build",), ()),
                ]
            edges.append(("glibc", self.node(sid, "glibc"), ("link",), ("libc",)))
        in_bc = not (name in BUILD_ONLY and self.rng.random() < 0.6)
        h = self.emit(
            sid,
            name,
            pkg.versions[version % len(pkg.versions)],
            {"build_system": pkg.build_system, **variants},
            edges,
            annotations=annotations,
            in_buildcache=in_bc,
            salt=salt,
        )
        if version == 0 and not overrides and salt is None:
            self.default[key] = h
        return h


def generate(nodes: int, seed: int = 20250601) -> Builder:
    """Build about ``nodes`` records (exactly ``nodes`` when it is more than a few hundred)."""
    rng = random.Random(seed)
    recipes = packages(rng, max(60, min(3000, nodes // 16)))
    b = Builder(rng, {p.name: p for p in recipes})
    for sid in range(len(STACKS)):
        b.base(sid)
    core = [p for p in recipes if p.name in CORE]
    for sid in range(len(STACKS)):  # the featured packages, in every version and variant
        for pkg in core:
            for v in range(pkg.versions_per_stack):
                b.node(sid, pkg.name, version=v)
                if pkg.name in VARIANT_DEPS:
                    b.node(sid, pkg.name, version=v, overrides={VARIANT_DEPS[pkg.name][0]: False})
    generated = recipes[len(core) :]
    rounds = 0
    while len(b.records) < nodes - 400 and generated:
        for pkg in generated:
            if len(b.records) >= nodes - 400:
                break
            sid = rng.randrange(len(STACKS))
            if (sid, pkg.name) in b.default:
                b.node(sid, pkg.name, version=rng.randrange(5), salt=rounds)
            else:
                b.node(sid, pkg.name)
        rounds += 1
    defaults = sorted(b.default.items())
    while len(b.records) < nodes:  # top up with single nodes whose deps all exist
        (sid, name), _ = rng.choice(defaults)
        if name in b.recipes and all((sid, d) in b.default for d, _, _ in b.recipes[name].deps):
            b.node(sid, name, version=rng.randrange(5), salt=("fill", len(b.records)))
    return b


def write(builder: Builder, out: Path) -> int:
    """Write the index as Spack does (version first, compact); returns the byte count."""
    with out.open("w", encoding="utf-8") as f:
        f.write('{"database":{"version":"8","installs":{')
        for i, (h, spec, in_bc) in enumerate(builder.records):
            sep = "," if i else ""
            flag = "true" if in_bc else "false"
            f.write(
                f'{sep}"{h}":{{"spec":{spec},"ref_count":{builder.refs[h]},"in_buildcache":{flag}}}'
            )
        f.write("}}}")
    return out.stat().st_size


def iter_summary(builder: Builder) -> Iterator[str]:
    names = {json.loads(spec)["name"] for _, spec, _ in builder.records}
    absent = sum(1 for _, _, in_bc in builder.records if not in_bc)
    yield f"nodes: {len(builder.records)}"
    yield f"package names: {len(names)}"
    yield f"not in the build cache (externals, build-only): {absent}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=50_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=20250601)
    args = parser.parse_args(argv)
    builder = generate(args.nodes, args.seed)
    size = write(builder, args.out)
    print(f"wrote {args.out}: {size / 1e6:.1f} MB, {size / len(builder.records):.0f} bytes/node")
    for line in iter_summary(builder):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
