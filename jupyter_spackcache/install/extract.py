"""Unpack a Spack binary tarball into an empty staging directory, refusing anything unsafe.

Spack tarballs hold one package prefix, stored either under its basename (layout 1) or under
its absolute build path minus the leading ``/`` with every parent directory listed first
(layout 2). The prefix is found by its ``.spack/binary_distribution`` file; only what lies
under it is kept, so the staging directory *becomes* the prefix.

The archive is inflated once. Spack writes ``binary_distribution`` last, so the package root
is only known at the end: members are streamed into a private scratch directory inside the
staging directory, each checked as it arrives against the members before it (:class:`_Admission`:
names stay relative, nothing is written through a symlink the tarball made, hard links point at
files already unpacked, no special files). At the end the whole member list is checked against
the root (:func:`plan_extraction`, pure) and the root's contents are renamed into place.
Tarballs come from mirrors we do not control: on any refusal nothing is left behind.
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
from types import ModuleType
from typing import BinaryIO, cast

from jupyter_spackcache.errors import InstallError, TooLarge
from jupyter_spackcache.formats.buildinfo import BUILDINFO_PARTS, BuildInfo, parse_buildinfo
from jupyter_spackcache.formats.tarheader import FastTarInfo
from jupyter_spackcache.install.rmtree import remove_tree
from jupyter_spackcache.limits import UnpackBudget

#: the private directory, inside the staging directory, that members are streamed into
SCRATCH = ".spackcache-unpack"
_COPY_CHUNK = 1 << 20
#: directory levels a member name may have: a padded build root has a few dozen, a package
#: tree a few more; more is a hostile tarball (no walk over it may recurse, see rmtree.py)
MAX_DEPTH = 256
_HINT = "the tarball is damaged or malicious; do not install it"
#: what a damaged archive raises while it is read (``BadGzipFile`` is an ``OSError``)
_CORRUPT: tuple[type[BaseException], ...] = (
    tarfile.TarError,
    EOFError,
    zlib.error,
    gzip.BadGzipFile,
)
_isal_gzip: ModuleType | None
try:  # ISA-L inflates about twice as fast as zlib: the same format, CRC and length checks
    from isal import igzip as _isal_gzip
    from isal.isal_zlib import error as _isal_error
except ImportError:  # pragma: no cover - platforms without an isal wheel
    _isal_gzip = None
else:
    _CORRUPT += (cast(type[BaseException], _isal_error),)

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


def safe_extract(
    tarball: Path | BinaryIO,
    dest: Path,
    *,
    budget: UnpackBudget | None = None,
    package: str = "the package",
) -> BuildInfo:
    """Unpack the package root of ``tarball`` into the empty directory ``dest``.

    On any failure ``dest`` is left empty and an :class:`InstallError` names the member and
    the reason. With ``budget``, the archive is refused (:class:`TooLarge`) as soon as its
    member headers announce more bytes than that, before those bytes are written.
    """
    if not dest.is_dir():
        raise InstallError(f"staging directory {dest} does not exist")
    if any(dest.iterdir()):
        raise InstallError(f"staging directory {dest} is not empty")
    try:
        scratch = dest / SCRATCH
        scratch.mkdir()
        with _seekable(tarball) as raw:
            _check_gzip_magic(raw)
            allowed = 0o777 & ~current_umask()  # a shared install root stays the user's
            writer = _Writer(scratch, allowed)
            members, refusal = _stream_into(raw, writer, budget, package)
        plan = plan_extraction(members)  # the refusal as worded from the root, if it has one
        if refusal is not None:
            raise refusal
        _adopt_root(scratch, writer.locate(plan.root), dest)
        _set_directory_modes(plan, dest, writer.allowed)
        return read_buildinfo(dest)
    except BaseException:
        _empty_directory(dest)
        raise


def read_buildinfo(prefix: Path) -> BuildInfo:
    """The parsed ``.spack/binary_distribution`` of an unpacked prefix."""
    return parse_buildinfo(_read_text(prefix.joinpath(*BUILDINFO_PARTS)))


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
    if len(parts) > MAX_DEPTH:
        raise TooLarge(
            f"tarball member {name[:80]!r}... is nested more than {MAX_DEPTH} directories deep",
            hint=_HINT,
        )
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


class _Admission:
    """Decides, before the package root is known, whether a member may be written.

    Judged from the members before it only (no I/O), on full member names: nothing may be
    written through a symlink or over an earlier member, a hard link must name an earlier
    file, special files are never created. What lies outside the root is judged at the end.
    """

    def __init__(self) -> None:
        self._is_dir: dict[RelPath, bool] = {}
        self._files: set[RelPath] = set()
        self._symlinks: set[RelPath] = set()

    def admit(self, member: tarfile.TarInfo, parts: RelPath) -> RelPath | None:
        """Record ``member``; return a hard link's target, raise if it may not be written."""
        if not (member.isdir() or member.isreg() or member.issym() or member.islnk()):
            raise _refuse(member, "is a device, FIFO or other special file")
        for depth in range(1, len(parts) if self._symlinks else 0):
            if parts[:depth] in self._symlinks:
                link = "/".join(parts[:depth])
                raise _refuse(member, f"would be written through the symlink {link}")
        was_dir = self._is_dir.get(parts)
        if was_dir is not None and not (was_dir and member.isdir()):
            raise _refuse(member, "appears twice in the tarball")
        self._is_dir[parts] = member.isdir()

        target: RelPath | None = None
        if member.islnk():
            target = tuple(p for p in member.linkname.split("/") if p not in ("", "."))
            if member.linkname.startswith("/") or target not in self._files:
                raise _refuse(
                    member, f"is a hard link to {member.linkname}, which is not an earlier file"
                )
        if member.isreg() or member.islnk():
            self._files.add(parts)
        elif member.issym():
            self._symlinks.add(parts)
        return target


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


def _open_gzip(raw: BinaryIO) -> BinaryIO:
    if _isal_gzip is not None:
        return cast(BinaryIO, _isal_gzip.open(raw, "rb"))
    return cast(BinaryIO, gzip.GzipFile(fileobj=raw, mode="rb"))


def _check_gzip_magic(raw: BinaryIO) -> None:
    magic = raw.read(2)
    raw.seek(0)
    if magic != b"\x1f\x8b":
        raise InstallError("tarball is not gzip-compressed", hint=_HINT)


def _stream_into(
    raw: BinaryIO, writer: _Writer, budget: UnpackBudget | None = None, package: str = ""
) -> tuple[list[tarfile.TarInfo], InstallError | None]:
    """Inflate the archive once, writing every admitted member with ``writer``.

    Returns every member header and the first refusal, if any: from then on nothing more is
    written, but the headers are still read so that the refusal can be worded from the root.
    The gzip stream is read to its end, which checks its CRC and length. Every member costs
    its size plus a header block against ``budget``, and so does what follows the archive.
    """
    members: list[tarfile.TarInfo] = []
    refusal: InstallError | None = None
    admission = _Admission()
    left = budget.max_bytes if budget is not None else None
    try:
        with (
            _open_gzip(raw) as gz,
            tarfile.open(fileobj=gz, mode="r:", tarinfo=FastTarInfo) as tar,
        ):
            for member in tar:
                if left is not None:
                    left -= tarfile.BLOCKSIZE + (member.size if member.isreg() else 0)
                    if left < 0:
                        raise budget.exceeded(package)  # type: ignore[union-attr]
                members.append(member)
                parts = _member_parts(member)
                if refusal is not None:
                    continue
                try:
                    target = admission.admit(member, parts)
                except InstallError as exc:
                    refusal = exc
                    continue
                writer.write(tar, member, parts, target)
            while tail := gz.read(_COPY_CHUNK):
                if left is not None:
                    left -= len(tail)
                    if left < 0:
                        raise budget.exceeded(package)  # type: ignore[union-attr]
    except _CORRUPT as exc:
        raise InstallError(f"tarball is truncated or corrupt: {exc}", hint=_HINT) from exc
    return members, refusal


class _Writer:
    """Creates members under the private ``scratch`` directory, which stands for ``base``.

    Layout-2 tarballs start with a long chain of parent directories (15 or more under a padded
    build root): rather than create and delete them, ``scratch`` stands for the deepest
    directory of that leading chain, and members are written relative to it. A member outside
    ``base`` moves the tree down under their common parent (:meth:`_lower_base`).
    """

    def __init__(self, scratch: Path, allowed: int = 0o777) -> None:
        self._scratch = scratch
        #: permission bits a file may get: never more than the user's umask lets through
        self.allowed = allowed
        self._base: RelPath = ()
        self._settled = False  # the leading chain of directories is over
        self._dirs: set[RelPath] = set()  # made under ``base``, as full member names

    def write(
        self,
        tar: tarfile.TarFile,
        member: tarfile.TarInfo,
        parts: RelPath,
        link_target: RelPath | None,
    ) -> None:
        try:
            if self._skip_leading_directory(member, parts):
                return
            if member.isdir():
                self._make_dirs(parts)
                return
            self._make_dirs(parts[:-1])
            path = self._path(parts)
            if link_target is not None:
                os.link(self._path(link_target), path, follow_symlinks=False)
            elif member.issym():
                os.symlink(member.linkname, path)
            else:
                _write_file(tar, member, path, self.allowed)
        except _CORRUPT as exc:
            raise InstallError(
                f"tarball is truncated or corrupt at {member.name!r}: {exc}", hint=_HINT
            ) from exc
        except OSError as exc:
            raise InstallError(f"cannot unpack {member.name!r}: {exc.strerror or exc}") from exc

    def locate(self, root: RelPath) -> Path:
        """The directory on disk for the member directory ``root`` (lowering ``base`` to it if
        the leading chain went past it: every file was written below both)."""
        if root[: len(self._base)] != self._base:
            self._lower_base(root)
        return self._scratch.joinpath(*root[len(self._base) :])

    def _skip_leading_directory(self, member: tarfile.TarInfo, parts: RelPath) -> bool:
        """Extend or keep ``base`` for ``member``; true if ``member`` needs nothing written."""
        if not self._settled:
            if member.isdir() and (not self._base or parts[:-1] == self._base):
                self._base = parts
                return True
            self._settled = True
        base = self._base
        if member.isdir() and base[: len(parts)] == parts:
            return True  # ``base`` or one of its parents: it exists already
        if len(parts) <= len(base) or parts[: len(base)] != base:
            common = 0
            while common < min(len(parts) - 1, len(base)) and parts[common] == base[common]:
                common += 1
            self._lower_base(base[:common])
        return False

    def _lower_base(self, new_base: RelPath) -> None:
        """Move what is written so far down, so that ``scratch`` stands for ``new_base``, a
        parent of ``base``."""
        old_base = self._base
        holder = self._scratch.with_name(self._scratch.name + "-")
        os.mkdir(holder)
        inner = holder
        for depth in range(len(new_base) + 1, len(old_base) + 1):
            inner = inner / old_base[depth - 1]
            if depth < len(old_base):
                os.mkdir(inner)
            self._dirs.add(old_base[:depth])
        os.rename(self._scratch, inner)
        os.rename(holder, self._scratch)
        self._base = new_base

    def _path(self, parts: RelPath) -> str:
        return os.path.join(self._scratch, *parts[len(self._base) :])

    def _make_dirs(self, parts: RelPath) -> None:
        missing: list[RelPath] = []
        while len(parts) > len(self._base) and parts not in self._dirs:
            missing.append(parts)
            parts = parts[:-1]
        for parts in reversed(missing):  # outermost first
            os.mkdir(self._path(parts))
            self._dirs.add(parts)


def _write_file(
    tar: tarfile.TarFile, member: tarfile.TarInfo, path: str, allowed: int = 0o777
) -> None:
    """Create ``path`` (never through a symlink, never over a file) with the member's data.

    The data is read straight from the archive stream and written with ``os.write``: a
    file object per member (``extractfile``, ``fdopen``) costs more than the copy for the
    thousands of small files of a typical prefix. Sparse members go the general way.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, 0o600)
    try:
        if member.sparse is not None:
            source = tar.extractfile(member)
            if source is None:  # pragma: no cover - isreg() members always have data
                raise InstallError(f"cannot read tarball member {member.name!r}")
            while chunk := source.read(_COPY_CHUNK):
                _write_all(fd, chunk)
        else:
            stream = tar.fileobj
            assert stream is not None
            stream.seek(member.offset_data)
            left = member.size
            while left:
                chunk = stream.read(min(left, _COPY_CHUNK))
                if not chunk:
                    raise tarfile.ReadError("unexpected end of data")
                _write_all(fd, chunk)
                left -= len(chunk)
        os.fchmod(fd, member.mode & allowed)  # setuid/setgid/sticky never, umask applied
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _adopt_root(scratch: Path, root: Path, dest: Path) -> None:
    """Rename the package root's contents, ``root`` inside ``scratch``, into ``dest``."""
    names = os.listdir(root)
    if scratch.name in names:  # the package itself has an entry of that name: step aside
        aside = dest / _fresh_name(scratch.name, names)
        os.rename(scratch, aside)
        root = aside / root.relative_to(scratch)
        scratch = aside
    for name in names:
        os.rename(root / name, dest / name)
    remove_tree(scratch)  # only the now empty root, and maybe some of its parents, are left


def current_umask() -> int:
    """The process's umask, read without changing it (``os.umask`` would race other threads)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # no /proc: read it the racy way, once per unpack
    os.umask(mask)
    return mask


def _set_directory_modes(plan: ExtractionPlan, dest: Path, allowed: int = 0o777) -> None:
    """Directories last, deepest first, so read-only ones do not block their own contents; the
    owner keeps full access because relocation still has to write inside them."""
    directories = [(dest, plan.root_member.mode)]
    directories += [
        (dest.joinpath(*e.rel), e.member.mode) for e in plan.entries if e.member.isdir()
    ]
    for path, mode in reversed(directories):
        os.chmod(path, (mode & allowed) | 0o700)


def _fresh_name(name: str, taken: Sequence[str]) -> str:
    suffix = 0
    while f"{name}-{suffix}" in taken:
        suffix += 1
    return f"{name}-{suffix}"


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
        remove_tree(child)
