"""Install tasks as values: what ``GET /tasks/{id}`` shows and what survives a server restart.

Pure data and pure transitions only; the manager (``manager.py``) owns the threads and the
database (``db.py``) owns the persistence.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from ...errors import SpackCacheError
from ...install.progress import ProgressEvent, Stage

#: at most this many log lines are kept per task (the newest ones)
LOG_LIMIT = 500


#: name of the whole-install event whose ``done`` is the count of retried requests
NETWORK_EVENT = "network"


#: what a task does: install packages (``POST /installs``) or set up the demo mirror
TASK_KINDS = ("install", "demo-mirror")


class TaskState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    #: the server stopped while the task was queued or running; the installer rolled back
    INTERRUPTED = "interrupted"

    @property
    def finished(self) -> bool:
        return self not in {TaskState.QUEUED, TaskState.RUNNING}


@dataclass(frozen=True, slots=True)
class TaskError:
    """Why a task failed: the core's one-line message, its stable code and its hint."""

    code: str
    message: str
    hint: str | None = None

    @classmethod
    def from_exception(cls, exc: SpackCacheError) -> TaskError:
        """As the REST API shows it (hints quote no CLI command)."""
        from ...present import rest_hint

        return cls(exc.code, exc.message, rest_hint(exc))

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "hint": self.hint}


@dataclass(frozen=True, slots=True)
class NodeProgress:
    """Where one node of a task is, and how many bytes of its current stage are done."""

    hash: str
    name: str
    version: str
    stage: Stage
    done: int = 0
    total: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "hash": self.hash,
            "name": self.name,
            "version": self.version,
            "stage": self.stage.value,
            "bytes_done": self.done,
            "bytes_total": self.total,
        }


@dataclass(frozen=True, slots=True)
class Task:
    """One ``POST /installs`` (or ``POST /demo-mirror``) request and all that happened to it."""

    id: str
    specs: tuple[str, ...]
    kernel: bool
    root: str
    created: float
    state: TaskState = TaskState.QUEUED
    started: float | None = None
    finished: float | None = None
    nodes: tuple[NodeProgress, ...] = ()
    log: tuple[str, ...] = ()
    error: TaskError | None = None
    #: transient network failures retried on the way
    retries: int = 0
    #: bumped on every change, so the event stream can tell snapshots apart
    revision: int = field(default=0, compare=False)
    #: one of TASK_KINDS; for "demo-mirror", ``root`` is the mirror's directory
    kind: str = "install"

    def to_json(self, *, with_log: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "specs": list(self.specs),
            "kernel": self.kernel,
            "install_root": self.root,
            "state": self.state.value,
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
            "nodes": [n.to_json() for n in self.nodes],
            "bytes_done": sum(n.done for n in self.nodes if n.stage == Stage.DOWNLOAD)
            + sum(n.total or 0 for n in self.nodes if _past_download(n.stage)),
            "error": self.error.to_json() if self.error else None,
            "retries": self.retries,
        }
        if with_log:
            out["log"] = list(self.log)
        return out

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Task:
        error = doc.get("error")
        return cls(
            id=doc["id"],
            kind=str(doc.get("kind", "install")),  # tasks saved before there were kinds
            specs=tuple(doc["specs"]),
            kernel=bool(doc["kernel"]),
            root=doc["install_root"],
            created=doc["created"],
            state=TaskState(doc["state"]),
            started=doc.get("started"),
            finished=doc.get("finished"),
            nodes=tuple(
                NodeProgress(
                    n["hash"],
                    n["name"],
                    n["version"],
                    Stage(n["stage"]),
                    n["bytes_done"],
                    n["bytes_total"],
                )
                for n in doc.get("nodes", ())
            ),
            log=tuple(doc.get("log", ())),
            retries=int(doc.get("retries", 0)),
            error=TaskError(error["code"], error["message"], error.get("hint")) if error else None,
        )


_AFTER_DOWNLOAD = frozenset(
    {Stage.VERIFY, Stage.EXTRACT, Stage.UNPACKED, Stage.RELOCATE, Stage.DONE}
)


def _past_download(stage: Stage) -> bool:
    return stage in _AFTER_DOWNLOAD


def log_line(event: ProgressEvent) -> str | None:
    """The log line for a stage change (byte updates within a stage are not logged)."""
    if not event.hash:  # a whole-install note
        return event.message or f"{event.name} {event.stage.value}"
    who = f"{event.name}@{event.version}/{event.hash[:7]}"
    note = f": {event.message}" if event.message else ""
    return f"{who} {event.stage.value}{note}"


def apply_event(task: Task, event: ProgressEvent) -> tuple[Task, bool]:
    """``task`` with ``event`` folded in, and whether the event changed a stage."""
    if not event.hash:  # whole-install message: log only (and the retry count)
        if event.name == NETWORK_EVENT:
            task = replace(task, retries=event.done)
        return _append_log(task, log_line(event)), True
    nodes = list(task.nodes)
    for i, node in enumerate(nodes):
        if node.hash == event.hash:
            changed = node.stage != event.stage
            total = event.total if event.total is not None else node.total
            nodes[i] = replace(node, stage=event.stage, done=event.done, total=total)
            break
    else:
        changed = True
        nodes.append(
            NodeProgress(
                event.hash, event.name, event.version, event.stage, event.done, event.total
            )
        )
    updated = replace(task, nodes=tuple(nodes), revision=task.revision + 1)
    if changed or event.message:
        updated = _append_log(updated, log_line(event))
    return updated, changed


def _append_log(task: Task, line: str | None) -> Task:
    if line is None:
        return task
    log = (*task.log, line)[-LOG_LIMIT:]
    return replace(task, log=log, revision=task.revision + 1)


def with_state(task: Task, state: TaskState, now: float, *, error: TaskError | None = None) -> Task:
    """``task`` moved to ``state`` (start and finish times, error and log line included)."""
    started = task.started if state != TaskState.RUNNING else now
    finished = now if state.finished else None
    line = f"task {state.value}" + (f": {error.message}" if error else "")
    moved = replace(task, state=state, started=started, finished=finished, error=error)
    return _append_log(moved, line)
