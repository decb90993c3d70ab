"""The work of one install task, done in the child process (``worker.py``).

It goes through :mod:`jupyter_spackcache.ops.install`, so the server installs exactly what
``spackcache install`` would.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from ...config import Config
from ...errors import InstallCancelled
from ...install.plan import Plan
from ...install.progress import ProgressCallback, ProgressEvent, Stage
from ...ops.install import InstallRequest, plan_install, run_plan
from ...ops.kernels import KernelRequest, add_kernel
from ...session import Session
from .model import NETWORK_EVENT

#: parallel extract/relocate workers per install (the machine's other cores serve Jupyter)
INSTALL_JOBS = 2


def make_kernel(session: Session, plan: Plan, progress: ProgressCallback) -> None:
    """A Jupyter kernel for the installed roots (what ``spackcache kernel add`` makes)."""
    request = KernelRequest(tuple(f"/{h}" for h in plan.roots))
    info = add_kernel(request, store=session.store, config=session.config)
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
    with Session(config) as session:
        plan = plan_install(
            InstallRequest(tuple(specs), Path(root)),
            catalog=session.catalog,
            store=session.store,
            host=session.host,
            upstreams=session.upstreams,
        )
        if cancel.is_set():
            raise InstallCancelled("install cancelled before anything was downloaded")
        result = run_plan(
            plan,
            catalog=session.catalog,
            store=session.store,
            config=session.config,
            jobs=INSTALL_JOBS,
            progress=progress,
            cancel=cancel,
        )
        for warning in result.warnings:  # the task's events are all its client sees
            progress(ProgressEvent("", "modules", "", Stage.DONE, message=f"warning: {warning}"))
        if result.retry_count:
            note = f"{result.retry_count} transient network failure(s) retried"
            progress(
                ProgressEvent(
                    "", NETWORK_EVENT, "", Stage.DONE, done=result.retry_count, message=note
                )
            )
        if kernel or session.config.auto_kernels:
            make_kernel(session, plan, progress)
