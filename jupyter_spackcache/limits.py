"""Bounds on what untrusted input may cost: expanded index size, unpacked size, downloads.

A mirror decides how big its index inflates, how much a tarball unpacks to and, on v2 mirrors
(which sign no sizes), how long a download goes on. Every such quantity is counted while it
streams and refused the moment it passes its bound, before memory or disk run out. The bounds
are generous (the public Spack cache fits with room to spare) and configurable under
``limits:`` in ``config.yaml``.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass
from typing import Any

from .errors import MirrorError, TooLarge

GiB = 1 << 30
MiB = 1 << 20


@dataclass(frozen=True, slots=True)
class Limits:
    #: bytes an index may expand to (the public cache's is a few hundred MB)
    max_index_bytes: int = 4 * GiB
    #: bytes one tarball may unpack to, whatever its size
    max_unpack_bytes: int = 64 * GiB
    #: how many times its download size a tarball may unpack to ...
    max_unpack_ratio: int = 100
    #: ... except that this much is always allowed (tiny tarballs of sparse files)
    min_unpack_allowance: int = 256 * MiB
    #: bytes a download whose size is not signed (v2 mirrors) may have
    max_unsigned_download_bytes: int = 16 * GiB

    def unpack_budget(self, download_bytes: int | None, free_bytes: int | None) -> UnpackBudget:
        """How much a tarball of ``download_bytes`` may unpack to on a disk with ``free_bytes``
        free, and which bound that is (for the message)."""
        budget = UnpackBudget(self.max_unpack_bytes, "limits.max_unpack_bytes")
        if download_bytes is not None:
            ratio = max(self.min_unpack_allowance, download_bytes * self.max_unpack_ratio)
            if ratio < budget.max_bytes:
                budget = UnpackBudget(
                    ratio, f"{self.max_unpack_ratio} times its download (limits.max_unpack_ratio)"
                )
        if free_bytes is not None and free_bytes < budget.max_bytes:
            budget = UnpackBudget(free_bytes, "the free space of the install root")
        return budget


@dataclass(frozen=True, slots=True)
class UnpackBudget:
    max_bytes: int
    #: which bound it is, for the message
    bound: str

    def exceeded(self, package: str) -> TooLarge:
        hint = (
            "free some space or choose another install_root"
            if self.bound.startswith("the free space")
            else "the tarball is a decompression bomb or damaged; raise the limit in config.yaml "
            "only for a mirror you trust"
        )
        return TooLarge(
            f"{package}'s tarball unpacks to more than {_mb(self.max_bytes)} "
            f"({self.bound}); nothing of it was kept",
            hint=hint,
        )


DEFAULT_LIMITS = Limits()


def _mb(n: int) -> str:
    return f"{n / MiB:.0f} MB" if n >= MiB else f"{n} bytes"


def index_too_large(mirror: str, limit: int) -> TooLarge:
    return TooLarge(
        f"the index of mirror '{mirror}' expands to more than {_mb(limit)}",
        hint="if the mirror really is that big, raise limits.max_index_bytes in config.yaml",
    )


class BoundedIndexStream(io.RawIOBase):
    """The bytes of a stored index, inflated on the fly if gzip'd, refused past ``limit``.

    Reading it never holds more than one chunk of expanded data, so a small compressed bomb
    costs no memory: it fails when the count passes the bound.
    """

    _CHUNK = 1 << 20

    def __init__(self, data: bytes, *, limit: int, mirror: str) -> None:
        self._source = io.BytesIO(data)
        self._inflate = zlib.decompressobj(wbits=47) if data[:2] == b"\x1f\x8b" else None
        self._limit, self._mirror = limit, mirror
        self._pending = b""
        self._count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        want = max(1, len(buffer))  # the caller's chunk size: as few rounds as it asks for
        while not self._pending:
            if self._inflate is None:
                self._pending = self._source.read(want)
                if not self._pending:
                    return 0
                continue
            raw = self._inflate.unconsumed_tail or self._source.read(self._CHUNK)
            try:
                self._pending = (
                    self._inflate.decompress(raw, want) if raw else self._inflate.flush()
                )
            except zlib.error:
                raise MirrorError(
                    f"the index of mirror '{self._mirror}' is not valid gzip data"
                ) from None
            if not raw and not self._pending:
                return 0
        chunk, self._pending = self._pending[: len(buffer)], self._pending[len(buffer) :]
        self._count += len(chunk)
        if self._count > self._limit:
            raise index_too_large(self._mirror, self._limit)
        buffer[: len(chunk)] = chunk
        return len(chunk)
