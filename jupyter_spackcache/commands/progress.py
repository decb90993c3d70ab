"""Install progress on a terminal: tqdm bars on a TTY (one per node plus overall), else lines.

Both renderers take :class:`~jupyter_spackcache.install.progress.ProgressEvent` values from any
pipeline thread, so they serialise output with a lock.
"""

from __future__ import annotations

import sys
import threading
from typing import IO, Any

from ..install.progress import ProgressEvent, Stage
from ..present import human_size

_TERMINAL = {
    Stage.DONE: "installed",
    Stage.REUSED: "already installed",
    Stage.EXTERNAL: "external",
    Stage.FAILED: "FAILED",
    Stage.CANCELLED: "cancelled",
}


class LineProgress:
    """One line per stage change (download progress is not repeated): logs and pipes."""

    def __init__(self, out: IO[str] | None = None) -> None:
        self.out = out or sys.stdout
        self._last: dict[str, Stage] = {}
        self._lock = threading.Lock()

    def __call__(self, event: ProgressEvent) -> None:
        with self._lock:
            if self._last.get(event.hash) == event.stage or event.stage is Stage.QUEUED:
                return
            self._last[event.hash] = event.stage
            print(describe(event), file=self.out, flush=True)

    def close(self) -> None:
        """Nothing to tidy up; present so both renderers look alike."""


def describe(event: ProgressEvent) -> str:
    what = f"{event.name}@{event.version}/{event.hash[:7]}"
    if event.stage is Stage.DOWNLOAD:
        size = f" ({human_size(event.total)})" if event.total else ""
        return f"==> {what}: downloading{size}"
    if event.stage in _TERMINAL:
        note = f": {event.message}" if event.message else ""
        return f"==> {what}: {_TERMINAL[event.stage]}{note}"
    return f"==> {what}: {event.stage.value}"


def _state(event: ProgressEvent) -> str:
    return _TERMINAL.get(event.stage, event.stage.value)


class BarProgress:
    """tqdm bars: one per node to install, and an overall one counting finished nodes."""

    def __init__(self, total_nodes: int, out: IO[str] | None = None) -> None:
        from tqdm import tqdm  # type: ignore[import-untyped]

        self._tqdm = tqdm
        self.out = out or sys.stderr
        self._bars: dict[str, Any] = {}
        self._finished: set[str] = set()
        self._lock = threading.Lock()
        self._overall = tqdm(
            total=total_nodes, desc="overall", unit="pkg", position=0, file=self.out, leave=True
        )

    def __call__(self, event: ProgressEvent) -> None:
        with self._lock:
            if event.stage in (Stage.REUSED, Stage.EXTERNAL):
                return
            bar = self._bars.get(event.hash)
            if bar is None:
                bar = self._tqdm(
                    total=event.total,
                    desc=f"{event.name}@{event.version}",
                    unit="B",
                    unit_scale=True,
                    position=len(self._bars) + 1,
                    file=self.out,
                    leave=True,
                )
                self._bars[event.hash] = bar
            if event.stage is Stage.DOWNLOAD:
                if event.total is not None:
                    bar.total = event.total
                bar.n = event.done
            bar.set_postfix_str(_state(event), refresh=False)
            bar.refresh()
            if event.stage.finished and event.hash not in self._finished:
                self._finished.add(event.hash)
                self._overall.update(1)

    def close(self) -> None:
        with self._lock:
            for bar in self._bars.values():
                bar.close()
            self._overall.close()
