"""The blocking work behind the routes, as plain functions of a Session (run off the loop).

Plans run on the core thread; installs run in a child process (``worker.py``) through
:func:`run_install`.

Only the core's public entry points are used: ``Session`` for mirrors, keys, queries and
resolution, ``install.plan.make_plan`` and ``install.pipeline.install`` for installs, so the
server installs exactly what ``spackcache install`` would.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from ..config import Config
from ..errors import InstallCancelled
from ..install.plan import Plan, make_plan
from ..install.progress import ProgressCallback, ProgressEvent, Stage
from ..resolve import Resolution
from ..session import Session
from .taskmodel import NETWORK_EVENT

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


def run_install(
    config: Config,
    specs: Sequence[str],
    *,
    kernel: bool,
    root: str,
    progress: ProgressCallback,
    cancel: threading.Event,
) -> None:
    """One install task from start to end (in the worker child process, ``worker.py``):
    resolve afresh, plan, install, and make a kernel when asked or configured."""
    from ..install.pipeline import install

    with Session(config) as session:
        resolutions = resolve_all(session, specs, refresh=True)
        plan = make_plan(session, resolutions, store=session.store, install_root=Path(root))
        if cancel.is_set():
            raise InstallCancelled("install cancelled before anything was downloaded")
        result = install(session, plan, jobs=INSTALL_JOBS, progress=progress, cancel=cancel)
        if result.retry_count:
            note = f"{result.retry_count} transient network failure(s) retried"
            progress(
                ProgressEvent(
                    "", NETWORK_EVENT, "", Stage.DONE, done=result.retry_count, message=note
                )
            )
        if kernel or session.config.auto_kernels:
            make_kernel(session, plan, progress)
