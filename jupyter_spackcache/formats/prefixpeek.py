"""The build prefix of a tarball, from its first 64 KiB only.

The plan must refuse a store root whose prefixes are longer than the ones they replace *before*
anything is downloaded. Since Spack 0.21 a tarball's members are the absolute prefix without
its leading ``/`` (layout 2 adds one entry per parent directory first), and members come
depth-first, a directory's files before its subdirectories, names sorted. So the head of the
tarball names the prefix: it is the parent of the first ``.spack`` entry, or, failing that,
the directory holding the first non-directory entry. Anything less clear-cut gives None.
"""

from __future__ import annotations

import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from jupyter_spackcache.formats.tarheader import checksum_matches, number, octal, text

#: bytes of the (compressed) tarball read to find the prefix
HEAD_BYTES = 64 * 1024
#: cap on the decompressed head: 64 KiB of gzip can expand a thousandfold
MAX_INFLATED = 4 * 1024 * 1024
#: inflated first: enough for the leading directory chain and the first files
FIRST_INFLATED = 32 * 1024
BLOCK = 512

_DIR, _PAX, _PAX_GLOBAL, _GNU_LONGNAME = b"5", b"x", b"g", b"L"


@dataclass(frozen=True, slots=True)
class TarEntry:
    """One member header: its path split into components, and whether it is a directory."""

    parts: tuple[str, ...]
    is_dir: bool


# --------------------------------------------------------------------------- pure parsing


def gunzip_head(data: bytes, limit: int = MAX_INFLATED) -> bytes:
    """As much of the gzip stream ``data`` starts with as inflates cleanly (b"" if not gzip)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        return inflater.decompress(data, limit)
    except zlib.error:
        return b""


def _size(field: bytes) -> int | None:
    try:
        size = number(field)
    except tarfile.HeaderError:
        return None
    return size if size >= 0 else None


def _checksum_ok(header: bytes) -> bool:
    stored = octal(header[148:156])
    return stored is not None and checksum_matches(header, stored)


def _cstr(field: bytes) -> str:
    return text(field, "utf-8", "surrogateescape")


def _pax_path(data: bytes) -> str | None:
    """The ``path`` record of a PAX extended header (records: ``<len> key=value\\n``)."""
    path, pos = None, 0
    while pos < len(data):
        length_text, _, _ = data[pos : pos + 20].partition(b" ")
        try:
            length = int(length_text)
        except ValueError:
            return path
        if length <= 0:
            return path
        record = data[pos : pos + length]
        key, _, value = record[len(length_text) + 1 :].rstrip(b"\n").partition(b"=")
        if key == b"path":
            path = value.decode("utf-8", "surrogateescape")
        pos += length
    return path


def _split(name: str) -> tuple[str, ...] | None:
    """Path components of a member name; None for names a Spack tarball never has."""
    if name.startswith("/"):
        return None
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    return None if not parts or ".." in parts else parts


def tar_entries(data: bytes) -> Iterator[TarEntry | None]:
    """Member headers found in the (possibly truncated) tar stream ``data``, in order.

    Yields None for a header that cannot be trusted (bad checksum, odd name), then stops;
    stops quietly where the data ends.
    """
    pos, long_name = 0, None
    while pos + BLOCK <= len(data):
        header = data[pos : pos + BLOCK]
        if header == bytes(BLOCK):
            return
        size = _size(header[124:136])
        if size is None or not _checksum_ok(header):
            yield None
            return
        kind, body = header[156:157], pos + BLOCK
        pos = body + -(-size // BLOCK) * BLOCK
        if kind in (_PAX, _GNU_LONGNAME):
            if body + size > len(data):
                return  # the next member's real name lies beyond the head
            payload = data[body : body + size]
            long_name = _pax_path(payload) if kind == _PAX else _cstr(payload)
            continue
        if kind == _PAX_GLOBAL:
            continue
        name = _cstr(header[0:100])
        if header[257:262] == b"ustar" and header[345:500].strip(b"\0"):
            name = _cstr(header[345:500]) + "/" + name
        parts = _split(long_name or name)
        long_name = None
        if parts is None:
            yield None
            return
        yield TarEntry(parts, kind == _DIR or (kind in (b"0", b"\0") and name.endswith("/")))


def prefix_from_entries(entries: Iterator[TarEntry | None]) -> str | None:
    """The absolute build prefix the first entries imply, or None when they do not settle it.

    Before the decision every entry must be a directory extending one chain (``tmp``,
    ``tmp/a``, ...). The first ``.spack`` component settles it: its parent must be the last
    directory of the chain. Otherwise the first non-directory settles it when it sits in the
    last directory of the chain and that name sorts after ``.spack`` (else it could be the
    first subdirectory of a prefix without files of its own). One-component roots are the
    basename-rooted tarballs of Spack < 0.21, which do not tell where they were built.
    """
    chain: list[tuple[str, ...]] = []
    for entry in entries:
        if entry is None:
            return None
        if ".spack" in entry.parts:
            root = entry.parts[: entry.parts.index(".spack")]
            return _absolute(root) if chain and chain[-1] == root else None
        parent = entry.parts[:-1]
        if not entry.is_dir:
            if chain and chain[-1] == parent and parent[-1] > ".spack":
                return _absolute(parent)
            return None
        if chain and parent != chain[-1]:
            return None
        chain.append(entry.parts)
    return None


def _absolute(root: tuple[str, ...]) -> str | None:
    return "/" + "/".join(root) if len(root) >= 2 else None


def build_prefix_from_head(head: bytes) -> str | None:
    """The build prefix named by the first bytes of a ``.tar.gz`` tarball, if they settle it.

    The first few headers almost always settle it, so a little is inflated first and the
    rest (up to :data:`MAX_INFLATED`) only when that ran out before a decision.
    """
    for limit in (FIRST_INFLATED, MAX_INFLATED):
        data = gunzip_head(head, limit)
        prefix = prefix_from_entries(tar_entries(data))
        if prefix is not None or len(data) < limit:
            return prefix
    return None
