"""One progress event type for every install, rendered three ways (terminal, REST task, widgets).

The pipeline emits :class:`ProgressEvent` values through a single callback; front doors only
render them. Events may come from several worker threads at once: callbacks must be
thread-safe (and quick — they run on the pipeline's threads).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum


class Stage(StrEnum):
    """Where one node of an install is. The order below is the normal path through it."""

    QUEUED = "queued"
    DOWNLOAD = "download"
    VERIFY = "verify"
    EXTRACT = "extract"
    #: unpacked into its private staging directory; relocation waits for the dependencies
    UNPACKED = "unpacked"
    RELOCATE = "relocate"
    DONE = "done"
    #: already installed (or provided by an upstream store): nothing to do
    REUSED = "reused"
    #: an external (e.g. glibc at /usr): recorded, never downloaded
    EXTERNAL = "external"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in _FINISHED


_FINISHED = frozenset({Stage.DONE, Stage.REUSED, Stage.EXTERNAL, Stage.FAILED, Stage.CANCELLED})


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """Something happened to one node (``hash`` empty for whole-install messages)."""

    hash: str
    name: str
    version: str
    stage: Stage
    #: bytes done in this stage (downloads), or 0
    done: int = 0
    #: bytes expected in this stage when known
    total: int | None = None
    #: a one-line note (the error reason for FAILED)
    message: str | None = None
    time: float = field(default_factory=time.time)


ProgressCallback = Callable[[ProgressEvent], None]


def ignore_progress(event: ProgressEvent) -> None:
    """The default callback: drop events."""
