"""Make an unpacked prefix work at its new location (format doc §6).

:func:`relocate` runs Spack's passes in Spack's order over the files the tarball's
``binary_distribution`` lists: text files, then ELF rpaths/interpreters and embedded strings,
then symlinks, and finally the sbang pass for shebangs that relocation made too long. The
files are where they are *now* (a staging directory); the prefix map says where things *will*
be, so the staging directory can be renamed into place afterwards.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from jupyter_spackcache.errors import InstallError
from jupyter_spackcache.formats.buildinfo import BuildInfo
from jupyter_spackcache.formats.elf import (
    ElfError,
    GrowError,
    read_elf_paths,
    rewrite_patches,
    substitute_prefix,
)
from jupyter_spackcache.install.relocate.links import relocate_link
from jupyter_spackcache.install.relocate.prefixmap import (
    PrefixMap,
    build_prefix_map,
    check_prefix_lengths,
)
from jupyter_spackcache.install.relocate.sbang import filter_shebangs, install_sbang
from jupyter_spackcache.install.relocate.strings import StringRelocationError, string_patches
from jupyter_spackcache.install.relocate.text import TextRelocator

__all__ = [
    "PrefixMap",
    "build_prefix_map",
    "check_prefix_lengths",
    "install_sbang",
    "relocate",
]

_TOO_LONG_HINT = "install into a shorter root path, so that new prefixes are not longer than old"


def relocate(
    prefix: Path,
    buildinfo: BuildInfo,
    prefix_map: PrefixMap,
    *,
    sbang: str | None = None,
    after_file: Callable[[], None] | None = None,
) -> None:
    """Rewrite the files under ``prefix`` from old to new prefixes, in place.

    ``sbang`` is the new ``bin/sbang`` path for long shebangs; by default it is the tarball's
    ``sbang_install_path`` mapped through ``prefix_map`` (the map's first entry).
    ``after_file`` runs after each rewritten file (the crash tests kill the install there, with
    the prefix half relocated).
    """
    if prefix_map:
        encoded = [(old.encode(), new.encode()) for old, new in prefix_map]
        text = TextRelocator.from_map(prefix_map)
        for path, _rel in _listed(prefix, buildinfo.relocate_textfiles, stat.S_ISREG):
            _relocate_text(path, text)
            if after_file is not None:
                after_file()
        for path, rel in _listed(prefix, buildinfo.relocate_binaries, stat.S_ISREG):
            _relocate_binary(path, rel, encoded)
            if after_file is not None:
                after_file()
        for path, _rel in _listed(prefix, buildinfo.relocate_links, stat.S_ISLNK):
            relocate_link(path, encoded)
    new_sbang = sbang or _mapped_sbang(buildinfo, prefix_map)
    if new_sbang:
        filter_shebangs(prefix, new_sbang)


def _mapped_sbang(buildinfo: BuildInfo, prefix_map: PrefixMap) -> str | None:
    if not buildinfo.sbang_install_path:
        return None
    old = buildinfo.sbang_install_path.encode()
    encoded = [(o.encode(), n.encode()) for o, n in prefix_map]
    return substitute_prefix(old, encoded).decode()


def _relocate_text(path: Path, relocator: TextRelocator) -> None:
    with _open_for_update(path) as f:
        data = f.read()
        new = relocator.apply(data)
        if new is not data:
            f.seek(0)
            f.write(new)
            f.truncate()


def _relocate_binary(path: Path, rel: str, prefix_map: Sequence[tuple[bytes, bytes]]) -> None:
    with _open_for_update(path) as f:
        data: bytes | bytearray = f.read()
        try:
            elf = read_elf_paths(bytes(data))
        except ElfError:
            elf = None  # not an object we can parse: leave its headers alone, as Spack does
        try:
            patches = rewrite_patches(elf, prefix_map) if elf is not None else []
            if patches:
                data = _applied(data, patches)
            patches += string_patches(data, prefix_map)
        except (GrowError, StringRelocationError) as exc:
            raise InstallError(
                f"install root path is too long to relocate {rel}: {exc}", hint=_TOO_LONG_HINT
            ) from exc
        for offset, replacement in patches:
            f.seek(offset)
            f.write(replacement)


def _applied(data: bytes | bytearray, patches: Iterable[tuple[int, bytes]]) -> bytearray:
    buffer = bytearray(data)
    for offset, replacement in patches:
        buffer[offset : offset + len(replacement)] = replacement
    return buffer


@contextlib.contextmanager
def _open_for_update(path: Path) -> Iterator[BinaryIO]:
    """Open for in-place rewriting, lending the owner write permission if it lacks it."""
    mode = stat.S_IMODE(path.lstat().st_mode)
    lent = not mode & stat.S_IWUSR
    if lent:
        os.chmod(path, mode | stat.S_IWUSR)
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
        with os.fdopen(fd, "r+b") as f:
            yield f
    finally:
        if lent:
            os.chmod(path, mode)


def _listed(
    prefix: Path, names: Iterable[str], is_kind: Callable[[int], bool]
) -> Iterator[tuple[Path, str]]:
    """The listed paths that exist with the expected type, once per inode.

    The list comes from the tarball, so every name must stay inside ``prefix`` without
    passing through a symlink; hard-linked names are patched once (older tarballs list all).
    """
    real_prefix = Path(os.path.realpath(prefix))
    seen: set[tuple[int, int]] = set()
    direct: dict[tuple[str, ...], bool] = {}  # directory -> reached without a symlink
    for name in names:
        parts = [p for p in name.split("/") if p not in ("", ".")]
        if name.startswith("/") or ".." in parts or not parts:
            raise InstallError(f"binary_distribution lists {name!r}, outside the prefix")
        path = prefix.joinpath(*parts)
        parent = tuple(parts[:-1])
        if parent not in direct:
            direct[parent] = os.path.realpath(path.parent) == str(real_prefix.joinpath(*parent))
        if not direct[parent]:
            raise InstallError(f"binary_distribution lists {name!r}, which is behind a symlink")
        try:
            st = path.lstat()
        except FileNotFoundError:
            continue
        if not is_kind(st.st_mode):
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen:
            continue
        seen.add(key)
        yield path, name
