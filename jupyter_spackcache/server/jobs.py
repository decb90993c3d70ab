"""The blocking work behind the routes, as plain functions of a Session (run off the loop).

Only the core's public entry points are used: ``Session`` for mirrors, keys, queries and
resolution, ``install.plan.make_plan`` and ``install.pipeline.install`` for installs, so the
server installs exactly what ``spackcache install`` would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from ..config import Config
from ..errors import InstallCancelled
from ..install.plan import Plan, make_plan
from ..install.progress import ProgressCallback, ProgressEvent, Stage
from ..resolve import Resolution
from ..session import Session
from .taskmodel import Task

#: parallel extract/relocate workers per install (the machine's other cores serve Jupyter)
INSTALL_JOBS = 2


def resolve_all(session: Session, specs: Sequence[str], *, refresh: bool) -> list[Resolution]:
    """One resolution per requested spec (installed builds preferred); fails on the first miss."""
    resolutions: list[Resolution] = []
    for text in specs:
        for resolution in session.resolve_install(text, refresh=refresh):
            resolution.raise_if_unresolved()
            resolutions.append(resolution)
    return resolutions


def plan_for(session: Session, specs: Sequence[str], *, install_root: Path | None = None) -> Plan:
    """What installing ``specs`` would do, with its prechecks (metadata only, no tarballs)."""
    resolutions = resolve_all(session, specs, refresh=False)
    return make_plan(session, resolutions, store=session.store, install_root=install_root)


def make_kernel(session: Session, plan: Plan, progress: ProgressCallback) -> None:
    """A Jupyter kernel for the installed roots (what ``spackcache kernel add`` makes)."""
    from ..kernels import add_kernel

    info = add_kernel(session, [f"/{h}" for h in plan.roots])
    progress(ProgressEvent("", "kernel", "", Stage.DONE, message=f"kernel '{info.name}' ready"))


def install_runner(config: Callable[[], Config]) -> Callable[[Task, ProgressCallback,
                                                               threading.Event], None]:
    """The task runner: a fresh Session per task, on the install root's worker thread."""

    def run(task: Task, progress: ProgressCallback, cancel: threading.Event) -> None:
        from ..install.pipeline import install

        with Session(config()) as session:
            resolutions = resolve_all(session, task.specs, refresh=True)
            plan = make_plan(
                session, resolutions, store=session.store, install_root=Path(task.root)
            )
            if cancel.is_set():
                raise InstallCancelled("install cancelled before anything was downloaded")
            install(session, plan, jobs=INSTALL_JOBS, progress=progress, cancel=cancel)
            if task.kernel or session.config.auto_kernels:
                make_kernel(session, plan, progress)

    return run
