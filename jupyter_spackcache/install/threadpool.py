"""A fixed set of worker threads that always take the most urgent task first.

An install has two kinds of work: unpacking a verified tarball into private staging (long,
independent of everything else) and committing an unpacked node (relocate, rename, register:
short, and the nodes that depend on it wait for it). A FIFO pool would queue a commit behind
every unpack submitted before it; here each task carries a priority and the lowest runs first,
so the dependency chain at the end of a DAG never waits for unrelated unpacking.
"""

from __future__ import annotations

import itertools
import math
import os
import queue
import threading
from collections.abc import Callable
from pathlib import Path

Task = Callable[[], None]


def default_jobs() -> int:
    """Workers for an install when none is asked for: one per CPU this process may use.

    Unpacking onto a local disk is CPU-bound, so more workers than CPUs only share them
    (and the largest tarball, which the install waits for, gets a smaller part); at least 2 so
    that one can wait on a slow disk, at most 8. A container's CPU quota (a JupyterHub pod's
    limit) counts: the affinity mask still shows every core of the host there.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 2
    quota = cgroup_cpu_quota(Path("/sys/fs/cgroup"))
    if quota is not None:
        cpus = min(cpus, math.ceil(quota))
    return max(2, min(8, cpus))


def cgroup_cpu_quota(root: Path) -> float | None:
    """CPUs the cgroup CPU quota allows (cgroup v2 ``cpu.max``, v1 ``cpu.cfs_quota_us``),
    or None when there is no quota or no cgroup file to read."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    for controller in ("cpu", "cpu,cpuacct"):
        try:
            quota_us = int((root / controller / "cpu.cfs_quota_us").read_text())
            period_us = int((root / controller / "cpu.cfs_period_us").read_text())
        except (OSError, ValueError):
            continue
        return None if quota_us <= 0 or period_us <= 0 else quota_us / period_us
    return None


_STOP: tuple[int, ...] = (-1,)  # sorts before every task: a closing pool stops at once


class PriorityPool:
    """``workers`` threads running submitted tasks in priority order (lowest first).

    An exception escaping a task goes to ``on_error`` (it never kills a worker).
    """

    def __init__(
        self, workers: int, *, name: str, on_error: Callable[[BaseException], None]
    ) -> None:
        self._on_error = on_error
        self._queue: queue.PriorityQueue[tuple[tuple[int, ...], int, Task | None]] = (
            queue.PriorityQueue()
        )
        self._order = itertools.count()  # FIFO among equal priorities
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
            for i in range(max(1, workers))
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, priority: tuple[int, ...], task: Task) -> None:
        if self._closed:
            raise RuntimeError("the pool is shut down")
        self._queue.put((priority, next(self._order), task))

    def shutdown(self) -> None:
        """Let running tasks finish, drop the queued ones, and join the workers."""
        self._closed = True
        for _ in self._threads:
            self._queue.put((_STOP, next(self._order), None))
        for thread in self._threads:
            thread.join()

    def _work(self) -> None:
        while True:
            _priority, _order, task = self._queue.get()
            if task is None or self._closed:
                if task is None:
                    return
                continue  # queued before the shutdown: dropped
            try:
                task()
            except BaseException as exc:
                self._on_error(exc)
