"""Background install tasks: one at a time per install root, further ones queue.

Each install root gets a single worker thread, so the event loop never runs installer code
and installs into one tree never overlap (the store's file locks still guard against other
processes); in the server that thread runs the install in a child process and relays it
(``child.py``). Progress events are folded into the task, throttled, published to the
:class:`~..events.EventHub` and saved to the :class:`~.db.TaskDB`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ...errors import InstallCancelled, SpackCacheError
from ...install.progress import ProgressCallback, ProgressEvent
from ..events import EventHub
from .db import TaskDB
from .model import Task, TaskError, TaskState, apply_event, with_state

#: runs one task to its end in a worker thread; raises SpackCacheError (InstallCancelled) to fail
Runner = Callable[[Task, ProgressCallback, threading.Event], None]

log = logging.getLogger(__name__)


def progress_json(event: ProgressEvent) -> dict[str, Any]:
    return {
        "hash": event.hash,
        "name": event.name,
        "version": event.version,
        "stage": event.stage.value,
        "bytes_done": event.done,
        "bytes_total": event.total,
        "message": event.message,
        "time": event.time,
    }


class TaskManager:
    def __init__(
        self,
        db: TaskDB,
        hub: EventHub,
        runner: Runner,
        *,
        throttle: float = 0.1,
        save_every: float = 1.0,
    ) -> None:
        self._db = db
        self._hub = hub
        self._runner = runner
        self._throttle = throttle
        self._save_every = save_every
        self._lock = threading.Lock()
        self._live: dict[str, Task] = {}
        self._cancels: dict[str, threading.Event] = {}
        self._executors: dict[str, ThreadPoolExecutor] = {}
        self._sent: dict[tuple[str, str], float] = {}
        self._saved: dict[str, float] = {}
        self._stopping = False

    # ---- queries ---------------------------------------------------------------------------

    def get(self, task_id: str) -> Task | None:
        with self._lock:
            live = self._live.get(task_id)
        return live if live is not None else self._db.get(task_id)

    def recent(self, limit: int = 50) -> list[Task]:
        """Newest first: the live tasks as they are now, then the history."""
        with self._lock:
            live = dict(self._live)
        stored = [live.pop(t.id, t) for t in self._db.recent(limit)]
        merged = sorted([*live.values(), *stored], key=lambda t: t.created, reverse=True)
        return merged[:limit]

    # ---- commands --------------------------------------------------------------------------

    def submit(
        self, specs: Sequence[str], *, kernel: bool, root: str, kind: str = "install"
    ) -> Task:
        """Queue a task; tasks of one kind on one root (install root, demo mirror) run in turn."""
        if self._stopping:
            raise RuntimeError("the task manager is shutting down")
        task = Task(uuid.uuid4().hex[:12], tuple(specs), kernel, root, time.time(), kind=kind)
        task = with_state(task, TaskState.QUEUED, task.created)
        with self._lock:
            self._live[task.id] = task
            self._cancels[task.id] = threading.Event()
            executor = self._executors.get(f"{kind}:{root}")
            if executor is None:
                executor = ThreadPoolExecutor(1, thread_name_prefix=f"spackcache-{kind}")
                self._executors[f"{kind}:{root}"] = executor
        self._db.save(task)
        self._announce(task)
        executor.submit(self._run, task.id)
        return task

    def active(self, kind: str) -> Task | None:
        """The queued or running task of ``kind``, if any (a second request joins it)."""
        with self._lock:
            return next((t for t in self._live.values() if t.kind == kind), None)

    def cancel(self, task_id: str) -> Task | None:
        """Ask a task to stop; a queued task is cancelled at once, a running one soon."""
        with self._lock:  # the worker checks the event under the same lock before starting
            task = self._live.get(task_id)
            event = self._cancels.get(task_id)
            if event is not None:
                event.set()
        if task is None:
            return self._db.get(task_id)
        if task.state == TaskState.QUEUED:
            self._finish(task_id, TaskState.CANCELLED, None)
        return self.get(task_id)

    def shutdown(self) -> None:
        """Stop everything: running tasks are cancelled (rolled back) and end as interrupted."""
        self._stopping = True
        with self._lock:
            events = list(self._cancels.values())
            executors = list(self._executors.values())
        for event in events:
            event.set()
        for executor in executors:
            executor.shutdown(wait=True, cancel_futures=True)
        self._db.close()

    # ---- worker side -----------------------------------------------------------------------

    def _run(self, task_id: str) -> None:
        with self._lock:
            cancel = self._cancels.get(task_id)
            queued = self._live.get(task_id)
            if cancel is None or queued is None or cancel.is_set():
                return  # cancelled while queued: already finished
            task = with_state(queued, TaskState.RUNNING, time.time())
            self._live[task_id] = task
        self._db.save(task)
        self._announce(task)
        state, error = TaskState.DONE, None
        try:
            self._runner(task, lambda e: self._on_progress(task_id, e), cancel)
        except InstallCancelled as exc:
            state = TaskState.INTERRUPTED if self._stopping else TaskState.CANCELLED
            error = TaskError.from_exception(exc)
        except SpackCacheError as exc:
            state, error = TaskState.FAILED, TaskError.from_exception(exc)
        except Exception as exc:  # a bug, not a user error: keep the server alive, say so
            log.exception("spackcache task %s crashed", task_id)
            reason = " ".join(f"internal error: {type(exc).__name__}: {exc}".split())
            state, error = TaskState.FAILED, TaskError("internal", reason)
        self._finish(task_id, state, error)

    def _finish(self, task_id: str, state: TaskState, error: TaskError | None) -> None:
        with self._lock:
            current = self._live.pop(task_id, None)
            if current is None:
                return  # already finished (a cancel raced the worker)
            task = with_state(current, state, time.time(), error=error)
            if state is TaskState.FAILED and error is not None:  # one line for the admin
                log.warning(
                    "spackcache task failed: user=%s route=%s task=%s specs=%s code=%s message=%s",
                    _process_user(),
                    "POST /installs" if task.kind == "install" else f"POST /{task.kind}",
                    task_id,
                    " ".join(task.specs),
                    error.code,
                    error.message,
                )
            self._db.save(task)  # before readers stop seeing the live copy
            self._cancels.pop(task_id, None)
            self._saved.pop(task_id, None)
            for key in [k for k in self._sent if k[0] == task_id]:
                del self._sent[key]
        self._announce(task)

    def _on_progress(self, task_id: str, event: ProgressEvent) -> None:
        """Installer threads call this: fold, throttle byte updates, save now and then."""
        now = time.monotonic()
        with self._lock:
            task = self._live.get(task_id)
            if task is None:
                return
            task, changed = apply_event(task, event)
            self._live[task_id] = task
            key = (task_id, event.hash)
            complete = event.total is not None and event.done >= event.total
            send = changed or complete or now - self._sent.get(key, 0.0) >= self._throttle
            if send:
                self._sent[key] = now
            if changed and now - self._saved.get(task_id, 0.0) >= self._save_every:
                self._saved[task_id] = now
                self._db.save(task)  # under the lock: never after the final state
        if send:
            self._hub.publish("progress", task_id, progress_json(event))

    def _announce(self, task: Task) -> None:
        self._hub.publish("task", task.id, task.to_json(with_log=False))


def _process_user() -> str:
    """The single-user server runs as its user: that is who the task belonged to."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
