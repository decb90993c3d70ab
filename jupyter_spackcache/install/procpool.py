"""Unpack tarballs in worker processes, so that several unpack at once without sharing a GIL.

The per-member work of unpacking (tar headers, name checks, copying) holds the GIL, so
threads on several cores unpack a stack measurably slower than processes (BENCHMARKS.md).
So an install leases long-lived worker processes (this module's
:func:`_serve`, also runnable as ``python -m jupyter_spackcache.install.procpool``), each running
:func:`~jupyter_spackcache.install.extract.safe_extract` on request. Where no process can be
started, the caller unpacks in its own thread instead (same function, same checks).

The protocol is one JSON object per line:

* greeting, once the worker has started: ``{"ready": true}``. A worker that does not greet
  within :data:`READY_TIMEOUT` (``sys.executable`` is not a usable Python, e.g. an embedding
  application) is stopped, and the install unpacks in its own threads instead;
* request: ``{"tarball": PATH, "dest": DIR, "package": NAME}``
* reply: ``{"ok": true}`` or ``{"error": MESSAGE, "hint": HINT, "errno": N}`` (``errno`` for
  an ``OSError`` such as a full disk, so the caller words it as it would its own).

A worker ignores Ctrl-C (the installer cancels cleanly by itself) and exits when its stdin
closes, so none outlives the installer.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from ..errors import InstallError, SpackCacheError, TooLarge
from ..limits import UnpackBudget
from .extract import safe_extract
from .faults import fault_point, fault_requested, open_tarball

_CLOSE_TIMEOUT = 10.0
#: seconds a worker may take to start (imports on a loaded machine) before it is given up
READY_TIMEOUT = 20.0
_READY = b'{"ready": true}\n'
#: the worker's entry point. The directory this copy of the package was imported from goes at
#: the end of its path: found where the parent found it even when that was added at run time
#: (a notebook's ``sys.path.insert``), without shadowing anything the worker finds first.
_BOOTSTRAP = (
    "import sys; sys.path.append(sys.argv[1]); "
    "from jupyter_spackcache.install.procpool import _serve; "
    "raise SystemExit(_serve(int(sys.argv[2])))"
)


class UnpackerProcess:
    """One worker process; used by one thread at a time."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _BOOTSTRAP,
                str(Path(__file__).resolve().parents[2]),
                str(os.getpid()),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )
        self.healthy = True
        self._greeted = False

    @property
    def pid(self) -> int:
        return self._proc.pid

    def ready(self, timeout: float) -> bool:
        """Whether the worker has greeted (waiting up to ``timeout`` seconds the first time).

        Read straight from the pipe, so that a worker that never writes a line cannot block
        the caller; the greeting is the only thing a worker writes before its first request.
        """
        if self._greeted:
            return True
        stdout = self._proc.stdout
        assert stdout is not None
        deadline = time.monotonic() + timeout
        received = b""
        while not received.endswith(b"\n") and len(received) < len(_READY):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([stdout], [], [], left)[0]:
                return False
            chunk = os.read(stdout.fileno(), len(_READY) - len(received))
            if not chunk:
                return False  # it exited
            received += chunk
        self._greeted = received == _READY
        return self._greeted

    def kill(self) -> None:
        """Stop a worker that cannot be used (it never greeted)."""
        self.healthy = False
        with contextlib.suppress(OSError):
            self._proc.kill()
        self.close()

    def unpack(
        self, tarball: Path, dest: Path, package: str, budget: UnpackBudget | None = None
    ) -> None:
        """Unpack ``tarball`` into the empty directory ``dest``; raise what unpacking raised."""
        request: dict[str, object] = {
            "tarball": str(tarball),
            "dest": str(dest),
            "package": package,
        }
        if budget is not None:
            request["budget"] = [budget.max_bytes, budget.bound]
        stdin, stdout = self._proc.stdin, self._proc.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write(json.dumps(request).encode() + b"\n")
            stdin.flush()
            line = stdout.readline()
        except OSError:
            line = b""
        if not line:
            self.healthy = False
            self._died(package)
        reply = json.loads(line)
        if reply.get("ok"):
            return
        if reply.get("errno") is not None:
            raise OSError(reply["errno"], reply["error"])
        if reply.get("code") == TooLarge.code:
            raise TooLarge(reply["error"], hint=reply.get("hint"))
        raise InstallError(reply["error"], hint=reply.get("hint"))

    def release(self) -> None:
        """Tell the worker to exit once its current unpack is done (without waiting)."""
        with contextlib.suppress(OSError):
            if self._proc.stdin is not None:
                self._proc.stdin.close()

    def _died(self, package: str) -> None:
        code = self._proc.wait()
        if code == -signal.SIGKILL and fault_requested("extract", package):
            fault_point("extract", package)  # the test hook killed the worker: crash with it
        raise InstallError(
            f"the process unpacking {package} died ({_exit_reason(code)})",
            hint="check free memory and disk space, then run the install again",
        )

    def close(self) -> None:
        """Let the worker finish and exit (or stop it if it does not)."""
        self.release()
        try:
            self._proc.wait(_CLOSE_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()


def _exit_reason(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit status {code}"


class UnpackerPool:
    """Up to ``size`` worker processes, started at once so they are ready when tarballs are."""

    def __init__(self, size: int) -> None:
        self._size = max(0, size)
        self._idle: queue.SimpleQueue[UnpackerProcess] = queue.SimpleQueue()
        self._all: list[UnpackerProcess] = []
        self._lock = threading.Lock()
        self._closed = False
        for _ in range(self._size):
            worker = self._start()
            if worker is None:
                break
            self._idle.put(worker)

    def _start(self) -> UnpackerProcess | None:
        try:
            worker = UnpackerProcess()
        except OSError:
            return None  # no processes here (limits, sandbox): unpack in threads
        with self._lock:
            self._all.append(worker)
        return worker

    @contextlib.contextmanager
    def lease(self) -> Iterator[UnpackerProcess | None]:
        """A worker for one unpack, or None when none could be started."""
        worker: UnpackerProcess | None = None
        if self._size and not self._closed:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                worker = self._start()  # all busy, or one died: start another
            if worker is not None and not worker.ready(READY_TIMEOUT):
                worker.kill()
                worker = None
                self._give_up()
        try:
            yield worker
        finally:
            if worker is not None:
                if worker.healthy and not self._closed:
                    self._idle.put(worker)
                else:
                    worker.close()

    def __enter__(self) -> UnpackerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _give_up(self) -> None:
        """No usable worker can be started here: stop the idle ones, unpack in threads.

        (A worker another thread has leased meets the same fate in that thread's lease.)
        """
        self._size = 0
        while True:
            try:
                self._idle.get_nowait().kill()
            except queue.Empty:
                return

    def close(self) -> None:
        self._closed = True
        with self._lock:
            workers, self._all = self._all, []
        for worker in workers:  # all exit at once
            worker.release()
        for worker in workers:
            worker.close()


#: a pool without processes: every unpack runs in the caller's thread
NO_UNPACKERS = UnpackerPool(0)


# ------------------------------------------------------------------------------ the worker


def _serve(parent: int | None = None) -> int:
    """Unpack what the parent asks until its pipe ends; ``parent``: its pid, whose death
    ends this worker at once (a killed installer leaves no workers behind)."""
    if parent is not None:
        from ..lifeline import die_with_parent

        die_with_parent(parent, signal.SIGKILL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.stdout.buffer.write(_READY)
    sys.stdout.flush()
    for line in sys.stdin.buffer:
        request = json.loads(line)
        budget = UnpackBudget(*request["budget"]) if request.get("budget") else None
        try:
            with open_tarball(Path(request["tarball"]), request["package"]) as raw:
                safe_extract(raw, Path(request["dest"]), budget=budget, package=request["package"])
            reply: dict[str, object] = {"ok": True}
        except SpackCacheError as exc:
            reply = {"error": exc.message, "hint": exc.hint, "errno": None, "code": exc.code}
        except OSError as exc:
            reply = {"error": exc.strerror or str(exc), "hint": None, "errno": exc.errno}
        except Exception as exc:
            reply = {"error": f"{type(exc).__name__}: {exc}", "hint": None, "errno": None}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_serve())
