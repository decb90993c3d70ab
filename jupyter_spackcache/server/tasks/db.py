"""Task history on disk: ``tasks.sqlite`` in the state directory, beside the store database.

A separate file rather than a table in ``store.sqlite``: the store's schema belongs to the
installer and is migrated by it, while task history is the server's own, disposable business.
Opening the database turns tasks left queued or running by a previous server into
``interrupted`` (the installer rolled their half-work back; nothing will resume them).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path

from .model import Task, TaskState, with_state

SCHEMA_VERSION = 1
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS tasks (
           id TEXT PRIMARY KEY, created REAL NOT NULL, state TEXT NOT NULL, doc TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS tasks_by_created ON tasks (created)",
)
_UNFINISHED = (TaskState.QUEUED.value, TaskState.RUNNING.value)


def default_tasks_path(home: Path) -> Path:
    return home / "tasks.sqlite"


class TaskDB:
    """Thread-safe: the manager writes from install threads, handlers read from the loop."""

    def __init__(self, path: Path) -> None:
        from ...statedir import private_dir

        private_dir(path.parent)
        self._lock = threading.Lock()
        self.path = path
        try:
            self._db = self._open(path)
        except _DAMAGE as exc:  # history is disposable: keep the file for a post-mortem
            aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(OSError):
                    os.replace(f"{path}{suffix}", f"{aside}{suffix}")
            _log.warning(
                "the task database %s was damaged (%s); moved it to %s and started a new one",
                path,
                _reason(exc),
                aside,
            )
            self._db = self._open(path)

    def _open(self, path: Path) -> sqlite3.Connection:
        from ...statedir import journal_mode, private_files

        db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        try:
            db.execute(f"PRAGMA journal_mode={journal_mode(path)}")
            private_files(path)
            db.execute("PRAGMA busy_timeout=5000")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RuntimeError(f"{path} was written by a newer jupyter-spackcache")
            for statement in _SCHEMA:
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._db = db
            self._interrupt_leftovers()
        except BaseException:
            db.close()
            raise
        return db

    def _interrupt_leftovers(self) -> None:
        marks = ",".join("?" * len(_UNFINISHED))
        rows = self._db.execute(
            f"SELECT doc FROM tasks WHERE state IN ({marks})", _UNFINISHED
        ).fetchall()
        now = time.time()
        for task in _decoded(rows):
            self.save(with_state(task, TaskState.INTERRUPTED, now))

    def save(self, task: Task) -> None:
        doc = json.dumps(task.to_json(), separators=(",", ":"))
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO tasks (id, created, state, doc) VALUES (?, ?, ?, ?)",
                (task.id, task.created, task.state.value, doc),
            )

    def get(self, task_id: str) -> Task | None:
        with self._lock:
            row = self._db.execute("SELECT doc FROM tasks WHERE id = ?", (task_id,)).fetchone()
        found = _decoded([row]) if row else []
        return found[0] if found else None

    def recent(self, limit: int = 50) -> list[Task]:
        """The newest ``limit`` tasks, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT doc FROM tasks ORDER BY created DESC LIMIT ?", (limit,)
            ).fetchall()
        return _decoded(rows)

    def close(self) -> None:
        with self._lock:
            self._db.close()


#: what opening or reading a damaged task database raises
_DAMAGE = (sqlite3.DatabaseError, ValueError, KeyError, TypeError)
_log = logging.getLogger(__name__)


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:120]


def _decoded(rows: list[tuple[str]]) -> list[Task]:
    """Tasks from their JSON documents; one that cannot be read is logged and skipped."""
    out = []
    for (doc,) in rows:
        try:
            out.append(Task.from_json(json.loads(doc)))
        except (ValueError, KeyError, TypeError) as exc:
            _log.warning("skipping an unreadable task record (%s)", _reason(exc))
    return out
