"""Install progress as ipywidgets bars (one per package plus overall), or plain text.

Widgets render only where a frontend draws them (JupyterLab, Notebook); nbconvert and terminal
consoles would show ``HBox(...)`` instead, so :func:`progress_for` picks plain lines there. The
callback runs on the installer's threads: ipywidgets may be updated from any thread, but each
update is a message to the frontend, so byte counts are throttled.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from ..commands.progress import LineProgress, describe
from ..install.plan import PlannedNode
from ..install.progress import ProgressEvent, Stage
from ..present import human_size

#: ``auto`` (default), ``widgets`` or ``text``: how ``%spack`` shows install progress
PROGRESS_ENV = "SPACKCACHE_PROGRESS"
#: at most this many byte-count updates per second and package
_UPDATES_PER_SECOND = 5
_STYLE = {Stage.DONE: "success", Stage.FAILED: "danger", Stage.CANCELLED: "warning"}
_LABELS = {
    Stage.DONE: "installed",
    Stage.FAILED: "failed",
    Stage.CANCELLED: "cancelled",
    Stage.REUSED: "already installed",
    Stage.EXTERNAL: "external",
}


def widgets_wanted(env: dict[str, str] | None = None) -> bool:
    """Whether a frontend that draws widgets is attached to this kernel.

    A Jupyter server sets ``JPY_SESSION_NAME`` for the kernels of its notebooks and consoles;
    nbclient/nbconvert and ``jupyter console`` do not. ``$SPACKCACHE_PROGRESS`` overrides.
    """
    env = dict(os.environ) if env is None else env
    choice = env.get(PROGRESS_ENV, "auto").lower()
    if choice in {"text", "widgets"}:
        return choice == "widgets" and _ipywidgets_usable()
    return bool(env.get("JPY_SESSION_NAME")) and _ipywidgets_usable()


def _ipywidgets_usable() -> bool:
    try:
        import ipywidgets  # type: ignore[import-untyped]  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class WidgetProgress:
    """A box with an overall bar (packages finished) and one byte bar per package."""

    def __init__(self, downloads: Sequence[PlannedNode]) -> None:
        import ipywidgets as w

        self._lock = threading.Lock()
        self._last_update: dict[str, float] = {}
        self._finished: set[str] = set()
        self.overall = w.IntProgress(
            value=0, min=0, max=max(1, len(downloads)), description="overall", bar_style="info"
        )
        self.overall_label = w.Label(f"0 of {len(downloads)} package(s)")
        self.bars: dict[str, Any] = {}
        self.labels: dict[str, Any] = {}
        rows = [w.HBox([self.overall, self.overall_label])]
        for p in downloads:
            bar = w.FloatProgress(
                value=0,
                min=0,
                max=float(p.size or 1),
                description=p.node.name[:18],
                style={"description_width": "initial"},
            )
            label = w.Label(f"{p.node.version} · queued · {human_size(p.size)}")
            self.bars[p.hash], self.labels[p.hash] = bar, label
            rows.append(w.HBox([bar, label]))
        self.total = len(downloads)
        self.box = w.VBox(rows)

    def display(self) -> None:
        from IPython.display import display

        display(self.box)  # type: ignore[no-untyped-call]

    def __call__(self, event: ProgressEvent) -> None:
        with self._lock:
            bar, label = self.bars.get(event.hash), self.labels.get(event.hash)
            if bar is None or label is None:
                return
            if event.stage is Stage.DOWNLOAD and not self._due(event.hash, event):
                return
            if event.total:
                bar.max = float(event.total)
            if event.stage is Stage.DOWNLOAD:
                bar.value = float(min(event.done, bar.max))
            elif event.stage.finished or event.stage in (
                Stage.VERIFY,
                Stage.EXTRACT,
                Stage.UNPACKED,
                Stage.RELOCATE,
            ):
                bar.value = bar.max
            bar.bar_style = _STYLE.get(event.stage, "info")
            text = _LABELS.get(event.stage, event.stage.value)
            if event.message and event.stage is Stage.FAILED:
                text += f": {event.message}"
            label.value = f"{event.version} · {text}"
            if event.stage.finished and event.hash not in self._finished:
                self._finished.add(event.hash)
                self.overall.value = len(self._finished)
                self.overall_label.value = f"{len(self._finished)} of {self.total} package(s)"
                if event.stage is Stage.FAILED:
                    self.overall.bar_style = "danger"

    def _due(self, key: str, event: ProgressEvent) -> bool:
        """Throttle byte counts, but always show the first and the last one."""
        now = time.monotonic()
        last = self._last_update.get(key)
        complete = event.total is not None and event.done >= event.total
        if last is not None and not complete and now - last < 1 / _UPDATES_PER_SECOND:
            return False
        self._last_update[key] = now
        return True

    def close(self) -> None:
        with self._lock:
            if self._finished and len(self._finished) == self.total:
                failed = any(b.bar_style == "danger" for b in self.bars.values())
                self.overall.bar_style = "danger" if failed else "success"


class TextProgress(LineProgress):
    """Plain lines on the cell's stdout (nbconvert, consoles): the CLI's own wording."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)


def progress_for(downloads: Sequence[PlannedNode]) -> WidgetProgress | TextProgress:
    """Widgets when a frontend draws them and there is something to download, else text."""
    if downloads and widgets_wanted():
        progress = WidgetProgress(downloads)
        progress.display()
        return progress
    return TextProgress()


__all__ = ["TextProgress", "WidgetProgress", "describe", "progress_for", "widgets_wanted"]
