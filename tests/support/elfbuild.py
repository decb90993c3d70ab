"""Build real Spack-like packages for the relocation tests: gcc-compiled ELF files, scripts,
links and a ``binary_distribution``, packed the way Spack packs a prefix.

Everything lands under a long "build" store root padded like Spack's CI roots
(``.../__spack_path_placeholder__/...``), so relocation to a short root is the real case.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

PLACEHOLDER = "__spack_path_placeholder__"
DEMO_HASH = "abcdefghijklmnopqrstuvwxyz234567"

LIBDEMO_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>

static const char lib_prefix[] = DEMO_PREFIX;

/* The path the dynamic loader actually loaded this library from. */
const char *demo_where(void) {
    Dl_info info;
    if (dladdr((void *)demo_where, &info) && info.dli_fname) return info.dli_fname;
    return "?";
}

const char *demo_lib_prefix(void) { return lib_prefix; }
"""

MAIN_C = r"""
#include <stdio.h>

const char *demo_where(void);
const char *demo_lib_prefix(void);

/* A bare C string (NUL right after the store root) and a path with a long tail. */
static const char store[] = DEMO_STORE;
static const char data[] = DEMO_PREFIX "/share/demo/data.txt";

int main(void) {
    printf("store=%s\n", store);
    printf("data=%s\n", data);
    printf("lib=%s\n", demo_where());
    printf("libprefix=%s\n", demo_lib_prefix());
    return 0;
}
"""


def padded_root(base: str, length: int) -> str:
    """``base`` padded with placeholder components to exactly ``length`` chars, like Spack."""
    padding = "/".join([PLACEHOLDER] * (length // len(PLACEHOLDER) + 2))
    root = f"{base}/{padding}"[:length]
    return root[:-1] + "_" if root.endswith("/") else root


def c_string_literal(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def compile_demo(prefix: Path, store: str, *, new_dtags: bool) -> None:
    """``lib/libdemo.so`` and ``bin/demo`` (linked to it with an rpath) inside ``prefix``."""
    src = prefix / "src-tmp"
    src.mkdir(parents=True)
    (prefix / "lib").mkdir(exist_ok=True)
    (prefix / "bin").mkdir(exist_ok=True)
    (src / "libdemo.c").write_text(LIBDEMO_C)
    (src / "main.c").write_text(MAIN_C)
    defines = [
        f"-DDEMO_PREFIX={c_string_literal(str(prefix))}",
        f"-DDEMO_STORE={c_string_literal(store)}",
    ]
    dtags = "-Wl,--enable-new-dtags" if new_dtags else "-Wl,--disable-new-dtags"
    lib = prefix / "lib" / "libdemo.so"
    _gcc(
        [
            "-shared",
            "-fPIC",
            "-O1",
            *defines,
            "-Wl,-soname,libdemo.so",
            "-o",
            str(lib),
            str(src / "libdemo.c"),
            "-ldl",
        ]
    )
    _gcc(
        [
            "-O1",
            *defines,
            "-o",
            str(prefix / "bin" / "demo"),
            str(src / "main.c"),
            f"-L{prefix / 'lib'}",
            "-ldemo",
            f"-Wl,-rpath,{prefix / 'lib'}",
            dtags,
        ]
    )
    shutil.rmtree(src)


def _gcc(args: list[str]) -> None:
    subprocess.run(["gcc", *args], check=True, capture_output=True, text=True)


@dataclass(frozen=True)
class DemoPackage:
    """A built package: its store root, prefix and ``binary_distribution`` content."""

    store: Path
    prefix: Path
    sbang: str
    buildinfo_yaml: str


def build_demo_package(base: Path, *, new_dtags: bool, store_length: int = 180) -> DemoPackage:
    """Compile and lay out a complete demo prefix under a padded store in ``base``."""
    store = Path(padded_root(str(base / "old"), store_length))
    relative = f"linux-x86_64/demo-1.0-{DEMO_HASH}"
    prefix = store / relative
    prefix.mkdir(parents=True)
    compile_demo(prefix, str(store), new_dtags=new_dtags)

    share = prefix / "share" / "demo"
    share.mkdir(parents=True)
    (share / "data.txt").write_text(f"data lives in {prefix}/share\n-I{prefix}/include\n")
    os.symlink("libdemo.so", prefix / "lib" / "libdemo.so.1")
    os.symlink(f"{prefix}/bin/demo", prefix / "bin" / "demo-link")

    # An interpreter deep enough that the relocated shebang still exceeds 127 bytes.
    deep = prefix / "libexec" / ("d" * 70)
    deep.mkdir(parents=True)
    os.symlink("/bin/sh", deep / "mysh")
    old_sbang = f"{base}/old/bin/sbang"
    script = 'echo script-ran-with "$0" "$@"\n'
    _write_exe(prefix / "bin" / "long-raw", f"#!{deep}/mysh\n{script}")
    _write_exe(prefix / "bin" / "long-sbang", f"#!/bin/sh {old_sbang}\n#!{deep}/mysh\n{script}")
    os.link(prefix / "bin" / "long-raw", prefix / "bin" / "long-raw-hardlink")

    lists = {
        "relocate_textfiles": ["share/demo/data.txt", "bin/long-raw", "bin/long-sbang"],
        "relocate_binaries": ["bin/demo", "lib/libdemo.so"],
        "relocate_links": ["bin/demo-link"],
    }
    buildinfo = (
        f"{{sbang_install_path: {old_sbang}, buildpath: {store}, spackprefix: /opt/spack, "
        f"relative_prefix: {relative}, hardlinks_deduped: true, "
        f"hash_to_prefix: {{{DEMO_HASH}: {prefix}}}, "
        + ", ".join(f"{k}: [{', '.join(v)}]" for k, v in lists.items())
        + "}\n"
    )
    (prefix / ".spack").mkdir()
    (prefix / ".spack" / "binary_distribution").write_text(buildinfo)
    return DemoPackage(store, prefix, old_sbang, buildinfo)


def _write_exe(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


# --------------------------------------------------------------------------- tarball packing


def pack_layout2(prefix: Path) -> bytes:
    """Spack's layout-2 tarball of ``prefix``: absolute path minus ``/``, parents first.

    PAX tar, depth-first with a directory's files before its subdirectories, names sorted,
    uid/gid 0, mtime 0, hard links as LNKTYPE; gzip with mtime 0 and no file name.
    """
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, filename="") as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        parts = prefix.parts[1:]
        for depth in range(1, len(parts)):
            info = tarfile.TarInfo("/".join(parts[:depth]))
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        _add_tree(tar, prefix, "/".join(parts))
    return buffer.getvalue()


def _add_tree(tar: tarfile.TarFile, path: Path, name: str) -> None:
    tar.addfile(_normalized(tar.gettarinfo(str(path), arcname=name)))
    entries = sorted(os.scandir(path), key=lambda e: e.name)
    files = [e for e in entries if not e.is_dir(follow_symlinks=False)]
    dirs = [e for e in entries if e.is_dir(follow_symlinks=False)]
    for entry in files:
        info = _normalized(tar.gettarinfo(entry.path, arcname=f"{name}/{entry.name}"))
        if info.isreg():
            with open(entry.path, "rb") as f:
                tar.addfile(info, f)
        else:
            tar.addfile(info)
    for entry in dirs:
        _add_tree(tar, Path(entry.path), f"{name}/{entry.name}")


def _normalized(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0
    if info.isdir() or info.issym():
        info.mode = 0o755
    elif info.isreg() or info.islnk():
        info.mode = 0o755 if info.mode & 0o100 else 0o644
    return info
