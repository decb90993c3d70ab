"""Run a plan: download concurrently, unpack each tarball once verified, commit in DAG order.

Downloads stream in one background thread (bounded concurrency, most urgent first: see
:mod:`.schedule`). A pool of ``jobs`` workers unpacks each tarball into its private staging
directory as soon as it is verified, and commits a node (relocate, rename into place,
register) as soon as it is unpacked and its link/run dependencies are installed. Commits go
before unpacks in the pool's queue: they are short and the rest of the DAG waits for them. So
nothing appears in the store before its dependencies, while unpacking (the bulk of the work)
never waits for them.

Several processes may install overlapping plans at once. Each node is claimed with its lock
at the start: the claimer downloads and installs it; the others wait for that lock in a small
watcher thread (never in a worker, so waiting cannot starve the pool) and then find the node
registered, or, if its claimer died, claim it themselves. Every node is installed once.

On the first failure everything still running is cancelled, the unfinished nodes are left
exactly as before (nothing registered, no prefix) and that failure is raised.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import InstallCancelled, InstallError, SpackCacheError
from ..mirrors.base import MirrorReader
from ..mirrors.retry import Retrier
from ..store.db import InstalledRecord, StoreDB
from ..store.layout import StoreLayout
from ..store.lock import NodeLock, StoreLock
from .plan import Plan, PlannedNode, ReaderFor, precheck
from .procpool import NO_UNPACKERS, UnpackerPool
from .progress import ProgressCallback, ProgressEvent, Stage, ignore_progress
from .schedule import urgency
from .staging import (
    Unpacked,
    clean_staging,
    commit_node,
    download_path,
    uninstall_record,
    unpack_node,
)
from .threadpool import PriorityPool

_WAIT_SLICE = 0.25
#: pool priorities: commits first (the DAG waits for them), then unpacks, most urgent first
_COMMIT, _UNPACK = 0, 1


@dataclass(frozen=True, slots=True)
class InstallResult:
    """What an install did: nodes it installed, found installed, or left to the system."""

    installed: tuple[InstalledRecord, ...]
    reused: tuple[str, ...]
    external: tuple[str, ...]
    #: what went wrong around a successful install (e.g. modulefiles not written)
    warnings: tuple[str, ...] = ()
    #: transient network failures retried on the way (plan and install), per kind of request
    retries: dict[str, int] = dataclasses.field(default_factory=dict)

    @property
    def retry_count(self) -> int:
        return sum(self.retries.values())


def install(
    plan: Plan,
    *,
    store: StoreDB,
    reader_for: ReaderFor,
    jobs: int = 4,
    progress: ProgressCallback = ignore_progress,
    cancel: threading.Event | None = None,
    unpackers: UnpackerPool | None = None,
    retrier: Retrier | None = None,
) -> InstallResult:
    """Carry out ``plan`` (after its prechecks pass); raises the first failure.

    ``retrier``: the retry policy shared with the readers (its count goes into the result).

    ``unpackers``: worker processes the caller started early (and closes); by default the
    install starts its own as its downloads begin.
    """
    precheck(plan)
    readers = {p.mirror: reader_for(p.mirror) for p in plan.downloads if p.mirror is not None}
    layout = StoreLayout(plan.install_root)
    cancel = cancel or threading.Event()
    if retrier is not None:
        retrier.start()  # continues the deadline its plan started
    # shared for the whole run: gc and uninstall (exclusive) wait, so nothing this install
    # reuses or has committed is removed before its dependents are registered
    store_lock = StoreLock(layout.locks(), shared=True)
    while not store_lock.acquire(timeout=_WAIT_SLICE):
        if cancel.is_set():
            raise InstallCancelled("install cancelled; nothing was changed")
    try:
        _check_reused_present(plan, store)
        run = _InstallRun(plan, store, layout, readers, max(1, jobs), progress, cancel, retrier)
        result = run.execute(unpackers)
    finally:
        store_lock.release()
    if retrier is None:
        return result
    return dataclasses.replace(result, retries=dict(retrier.by_kind))


def _check_reused_present(plan: Plan, store: StoreDB) -> None:
    """A node planned for reuse may have been uninstalled since planning: say so."""
    for p in plan.nodes:
        if p.action == "reuse" and not p.upstream and not store.has(p.hash):
            raise InstallError(
                f"{p.node.short} was uninstalled after the install was planned",
                hint="run the install again",
            )


class _InstallRun:
    """The state of one install: who is ready, who is done, and the first error."""

    def __init__(
        self,
        plan: Plan,
        store: StoreDB,
        layout: StoreLayout,
        readers: dict[str, MirrorReader],
        jobs: int,
        progress: ProgressCallback,
        cancel: threading.Event,
        retrier: Retrier | None = None,
    ) -> None:
        self.plan, self.store, self.layout, self.readers = plan, store, layout, readers
        self.retrier = retrier
        self.jobs, self.progress, self.user_cancel = jobs, progress, cancel
        #: set on the first failure, on cancel, or when done: everything still running stops
        self.cancel = threading.Event()
        self.cond = threading.Condition()
        self.by_hash = {p.hash: p for p in plan.nodes}
        self.urgency = urgency(
            {p.hash: p.size for p in plan.downloads},
            {p.hash: [e.hash for e in p.node.runtime_edges()] for p in plan.downloads},
        )
        self.prefixes = {p.hash: str(p.prefix) for p in plan.nodes if p.prefix is not None}
        self.upstream = frozenset(p.hash for p in plan.nodes if p.upstream)
        self.done: set[str] = set()
        #: unpacked into staging, waiting for their dependencies (or being committed)
        self.unpacked: dict[str, Unpacked] = {}
        self.committing: set[str] = set()
        #: not yet downloaded or found installed
        self.waiting: dict[str, PlannedNode] = {}
        #: nodes to download that are not installed (or found installed) yet
        self.pending: set[str] = set()
        self.locks: dict[str, NodeLock] = {}
        self.installed: list[InstalledRecord] = []
        self.reused: list[str] = []
        self.error: BaseException | None = None
        self.failed: str | None = None
        self.unpackers = NO_UNPACKERS
        self.pool = PriorityPool(
            jobs, name="spackcache-install", on_error=lambda exc: self._fail(None, exc)
        )
        self.threads: list[threading.Thread] = []

    # ---- the whole run ---------------------------------------------------------------------

    def execute(self, unpackers: UnpackerPool | None = None) -> InstallResult:
        own_unpackers = unpackers is None
        try:
            if self.plan.downloads:  # started early by the caller, or now with the downloads
                self.unpackers = unpackers if unpackers is not None else UnpackerPool(self.jobs)
            self._settle_present()
            owned, foreign = self._claim()
            clean_staging(self.layout, owned=owned)
            self._start_downloads([self.by_hash[h] for h in owned])
            for h in foreign:
                self._spawn(self._watch, self.by_hash[h])
            self._wait()
        finally:
            self.cancel.set()
            for t in self.threads:
                t.join()
            self.pool.shutdown()
            if own_unpackers:
                self.unpackers.close()
            for lock in self.locks.values():
                lock.release()
            self.locks.clear()
        if self.error is not None:
            self._emit_cancelled()
            self._roll_back()
            raise self.error
        externals = tuple(p.hash for p in self.plan.nodes if p.action == "external")
        return InstallResult(tuple(self.installed), tuple(self.reused), externals)

    def _settle_present(self) -> None:
        for p in self.plan.nodes:
            if p.action == "external":
                self.done.add(p.hash)
                self._emit(p, Stage.EXTERNAL)
            elif p.action == "reuse":
                self._mark_reused(p)
            else:
                self.waiting[p.hash] = p
                self.pending.add(p.hash)

    def _claim(self) -> tuple[list[str], list[str]]:
        """Lock every node to download that no other process is working on."""
        owned: list[str] = []
        foreign: list[str] = []
        for h in list(self.waiting):
            lock = NodeLock(self.layout.locks(), h)
            if not lock.acquire(timeout=0):
                foreign.append(h)
            elif self.store.has(h):  # finished by another process since planning
                self._mark_reused(self.by_hash[h], lock)
            else:
                self.locks[h] = lock
                owned.append(h)
        for h in owned + foreign:
            self._emit(self.by_hash[h], Stage.QUEUED, total=self.by_hash[h].size)
        return owned, foreign

    def _wait(self) -> None:
        with self.cond:
            while self.pending and self.error is None:
                if self.user_cancel.is_set():
                    self.error = InstallCancelled("install cancelled; nothing half-done was kept")
                    break
                self.cond.wait(_WAIT_SLICE)

    # ---- downloads -------------------------------------------------------------------------

    def _start_downloads(self, nodes: list[PlannedNode]) -> None:
        nodes = sorted(nodes, key=lambda p: -self.urgency.get(p.hash, 0.0))
        jobs = [self._job(p, download_path(self.layout, p.hash)) for p in nodes]
        if jobs:
            self._spawn(self._download, jobs)

    def _job(self, p: PlannedNode, dest: Path) -> object:
        from .fetch import DownloadJob

        if p.record is None or p.mirror is None:
            raise InstallError(f"{p.node.short} has no tarball to download")
        dest.parent.mkdir(parents=True, exist_ok=True)
        return DownloadJob(
            key=p.hash,
            reader=self.readers[p.mirror],
            ref=p.record.tarball,
            dest=dest,
            max_unsigned_bytes=self.plan.limits.max_unsigned_download_bytes,
        )

    def _download(self, jobs: list[object]) -> None:
        from .fetch import DownloadJob, download_blocking

        def on_progress(key: str, done: int, total: int | None) -> None:
            self._emit(self.by_hash[key], Stage.DOWNLOAD, done=done, total=total)

        def on_done(job: DownloadJob) -> None:
            self._verified(job.key, job.dest)

        typed = [j for j in jobs if isinstance(j, DownloadJob)]
        download_blocking(
            typed,
            concurrency=self.jobs,
            progress=on_progress,
            on_done=on_done,
            cancel=self.cancel,
            retrier=self.retrier,
        )

    def _verified(self, h: str, dest: Path) -> None:
        p = self.by_hash[h]
        self._emit(p, Stage.VERIFY, done=p.size or 0, total=p.size)
        with self.cond:
            self.waiting.pop(h, None)
            if self.error is None and not self.cancel.is_set():
                unpack = functools.partial(self._unpack, p, dest)
                self.pool.submit((_UNPACK, -round(self.urgency.get(h, 0.0))), unpack)

    # ---- nodes claimed by other processes ------------------------------------------------------

    def _watch(self, p: PlannedNode) -> None:
        """Wait for another process's claim on ``p``; take the node over if it died."""
        lock = NodeLock(self.layout.locks(), p.hash)
        while not lock.acquire(timeout=_WAIT_SLICE):
            if self.cancel.is_set():
                return
        record = self.store.get(p.hash)
        if record is not None:
            with self.cond:
                self.prefixes[p.hash] = record.prefix
            self._mark_reused(p, lock)
            return
        with self.cond:
            self.locks[p.hash] = lock
        clean_staging(self.layout, owned=[p.hash])
        self._start_downloads([p])

    # ---- installing --------------------------------------------------------------------------

    def _schedule(self) -> None:
        """Commit every unpacked node whose dependencies are in place. Holds ``self.cond``."""
        if self.error is not None or self.cancel.is_set():
            return
        for h, unpacked in self.unpacked.items():
            if h not in self.committing and all(
                e.hash in self.done
                for e in unpacked.planned.node.runtime_edges()
                if e.hash in self.by_hash
            ):
                self.committing.add(h)
                self.pool.submit((_COMMIT,), functools.partial(self._commit, unpacked))

    def _unpack(self, p: PlannedNode, tarball: Path) -> None:
        if self.cancel.is_set():
            return
        self._emit(p, Stage.EXTRACT)
        try:
            with self.unpackers.lease() as unpacker:
                unpacked = unpack_node(
                    p, tarball, layout=self.layout, unpacker=unpacker, limits=self.plan.limits
                )
        except BaseException as exc:
            self._fail(p, exc)
            return
        with contextlib.suppress(OSError):
            tarball.unlink()
        self._emit(p, Stage.UNPACKED, done=p.size or 0, total=p.size)  # now the deps
        with self.cond:
            self.unpacked[p.hash] = unpacked
            self._schedule()

    def _commit(self, unpacked: Unpacked) -> None:
        if self.cancel.is_set():
            return  # the staging directory is dropped with the rest (``_roll_back``)
        p = unpacked.planned
        self._emit(p, Stage.RELOCATE)
        with self.cond:
            prefixes = dict(self.prefixes)
            del self.unpacked[p.hash]  # from here on, commit_node owns the staging directory
        try:
            record = commit_node(
                unpacked,
                layout=self.layout,
                store=self.store,
                prefixes=prefixes,
                upstream=self.upstream.__contains__,
            )
        except BaseException as exc:
            self._fail(p, exc)
            return
        self._emit(p, Stage.DONE)
        with self.cond:
            self.installed.append(record)
            self.done.add(p.hash)
            self.pending.discard(p.hash)
            lock = self.locks.pop(p.hash, None)
            if lock is not None:
                lock.release()
            self._schedule()
            self.cond.notify_all()

    def _mark_reused(self, p: PlannedNode, lock: NodeLock | None = None) -> None:
        if p.explicit and not p.upstream:  # an upstream tree is never written
            self.store.set_explicit(p.hash, True)
        self._emit(p, Stage.REUSED)
        with self.cond:
            self.waiting.pop(p.hash, None)
            self.pending.discard(p.hash)
            self.reused.append(p.hash)
            self.done.add(p.hash)
            if lock is not None:
                self.locks.pop(p.hash, None)
                lock.release()
            self._schedule()
            self.cond.notify_all()

    # ---- failure -----------------------------------------------------------------------------

    def _spawn(self, target: Callable[..., None], arg: object) -> None:
        def guarded() -> None:
            try:
                target(arg)
            except BaseException as exc:
                self._fail(arg if isinstance(arg, PlannedNode) else None, exc)

        thread = threading.Thread(target=guarded, name="spackcache-install", daemon=True)
        self.threads.append(thread)
        thread.start()

    def _fail(self, p: PlannedNode | None, exc: BaseException) -> None:
        if isinstance(exc, InstallCancelled) and self.error is not None:
            return
        if not isinstance(exc, SpackCacheError):
            exc = InstallError(f"install failed: {type(exc).__name__}: {exc}")
        if p is None and isinstance(exc, SpackCacheError):
            p = self._node_named_in(exc)
        if p is not None and isinstance(exc, SpackCacheError):
            exc = _about(exc, p)
        with self.cond:
            first = self.error is None
            if first:
                self.error = exc
                self.failed = p.hash if p is not None else None
            self.cancel.set()
            self.cond.notify_all()
        if first and p is not None:
            self._emit(p, Stage.FAILED, message=str(exc))

    def _node_named_in(self, exc: SpackCacheError) -> PlannedNode | None:
        """The download that failed, when the error names its tarball or hash."""
        for p in self.plan.downloads:
            ref = p.record.tarball if p.record is not None else None
            if p.hash in exc.message or (ref is not None and ref.sha256 in exc.message):
                return p
        return None

    def _roll_back(self) -> None:
        """Remove what this run unpacked or installed, so a failed install leaves the store as
        it was. A node another installed package has come to depend on meanwhile is kept."""
        for unpacked in self.unpacked.values():
            unpacked.discard()
        self.unpacked.clear()
        removing = {r.hash for r in self.installed}
        for record in reversed(self.installed):
            lock = NodeLock(self.layout.locks(), record.hash)
            if not lock.acquire(timeout=5):
                continue
            try:
                needed = [d for d in self.store.dependents(record.hash) if d.hash not in removing]
                if not needed:
                    uninstall_record(record, self.store)
            finally:
                lock.release()

    def _emit_cancelled(self) -> None:
        for p in self.plan.downloads:
            if p.hash not in self.done and p.hash != self.failed:
                self._emit(p, Stage.CANCELLED)

    def _emit(
        self,
        p: PlannedNode,
        stage: Stage,
        *,
        done: int = 0,
        total: int | None = None,
        message: str | None = None,
    ) -> None:
        event = ProgressEvent(p.hash, p.node.name, p.node.version, stage, done, total, message)
        with contextlib.suppress(Exception):  # a broken renderer must not break the install
            self.progress(event)


def _about(exc: SpackCacheError, p: PlannedNode) -> SpackCacheError:
    """The same error, its message led by the package it happened to (once)."""
    subject = f"{p.node.name}@{p.node.version}/{p.hash[:7]}"
    if exc.message.startswith(subject):
        return exc
    named = copy.copy(exc)
    named.message = f"{subject}: {exc.message}"
    named.args = (named.message,)
    return named
