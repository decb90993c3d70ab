"""Unpack a Spack binary tarball into an empty staging directory, refusing anything unsafe.

Spack tarballs hold one package prefix, stored either under its basename (layout 1) or under
its absolute build path minus the leading ``/`` with every parent directory listed first
(layout 2). The prefix is found by its ``.spack/binary_distribution`` file; only what lies
under it is unpacked, so the staging directory *becomes* the prefix.

Tarballs come from mirrors we do not control, so every member is checked before anything is
written: names must stay inside the package root, no member may be written through a symlink
the tarball made, hard links must point at files already unpacked, and special files are
refused. The checks run on the member list alone (:func:`plan_extraction`, pure); unpacking
then streams the archive a second time without holding file contents in memory.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from jupyter_spackcache.errors import InstallError
from jupyter_spackcache.install.buildinfo import BuildInfo, parse_buildinfo

BUILDINFO_PARTS = (".spack", "binary_distribution")
_COPY_CHUNK = 1 << 20
_HINT = "the tarball is damaged or malicious; do not install it"

RelPath = tuple[str, ...]


@dataclass(frozen=True)
class Entry:
    """One member to unpack, at ``rel`` (components relative to the package root)."""

    member: tarfile.TarInfo
    rel: RelPath
    #: for hard links: the earlier file (relative to the root) this entry is another name of
    link_target: RelPath | None = None


@dataclass(frozen=True)
class ExtractionPlan:
    root: RelPath
    root_member: tarfile.TarInfo
    entries: tuple[Entry, ...]


def safe_extract(tarball: Path | BinaryIO, dest: Path) -> BuildInfo:
    """Unpack the package root of ``tarball`` into the empty directory ``dest``.

    On any failure ``dest`` is left empty and an :class:`InstallError` names the member and
    the reason.
    """
    if not dest.is_dir():
        raise InstallError(f"staging directory {dest} does not exist")
    if any(dest.iterdir()):
        raise InstallError(f"staging directory {dest} is not empty")
    try:
        with _seekable(tarball) as raw:
            _check_gzip_magic(raw)
            with (
                gzip.GzipFile(fileobj=raw, mode="rb") as gz,
                tarfile.open(fileobj=gz, mode="r:") as tar,
            ):
                members = _read_members(tar, gz)
                plan = plan_extraction(members)
                _unpack(tar, plan, dest)
        return parse_buildinfo(_read_text(dest.joinpath(*BUILDINFO_PARTS)))
    except BaseException:
        _empty_directory(dest)
        raise


def plan_extraction(members: Sequence[tarfile.TarInfo]) -> ExtractionPlan:
    """Validate the member list and decide what goes where (no I/O)."""
    names = [_member_parts(m) for m in members]
    root = _find_root(members, names)

    entries: list[Entry] = []
    root_member: tarfile.TarInfo | None = None
    files: set[RelPath] = set()
    symlinks: set[RelPath] = set()
    seen: dict[RelPath, tarfile.TarInfo] = {}
    for member, parts in zip(members, names, strict=True):
        if parts[: len(root)] != root:
            if member.isdir() and root[: len(parts)] == parts:
                continue  # a parent directory of the prefix (layout 2)
            raise _refuse(member, f"lies outside the package root {'/'.join(root)}")
        rel = parts[len(root) :]
        if not (member.isdir() or member.isreg() or member.issym() or member.islnk()):
            raise _refuse(member, "is a device, FIFO or other special file")
        if not rel:
            if not member.isdir():
                raise _refuse(member, "is the package root but not a directory")
            root_member = member
            continue
        for depth in range(1, len(rel)):
            if rel[:depth] in symlinks:
                link = "/".join(rel[:depth])
                raise _refuse(member, f"would be written through the symlink {link}")
        previous = seen.get(rel)
        if previous is not None and not (previous.isdir() and member.isdir()):
            raise _refuse(member, "appears twice in the tarball")
        seen[rel] = member

        target: RelPath | None = None
        if member.islnk():
            target = _hard_link_target(member, root, files)
        if member.isreg() or member.islnk():
            files.add(rel)
        elif member.issym():
            symlinks.add(rel)
        entries.append(Entry(member, rel, target))

    if root_member is None:
        raise InstallError(
            f"tarball has no directory entry for the package root {'/'.join(root)}", hint=_HINT
        )
    return ExtractionPlan(root, root_member, tuple(entries))


def _member_parts(member: tarfile.TarInfo) -> RelPath:
    """Split a member name into components, refusing absolute names and ``..``."""
    name = member.name
    if name.startswith("/"):
        raise _refuse(member, "has an absolute name")
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if ".." in parts:
        raise _refuse(member, "has a '..' component")
    if "\0" in name:
        raise _refuse(member, "has a NUL byte in its name")
    if not parts and not member.isdir():
        raise _refuse(member, "has an empty name")
    return parts


def _find_root(members: Sequence[tarfile.TarInfo], names: Sequence[RelPath]) -> RelPath:
    """The package root: grandparent of the shortest ``.spack/binary_distribution`` file."""
    candidates = [
        parts
        for member, parts in zip(members, names, strict=True)
        if member.isreg() and parts[-2:] == BUILDINFO_PARTS
    ]
    if not candidates:
        raise InstallError(
            "tarball is not a Spack package: it has no .spack/binary_distribution file",
            hint=_HINT,
        )
    shortest = min(candidates, key=lambda p: len("/".join(p)))
    if len(shortest) < 3:
        raise InstallError(
            "tarball is not a Spack package: .spack/binary_distribution is not inside a "
            "package directory",
            hint=_HINT,
        )
    return shortest[:-2]


def _hard_link_target(member: tarfile.TarInfo, root: RelPath, files: set[RelPath]) -> RelPath:
    if member.linkname.startswith("/"):
        raise _refuse(member, f"is a hard link to the absolute path {member.linkname}")
    target = tuple(p for p in member.linkname.split("/") if p not in ("", "."))
    if ".." in target or target[: len(root)] != root:
        raise _refuse(member, f"is a hard link to {member.linkname}, outside the package root")
    rel = target[len(root) :]
    if rel not in files:
        raise _refuse(member, f"is a hard link to {member.linkname}, which is not an earlier file")
    return rel


def _refuse(member: tarfile.TarInfo, why: str) -> InstallError:
    return InstallError(f"unsafe tarball: member {member.name!r} {why}", hint=_HINT)


# ------------------------------------------------------------------------------------- I/O


@contextlib.contextmanager
def _seekable(tarball: Path | BinaryIO) -> Iterator[BinaryIO]:
    """A seekable binary stream: the file itself, or a spooled copy of a one-way stream."""
    if isinstance(tarball, Path):
        try:
            with open(tarball, "rb") as f:
                yield f
        except FileNotFoundError as exc:
            raise InstallError(f"tarball {tarball} does not exist") from exc
        return
    if tarball.seekable():
        tarball.seek(0)
        yield tarball
        return
    with tempfile.TemporaryFile() as spool:
        shutil.copyfileobj(tarball, spool, _COPY_CHUNK)
        spool.seek(0)
        yield spool


def _check_gzip_magic(raw: BinaryIO) -> None:
    magic = raw.read(2)
    raw.seek(0)
    if magic != b"\x1f\x8b":
        raise InstallError("tarball is not gzip-compressed", hint=_HINT)


def _read_members(tar: tarfile.TarFile, gz: gzip.GzipFile) -> list[tarfile.TarInfo]:
    """All member headers, after reading the gzip stream to its end to verify its CRC."""
    try:
        members = tar.getmembers()
        while gz.read(_COPY_CHUNK):
            pass
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise InstallError(f"tarball is truncated or corrupt: {exc}", hint=_HINT) from exc
    return members


def _unpack(tar: tarfile.TarFile, plan: ExtractionPlan, dest: Path) -> None:
    directories: list[tuple[Path, int]] = [(dest, plan.root_member.mode)]
    for entry in plan.entries:
        path = dest.joinpath(*entry.rel)
        member = entry.member
        try:
            if member.isdir():
                path.mkdir(parents=True, exist_ok=True)
                directories.append((path, member.mode))
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            if entry.link_target is not None:
                os.link(dest.joinpath(*entry.link_target), path, follow_symlinks=False)
            elif member.issym():
                os.symlink(member.linkname, path)
            else:
                _write_file(tar, member, path)
        except (tarfile.TarError, EOFError, zlib.error) as exc:
            raise InstallError(
                f"tarball is truncated or corrupt at {member.name!r}: {exc}", hint=_HINT
            ) from exc
        except OSError as exc:
            raise InstallError(f"cannot unpack {member.name!r}: {exc.strerror or exc}") from exc
    # Directories last, deepest first, so read-only ones do not block their own contents; the
    # owner keeps full access because relocation still has to write inside them.
    for path, mode in reversed(directories):
        os.chmod(path, (mode & 0o777) | 0o700)


def _write_file(tar: tarfile.TarFile, member: tarfile.TarInfo, path: Path) -> None:
    source = tar.extractfile(member)
    if source is None:  # pragma: no cover - isreg() members always have data
        raise InstallError(f"cannot read tarball member {member.name!r}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(source, out, _COPY_CHUNK)
        os.fchmod(out.fileno(), member.mode & 0o777)


def _read_text(path: Path) -> str:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as f:
        data = f.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InstallError("binary_distribution is not UTF-8 text") from exc


def _empty_directory(dest: Path) -> None:
    """Remove everything inside ``dest`` (never following symlinks), keeping ``dest``."""
    if not dest.is_dir():
        return
    for child in dest.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
