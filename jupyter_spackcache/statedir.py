"""Per-user state on disk: private modes, and a journal mode safe for the filesystem it is on.

State (``$SPACKCACHE_HOME``: config, keyring, databases, task logs) says what a user installed
and ran; on a system where homes are world-readable (Debian's 755) nobody else should read it.
So state directories are 0700 and state files 0600, whatever the umask; the install tree is not
state, and follows the user's umask.

HPC homes are usually on NFS (or Lustre, GPFS, BeeGFS, CIFS). SQLite's WAL journal keeps its
index in shared memory, which is not shared between two login nodes that mount the same home,
so WAL there can corrupt the database; the rollback journal with POSIX (``fcntl``) locks is
safe wherever the filesystem supports record locking. :func:`journal_mode` chooses.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import stat
from collections.abc import Callable
from pathlib import Path

#: statfs ``f_type`` magic numbers of network and cluster filesystems (linux/magic.h and the
#: filesystems' own headers)
NETWORK_FILESYSTEMS: dict[int, str] = {
    0x6969: "NFS",
    0x0BD00BD0: "Lustre",
    0x47504653: "GPFS",
    0x19830326: "BeeGFS",
    0xFF534D42: "CIFS",
    0xFE534D42: "SMB2",
    0x517B: "SMB",
    0x5346414F: "AFS",
    0x6B414653: "AFS",
    0x00C36400: "CephFS",
}


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library already loaded in this process (no ``find_library`` subprocess)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.statfs  # noqa: B018 - present on Linux; absent elsewhere
    except (OSError, AttributeError):
        return None
    return libc


def _statfs_type(path: str) -> int | None:
    """The filesystem type magic of ``path`` (Linux ``statfs``), None when unknown."""
    libc = _libc()
    if libc is None:
        return None
    buffer = ctypes.create_string_buffer(256)  # struct statfs is 120 bytes on 64-bit Linux
    if libc.statfs(os.fsencode(path), buffer) != 0:
        return None
    # f_type is the first field, a native long
    return ctypes.c_long.from_buffer(buffer).value & 0xFFFFFFFF


#: the detection seam: tests replace it to pose as a network filesystem
statfs_type: Callable[[str], int | None] = _statfs_type


def network_filesystem(path: Path) -> str | None:
    """The name of the network filesystem ``path`` is on, or None for a local one."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    magic = statfs_type(str(probe))
    return None if magic is None else NETWORK_FILESYSTEMS.get(magic)


def journal_mode(database: Path) -> str:
    """``WAL`` on a local filesystem; ``DELETE`` (rollback journal, fcntl locks) on a network
    one, where WAL's shared-memory index is not shared between hosts."""
    return "DELETE" if network_filesystem(database.parent) else "WAL"


def private_dir(path: Path) -> Path:
    """``path`` created (with parents) as 0700, or narrowed to 0700 if it is ours and wider."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    _narrow(path, 0o700)
    return path


def private_file(path: Path) -> None:
    """Narrow an existing state file (a database, its journal) to 0600."""
    _narrow(path, 0o600)


def private_files(database: Path) -> None:
    """A SQLite database and the journal files beside it, 0600."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        private_file(database.with_name(database.name + suffix))


def _narrow(path: Path, mode: int) -> None:
    try:
        info = path.stat()
    except OSError:
        return
    if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & ~mode == 0:
        return
    with contextlib.suppress(OSError):  # a read-only filesystem: nothing to narrow there
        path.chmod(stat.S_IMODE(info.st_mode) & mode)
