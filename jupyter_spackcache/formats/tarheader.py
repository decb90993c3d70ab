"""A quicker decoder of tar header blocks, for ``tarfile.open(..., tarinfo=FastTarInfo)``.

``tarfile`` decodes each 512-byte header in pure Python: eight number fields digit by digit
through ``nti`` and two checksums over an unpacked tuple of 504 ints. Spack tarballs carry a
pax header before every member, so a stack has tens of thousands of headers and decoding them
is a visible share of unpacking (BENCHMARKS.md). ``TarFile`` takes the class that decodes
headers as a documented parameter (``tarinfo``); this one decodes the common case, a
well-formed ustar/pax/GNU header with octal numbers, with C-level ``int(..., 8)`` and
``sum()``, and hands every other block (end-of-archive, sparse, a base-256 or malformed
checksum, a bad one) to ``tarfile``'s own code. Everything else, pax records, GNU long names,
member iteration, stays ``tarfile``'s.

The field readers (:func:`octal`, :func:`number`, :func:`text`, :func:`checksum_matches`)
also serve the build-prefix peek, which reads headers from a tarball's first bytes.
"""

from __future__ import annotations

import tarfile
from typing import Any

_BLOCK = tarfile.BLOCKSIZE
#: the checksum field counts as eight spaces
_BLANK_CHECKSUM = 8 * ord(" ")
_HIGH_BYTES = bytes(range(128, 256))

Field = bytes | bytearray


def octal(field: Field) -> int | None:
    """A NUL/space-padded octal field, or None for anything else (base-256, garbage)."""
    if field[:1] and field[0] & 0x80:
        return None
    try:
        return int(field.split(b"\0", 1)[0].strip() or b"0", 8)
    except ValueError:
        return None


def number(field: Field) -> int:
    """A number field exactly as tarfile reads it (its ``nti`` for what :func:`octal` refuses:
    base-256, odd padding), raising ``tarfile.InvalidHeaderError`` for garbage."""
    value = octal(field)
    return value if value is not None else int(tarfile.nti(field))  # type: ignore[attr-defined]


def text(field: Field, encoding: str, errors: str) -> str:
    """A NUL-terminated string field."""
    return field.split(b"\0", 1)[0].decode(encoding, errors)


def checksum_matches(block: Field, stored: int) -> bool:
    """Whether ``stored`` is the header block's checksum: the unsigned byte sum with the
    checksum field as spaces, or the signed one that some old tars wrote."""
    field = block[148:156]
    unsigned = sum(block) - sum(field) + _BLANK_CHECKSUM
    if stored == unsigned:
        return True
    high = len(block) - len(block.translate(None, _HIGH_BYTES))
    high -= len(field) - len(field.translate(None, _HIGH_BYTES))
    return stored == unsigned - 256 * high


class FastTarInfo(tarfile.TarInfo):
    """``tarfile.TarInfo`` with a quicker :meth:`frombuf` for ordinary header blocks."""

    __slots__ = ()

    @classmethod
    def frombuf(cls, buf: bytes | bytearray, encoding: str, errors: str) -> Any:
        if len(buf) != _BLOCK or buf[156:157] == tarfile.GNUTYPE_SPARSE or not any(buf):
            return super().frombuf(buf, encoding, errors)
        expected = octal(buf[148:156])
        if expected is None or not checksum_matches(buf, expected):
            return super().frombuf(buf, encoding, errors)  # base-256 or bad: tarfile says so
        obj = cls()
        obj.name = text(buf[0:100], encoding, errors)
        obj.mode = number(buf[100:108])
        obj.uid = number(buf[108:116])
        obj.gid = number(buf[116:124])
        obj.size = number(buf[124:136])
        obj.mtime = number(buf[136:148])
        obj.chksum = expected
        obj.type = bytes(buf[156:157])
        obj.linkname = text(buf[157:257], encoding, errors)
        obj.uname = text(buf[265:297], encoding, errors)
        obj.gname = text(buf[297:329], encoding, errors)
        obj.devmajor = number(buf[329:337])
        obj.devminor = number(buf[337:345])
        prefix = text(buf[345:500], encoding, errors)
        if obj.type == tarfile.AREGTYPE and obj.name.endswith("/"):
            obj.type = tarfile.DIRTYPE  # old V7 tars: a directory is a file named "x/"
        if obj.isdir():
            obj.name = obj.name.rstrip("/")
        if prefix and obj.type not in tarfile.GNU_TYPES:
            obj.name = prefix + "/" + obj.name  # ustar splits long names
        return obj
