"""What the server and its install child process say to each other (the child: ``worker.py``).

The parent writes one pickled :class:`WorkerRequest` to the child's stdin, then at most the
line ``cancel``; end of stdin (the parent died) also cancels. The child writes JSON lines to
stdout: ``{"event": ...}`` for each :class:`ProgressEvent`, then exactly one ``{"end": "done"}``
or ``{"end": "error", "code", "message", "hint"}``. A child that ends without that last line
died (a signal, a crash), and the parent says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...config import Config
from ...errors import SpackCacheError
from ...install.progress import ProgressEvent, Stage

#: the line the parent sends to ask for a rollback
CANCEL = "cancel"
#: byte-count updates of one node closer together than this are dropped (stage changes never)
EVENT_INTERVAL = 0.05


@dataclass(frozen=True, slots=True)
class WorkerRequest:
    """Everything the child needs to do what the install thread used to do."""

    config: Config
    specs: tuple[str, ...]
    kernel: bool
    root: str
    #: what to run (model.TASK_KINDS)
    kind: str = "install"


# ---- messages (pure) -------------------------------------------------------------------------


def event_message(event: ProgressEvent) -> dict[str, Any]:
    return {
        "event": {
            "hash": event.hash,
            "name": event.name,
            "version": event.version,
            "stage": event.stage.value,
            "done": event.done,
            "total": event.total,
            "message": event.message,
            "time": event.time,
        }
    }


def event_from_message(raw: dict[str, Any]) -> ProgressEvent:
    return ProgressEvent(
        str(raw["hash"]),
        str(raw["name"]),
        str(raw["version"]),
        Stage(raw["stage"]),
        int(raw["done"]),
        None if raw["total"] is None else int(raw["total"]),
        raw["message"],
        float(raw["time"]),
    )


def error_message(exc: BaseException) -> dict[str, Any]:
    """The final line for a failure: the core's code, one-line message and hint."""
    if isinstance(exc, SpackCacheError):
        return {"end": "error", "code": exc.code, "message": exc.message, "hint": exc.hint}
    reason = " ".join(f"internal error: {type(exc).__name__}: {exc}".split())
    return {"end": "error", "code": "internal", "message": reason, "hint": None}


class Throttle:
    """Drops byte-count updates that follow too closely; stage changes, completions and
    whole-task notes pass."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._last: dict[str, tuple[Stage, float]] = {}

    def passes(self, event: ProgressEvent, now: float) -> bool:
        if not event.hash:  # a whole-task note (a log line), never a byte count: keep it
            return True
        previous = self._last.get(event.hash)
        complete = event.total is not None and event.done >= event.total
        if (
            previous is not None
            and previous[0] == event.stage
            and not complete
            and now - previous[1] < self._interval
        ):
            return False
        self._last[event.hash] = (event.stage, now)
        return True
