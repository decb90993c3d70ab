"""Package tarballs in Spack's exact dialect (build cache layout 2, used unchanged by v3).

A tarball is the install prefix stored under its absolute path minus the leading ``/``,
preceded by one entry per parent directory, written reproducibly: gzip level 6 with an empty
name and mtime 0, a PAX tar with every owner, group and time zeroed, modes normalised like
git, entries in depth-first pre-order with a directory's files before its subdirectories and
names sorted. The relocation facts (``.spack/binary_distribution``) go in as the last entry.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import IO, Any

from jupyter_spackcache.formats.buildinfo import (
    BUILDINFO_PATH,
    dump_buildinfo,
    prefix_reference_regex,
)
from jupyter_spackcache.formats.elf import ELF_MAGIC

#: directories Spack does not scan for relocation (metadata and man pages)
_UNSCANNED_DIRS = frozenset({".spack", "man"})
_MACHO_MAGICS = (
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
)
_ET_REL = 1


def member_name(path: str | os.PathLike[str]) -> str:
    """Tar member name of an absolute path: the path without its leading ``/``."""
    pure = PurePosixPath(os.fspath(path))
    return PurePosixPath(*pure.parts[1:]).as_posix() if pure.is_absolute() else pure.as_posix()


class _HashingWriter(io.RawIOBase):
    """Write-through file wrapper that hashes what passes, so we never read the file twice."""

    def __init__(self, sink: IO[bytes]) -> None:
        self._sink = sink
        self.sha256 = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._sink.write(view)
        self.sha256.update(view)
        return view.nbytes


def _dir_info(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    return info


def _add_tree(tar: tarfile.TarFile, prefix: Path, skip: tuple[int, int] | None) -> None:
    """Add ``prefix`` and everything below it in Spack's order (see module docstring)."""
    first_names: dict[tuple[int, int], str] = {}
    stack = [str(prefix)]
    while stack:
        directory = stack.pop()
        tar.addfile(_dir_info(member_name(directory)))
        with os.scandir(directory) as it:
            entries = sorted(it, key=lambda e: e.name)
        subdirs: list[str] = []
        for entry in entries:
            st = entry.stat(follow_symlinks=False)
            if skip is not None and (st.st_dev, st.st_ino) == skip:
                continue
            if entry.is_dir(follow_symlinks=False):
                subdirs.append(entry.path)
                continue
            info = tarfile.TarInfo(member_name(entry.path))
            if entry.is_symlink():
                info.type = tarfile.SYMTYPE
                info.linkname = os.readlink(entry.path)
                info.mode = 0o755
                tar.addfile(info)
            elif entry.is_file(follow_symlinks=False):
                info.mode = 0o755 if st.st_mode & 0o100 else 0o644
                ident = (st.st_dev, st.st_ino)
                if st.st_nlink > 1 and ident in first_names:
                    info.type = tarfile.LNKTYPE
                    info.linkname = first_names[ident]
                    tar.addfile(info)
                    continue
                if st.st_nlink > 1:
                    first_names[ident] = info.name
                info.size = st.st_size
                with open(entry.path, "rb") as fh:
                    tar.addfile(info, fh)
            # devices, fifos and sockets are not packaged
        stack.extend(reversed(subdirs))


def create_tarball(prefix: Path, out: Path, *, buildinfo: Mapping[str, Any]) -> str:
    """Write the package tarball of ``prefix`` to ``out``; return its sha256 (hex).

    An existing ``.spack/binary_distribution`` in the prefix is replaced by ``buildinfo``.
    The file appears at ``out`` only once complete.
    """
    prefix = Path(os.path.abspath(prefix))
    if not prefix.is_dir():
        raise FileNotFoundError(f"install prefix {prefix} is not a directory")
    try:
        old = os.lstat(prefix / BUILDINFO_PATH)
        skip: tuple[int, int] | None = (old.st_dev, old.st_ino)
    except FileNotFoundError:
        skip = None
    payload = dump_buildinfo(buildinfo)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tarball-", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as raw:
            hashing = _HashingWriter(raw)
            with (
                gzip.GzipFile(
                    filename="", mode="wb", compresslevel=6, mtime=0, fileobj=hashing
                ) as gz,
                tarfile.TarFile(mode="w", fileobj=gz, format=tarfile.PAX_FORMAT) as tar,
            ):
                for parent in reversed(PurePosixPath(member_name(prefix)).parents[:-1]):
                    tar.addfile(_dir_info(parent.as_posix()))
                _add_tree(tar, prefix, skip)
                info = tarfile.TarInfo(member_name(prefix / BUILDINFO_PATH))
                info.size = len(payload)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(payload))
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return hashing.sha256.hexdigest()


# -- relocation facts ----------------------------------------------------------------------


def prefix_regex(prefixes: list[str]) -> re.Pattern[bytes]:
    """Matches any of ``prefixes`` where it is not the tail of a longer path (Spack's rule,
    :func:`~jupyter_spackcache.formats.buildinfo.prefix_reference_regex`)."""
    ordered = sorted({p for p in prefixes if p}, key=len, reverse=True)
    return prefix_reference_regex([p.encode("utf-8") for p in ordered])


def _walk_scannable(prefix: Path) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """(relative path, entry) for files and symlinks Spack considers for relocation."""
    stack = [("", str(prefix))]
    while stack:
        rel_dir, directory = stack.pop()
        with os.scandir(directory) as it:
            entries = sorted(it, key=lambda e: e.name)
        subdirs: list[tuple[str, str]] = []
        for entry in entries:
            rel = f"{rel_dir}{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in _UNSCANNED_DIRS:
                    subdirs.append((rel + "/", entry.path))
                continue
            yield rel, entry
        stack.extend(reversed(subdirs))


def _is_binary_to_relocate(head: bytes, rel_path: str) -> bool:
    if head.startswith(ELF_MAGIC):
        if len(head) >= 18:
            little = head[5] == 1
            e_type = int.from_bytes(head[16:18], "little" if little else "big")
            if e_type == _ET_REL and rel_path.endswith(".o"):
                return False
        return True
    return head[:4] in _MACHO_MAGICS


def make_buildinfo(
    prefix: Path,
    *,
    store_root: str,
    sbang_path: str,
    hash_to_prefix: Mapping[str, str],
    spack_prefix: str = "/opt/spack",
    extra_prefixes: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Scan ``prefix`` and describe what relocation must patch (the buildinfo mapping).

    ``store_root`` is the (padded) store root the prefix was built in; ``hash_to_prefix``
    covers the spec, its transitive link deps and direct run deps. Text files count only if
    they mention one of the old prefixes; every ELF/Mach-O file is listed; symlinks are listed
    when their absolute target lies in the store.
    """
    prefix = Path(os.path.abspath(prefix))
    regex = prefix_regex([*hash_to_prefix.values(), *extra_prefixes, sbang_path, store_root])
    textfiles: list[str] = []
    binaries: list[str] = []
    links: list[str] = []
    seen_inodes: set[tuple[int, int]] = set()
    for rel, entry in _walk_scannable(prefix):
        if entry.is_symlink():
            target = os.readlink(entry.path)
            if os.path.isabs(target) and target.startswith(store_root):
                links.append(rel)
            continue
        if not entry.is_file(follow_symlinks=False):
            continue
        st = entry.stat(follow_symlinks=False)
        if st.st_nlink > 1:
            ident = (st.st_dev, st.st_ino)
            if ident in seen_inodes:
                continue
            seen_inodes.add(ident)
        data = Path(entry.path).read_bytes()
        if _is_binary_to_relocate(data[:64], rel):
            binaries.append(rel)
        elif b"\0" not in data[:8192] and regex.search(data):
            textfiles.append(rel)
    return {
        "sbang_install_path": sbang_path,
        "buildpath": store_root,
        "spackprefix": spack_prefix,
        "relative_prefix": os.path.relpath(prefix, store_root),
        "hardlinks_deduped": True,
        "hash_to_prefix": dict(hash_to_prefix),
        "relocate_binaries": binaries,
        "relocate_links": links,
        "relocate_textfiles": textfiles,
    }
