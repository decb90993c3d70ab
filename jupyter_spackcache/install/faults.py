"""The installer's only test hook: crash on purpose, like ``kill -9``, at a named point.

Crash-safety can only be proved by really crashing: ``$SPACKCACHE_FAULT`` set to
``kill@<stage>:<package>`` kills the process at that point of that package's install
(``extract`` half-way through unpacking, ``relocate`` after the first rewritten file,
``rename``, ``db``).
"""

from __future__ import annotations

import io
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

FAULT_ENV = "SPACKCACHE_FAULT"


def fault_requested(stage: str, package: str) -> bool:
    return os.environ.get(FAULT_ENV) == f"kill@{stage}:{package}"


def fault_point(stage: str, package: str) -> None:
    """Crash here when ``$SPACKCACHE_FAULT`` is ``kill@<stage>:<package>``."""
    if fault_requested(stage, package):
        os.kill(os.getpid(), signal.SIGKILL)


def open_tarball(path: Path, package: str) -> BinaryIO:
    """The tarball to unpack: a plain file, or a :class:`Tripwire` when a fault is set."""
    if fault_requested("extract", package):
        return Tripwire(path, lambda: fault_point("extract", package))
    return open(path, "rb")


class Tripwire(io.FileIO):
    """The tarball file, calling ``at_half`` once, when a read first goes past its middle.

    :func:`safe_extract` reads the archive once, front to back, so by then the members stored
    in the first half have been written. Reads stop at the middle until the hook has run, so
    that a small tarball read in one gulp is still caught half-way.
    """

    def __init__(self, path: Path, at_half: Callable[[], None]) -> None:
        super().__init__(path, "rb")
        self._half = os.fstat(self.fileno()).st_size // 2
        self._at_half: Callable[[], None] | None = at_half

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(self._allowed(size))
        return data if data is not None else b""

    def readinto(self, buffer: Any) -> int:  # what ISA-L's reader calls
        view = memoryview(buffer).cast("B")
        return super().readinto(view[: self._allowed(len(view))]) or 0

    def _allowed(self, size: int | None) -> int:
        """How much the next read may take; runs the hook once a read starts past the middle."""
        if self._at_half is None:
            return -1 if size is None else size
        position = self.tell()
        if position >= self._half:
            hook, self._at_half = self._at_half, None
            hook()
            return -1 if size is None else size
        if size is None or size < 0 or position + size > self._half:
            return self._half - position
        return size
