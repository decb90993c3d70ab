"""Install tasks in child processes: the server side of ``worker.py``.

The task manager still runs each task on the install root's worker thread, but that thread
only starts a child, feeds its progress events to the task and waits: the installer's Python
code (extraction, relocation) never competes with the event loop for the interpreter lock.

Cancel (``DELETE /tasks/{id}``, server shutdown) asks the child to roll back; a child that
has not exited ``grace`` seconds later is killed, which the installer survives (nothing
half-installed is ever registered, the next install cleans up the leftovers).
"""

from __future__ import annotations

import contextlib
import json
import pickle
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import IO, Any

from ...config import Config
from ...errors import InstallCancelled, InstallError, SpackCacheError
from ...install.progress import ProgressCallback
from .manager import Runner
from .model import Task
from .protocol import CANCEL, WorkerRequest, event_from_message

#: seconds a cancelled child gets to roll back before it is killed
CANCEL_GRACE = 15.0
WORKER_COMMAND: tuple[str, ...] = (sys.executable, "-m", "jupyter_spackcache.server.tasks.worker")


class ReportedError(SpackCacheError):
    """A failure the child reported; its ``code`` travels as data, not as a class."""

    def __init__(self, code: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code = code


def child_runner(
    config: Callable[[], Config],
    *,
    grace: float = CANCEL_GRACE,
    command: Sequence[str] = WORKER_COMMAND,
) -> Runner:
    """The task runner: each task in a fresh child process built from the current config."""

    def run(task: Task, progress: ProgressCallback, cancel: threading.Event) -> None:
        request = WorkerRequest(config(), task.specs, task.kernel, task.root, task.kind)
        run_child(request, progress, cancel, grace=grace, command=command)

    return run


def run_child(
    request: WorkerRequest,
    progress: ProgressCallback,
    cancel: threading.Event,
    *,
    grace: float = CANCEL_GRACE,
    command: Sequence[str] = WORKER_COMMAND,
) -> None:
    """Run ``request`` in a child, relaying its events; raises what it reports (or its death)."""
    try:
        child = subprocess.Popen(list(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    except OSError as exc:
        raise InstallError(f"could not start the install process: {exc}") from exc
    assert child.stdin is not None and child.stdout is not None
    _send(child.stdin, pickle.dumps(request))
    ended, stopped = threading.Event(), threading.Event()
    stopper = threading.Thread(
        target=_stop_on_cancel,
        args=(child, cancel, ended, stopped, grace),
        daemon=True,
        name="spackcache-install-stop",
    )
    stopper.start()
    end: dict[str, Any] | None = None
    try:
        for line in child.stdout:
            message = json.loads(line)
            if "event" in message:
                progress(event_from_message(message["event"]))
            elif "end" in message:
                end = message
    finally:
        ended.set()
        stopper.join()
        if end is None and not stopped.is_set() and child.poll() is None:
            _stop(child, grace)  # we stopped listening early (a bug): do not leave it running
        returncode = child.wait()
        _close(child.stdin)
        child.stdout.close()
    raise_for_end(end, returncode, cancelled=cancel.is_set())


def raise_for_end(end: dict[str, Any] | None, returncode: int, *, cancelled: bool) -> None:
    """Turn the child's last line (or its lack) into the task's outcome."""
    if end is not None and end.get("end") == "done":
        return
    if end is not None:
        code, message, hint = str(end["code"]), str(end["message"]), end.get("hint")
        if code == InstallCancelled.code:
            raise InstallCancelled(message, hint=hint)
        raise ReportedError(code, message, hint=hint)
    if cancelled:
        raise InstallCancelled(
            f"install cancelled; the install process was stopped ({describe_exit(returncode)})",
            hint="leftovers are cleaned up by the next install",
        )
    raise InstallError(
        f"the install process ended unexpectedly ({describe_exit(returncode)})",
        hint="see the Jupyter server log; installing again is safe",
    )


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


def _send(stream: IO[bytes], data: bytes) -> None:
    """Write to the child; one that already died is reported by its missing last line."""
    with contextlib.suppress(OSError, ValueError):  # ValueError: we closed it already
        stream.write(data)
        stream.flush()


def _close(stream: IO[bytes]) -> None:
    with contextlib.suppress(OSError):
        stream.close()


def _stop_on_cancel(
    child: subprocess.Popen[bytes],
    cancel: threading.Event,
    ended: threading.Event,
    stopped: threading.Event,
    grace: float,
) -> None:
    """Watch ``cancel`` until the child's output ends; on cancel stop it (and say so)."""
    while not ended.is_set():
        if cancel.wait(0.1):
            _stop(child, grace)
            stopped.set()
            return


def _stop(child: subprocess.Popen[bytes], grace: float) -> None:
    """Ask for a rollback; kill the child if it has not exited after ``grace`` seconds."""
    assert child.stdin is not None
    _send(child.stdin, f"{CANCEL}\n".encode())
    _close(child.stdin)
    try:
        child.wait(grace)
    except subprocess.TimeoutExpired:
        child.kill()
