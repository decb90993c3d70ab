"""Exclusive per-node and per-root file locks that vanish with their holder.

``fcntl.lockf`` (POSIX record locks) is used because it works on NFS and the kernel drops the
lock when the holding process dies, even by ``kill -9``: a crashed install never wedges the
next one. Two POSIX-lock pitfalls are handled here:

* record locks belong to the *process*, so two threads of one process would both "get" the
  lock; a per-path thread lock serialises holders inside the process first;
* closing *any* descriptor of the file drops the process's lock, so each path is opened by at
  most one holder at a time (guaranteed by that same thread lock).

Lock files are never deleted: unlinking a lock file while another process waits on it would let
two processes "hold" two different files of the same name.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
import time
from pathlib import Path
from types import TracebackType

from ..errors import InstallError

_POLL_START = 0.005
_POLL_MAX = 0.1
_registry_guard = threading.Lock()
_thread_locks: dict[str, threading.Lock] = {}


def _reset_after_fork() -> None:
    """A forked child holds none of its parent's locks; start with a clean registry."""
    global _registry_guard
    _registry_guard = threading.Lock()
    _thread_locks.clear()
    _gates.clear()


os.register_at_fork(after_in_child=_reset_after_fork)


def _thread_lock(path: Path) -> threading.Lock:
    with _registry_guard:
        return _thread_locks.setdefault(os.path.abspath(path), threading.Lock())


class FileLock:
    """An exclusive lock on one file; not reentrant. Also a context manager (waits forever)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._local = _thread_lock(path)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, timeout: float | None = None) -> bool:
        """Take the lock, waiting up to ``timeout`` seconds (None: forever). False on timeout."""
        if self._fd is not None:
            raise RuntimeError(f"lock {self.path} is already held by this object")
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._local.acquire(timeout=-1 if timeout is None else max(timeout, 0.0)):
            return False
        try:
            fd = self._open()
        except BaseException:
            self._local.release()
            raise
        try:
            locked = self._lock(fd, deadline)
        except BaseException:
            os.close(fd)
            self._local.release()
            raise
        if not locked:
            os.close(fd)
            self._local.release()
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is None:
            raise RuntimeError(f"lock {self.path} is not held")
        fd, self._fd = self._fd, None
        try:
            fcntl.lockf(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
            self._local.release()

    def hold(self, timeout: float) -> FileLock:
        """Acquire or raise a one-line :class:`InstallError`; for ``with lock.hold(30):``."""
        if not self.acquire(timeout):
            raise InstallError(
                f"timed out after {timeout:g}s waiting for the lock {self.path}",
                hint="another spackcache process is installing the same package; retry later",
            )
        return self

    def __enter__(self) -> FileLock:
        if not self.held:
            self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def _open(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            raise InstallError(
                f"cannot open the lock file {self.path}: {exc.strerror}",
                hint="check that the install root is writable",
            ) from None

    @staticmethod
    def _lock(fd: int, deadline: float | None) -> bool:
        """Poll a non-blocking lock with growing sleeps: lockf itself has no timeout."""
        pause = _POLL_START
        while True:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except OSError as exc:
                if exc.errno not in (errno.EACCES, errno.EAGAIN, errno.EDEADLK):
                    raise
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                time.sleep(min(pause, left))
            else:
                time.sleep(pause)
            pause = min(pause * 2, _POLL_MAX)


class NodeLock(FileLock):
    """Held while one process installs (or removes) the node ``dag_hash``."""

    def __init__(self, locks_dir: Path, dag_hash: str) -> None:
        super().__init__(locks_dir / f"{dag_hash}.lock")


class _Gate:
    """In-process state of one store lock file: shared holders, or one exclusive holder."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.shared = 0
        self.exclusive = False
        self.fd: int | None = None


_gates: dict[str, _Gate] = {}


def _gate(path: Path) -> _Gate:
    with _registry_guard:
        return _gates.setdefault(os.path.abspath(path), _Gate())


class StoreLock:
    """The store-wide lock of one install root: installs share it, gc and uninstall exclude.

    An install holds it shared from start to finish, so nothing it reuses or has committed
    can be removed under it; gc and uninstall hold it exclusively, so they wait for running
    installs (and new installs wait for them). Between processes this is a shared/exclusive
    ``lockf``; inside one process (POSIX locks belong to the process) a gate counts holders,
    and the file is locked by the first shared holder and unlocked by the last.
    """

    def __init__(self, locks_dir: Path, *, shared: bool = False) -> None:
        self.path = locks_dir / "store.lock"
        self.shared = shared
        self._gate = _gate(self.path)
        self.held = False

    def acquire(self, timeout: float | None = None) -> bool:
        """Take the lock, waiting up to ``timeout`` seconds (None: forever). False on timeout."""
        if self.held:
            raise RuntimeError(f"lock {self.path} is already held by this object")
        deadline = None if timeout is None else time.monotonic() + timeout
        gate = self._gate
        with gate.cond:
            while gate.exclusive or (not self.shared and gate.shared):
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                gate.cond.wait(left)
            if gate.fd is None:  # first holder in this process: lock the file
                gate.fd = self._open()
                mode = fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX
                locked = False
                try:
                    locked = _lock_file(gate.fd, mode, deadline)
                finally:
                    if not locked:
                        os.close(gate.fd)
                        gate.fd = None
                if not locked:
                    return False
            if self.shared:
                gate.shared += 1
            else:
                gate.exclusive = True
        self.held = True
        return True

    def release(self) -> None:
        if not self.held:
            raise RuntimeError(f"lock {self.path} is not held")
        self.held = False
        gate = self._gate
        with gate.cond:
            if self.shared:
                gate.shared -= 1
            else:
                gate.exclusive = False
            if not gate.shared and not gate.exclusive and gate.fd is not None:
                fd, gate.fd = gate.fd, None
                try:
                    fcntl.lockf(fd, fcntl.LOCK_UN)
                finally:
                    os.close(fd)
            gate.cond.notify_all()

    def _open(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            raise InstallError(
                f"cannot open the lock file {self.path}: {exc.strerror}",
                hint="check that the install root is writable",
            ) from None

    def __enter__(self) -> StoreLock:
        if not self.held:
            self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _lock_file(fd: int, mode: int, deadline: float | None) -> bool:
    """Poll a non-blocking ``lockf`` with growing sleeps until ``deadline`` (None: forever)."""
    pause = _POLL_START
    while True:
        try:
            fcntl.lockf(fd, mode | fcntl.LOCK_NB)
            return True
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EAGAIN, errno.EDEADLK):
                raise
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return False
        time.sleep(pause if left is None else min(pause, left))
        pause = min(pause * 2, _POLL_MAX)
