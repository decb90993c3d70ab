"""The install child process: ``python -m jupyter_spackcache.server.tasks.worker``.

Extraction and relocation are Python code holding the interpreter lock; run on a thread of
the Jupyter server they would pause its event loop now and then. So each install task runs
here, in its own process, and the server only relays what it reports (``child.py``; the
messages are in ``protocol.py``).
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import signal
import sys
import threading
import time
from typing import IO, Any

from ...errors import SpackCacheError
from ...install.progress import ProgressEvent
from ...lifeline import die_with_parent
from .protocol import (
    CANCEL,
    EVENT_INTERVAL,
    Throttle,
    WorkerRequest,
    error_message,
    event_message,
)

log = logging.getLogger(__name__)


# ---- the child -------------------------------------------------------------------------------


class _Channel:
    """The protocol stream (the real stdout), shared by the installer's threads."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._throttle = Throttle(EVENT_INTERVAL)

    def send(self, message: dict[str, Any]) -> None:
        line = json.dumps(message, separators=(",", ":")) + "\n"
        with self._lock:
            self._stream.write(line)
            self._stream.flush()

    def progress(self, event: ProgressEvent) -> None:
        with self._lock:
            keep = self._throttle.passes(event, time.monotonic())
        if keep:
            self.send(event_message(event))


def _watch_stdin(stdin: IO[bytes], cancel: threading.Event) -> None:
    """Cancel on the parent's ``cancel`` line or when the parent goes away (end of stdin)."""
    for line in stdin:
        if line.strip().decode(errors="replace") == CANCEL:
            break
    cancel.set()


def main() -> int:
    # the protocol owns the real stdout; anything else printed (gpg, libraries) goes to stderr
    channel = _Channel(os.fdopen(os.dup(1), "w", encoding="utf-8"))
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    cancel = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: cancel.set())
    # a killed server sends us SIGTERM: the install cancels and leaves the tree as it was
    die_with_parent(os.getppid(), signal.SIGTERM)
    request: WorkerRequest = pickle.load(sys.stdin.buffer)
    threading.Thread(
        target=_watch_stdin,
        args=(sys.stdin.buffer, cancel),
        daemon=True,
        name="spackcache-worker-stdin",
    ).start()

    from .demo import run_demo
    from .install import run_install

    try:
        if request.kind == "demo-mirror":
            run_demo(request.config, progress=channel.progress, cancel=cancel)
        else:
            run_install(
                request.config,
                request.specs,
                kernel=request.kernel,
                root=request.root,
                progress=channel.progress,
                cancel=cancel,
            )
    except Exception as exc:
        if not isinstance(exc, SpackCacheError):
            log.exception("spackcache install worker crashed")
        channel.send(error_message(exc))
        return 1
    channel.send({"end": "done"})
    return 0


if __name__ == "__main__":
    status = main()
    sys.stderr.flush()
    # no interpreter shutdown: the stdin watcher may still be blocked in a read
    os._exit(status)
