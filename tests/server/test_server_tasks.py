"""Task model, task history, the task manager's queue and the event hub, without a server.

The manager runs real threads with a controllable runner: the install pipeline itself is
exercised by test_server_api.py; here the point is queueing, cancelling and persistence.
"""

from __future__ import annotations

import asyncio
import getpass
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from jupyter_spackcache.errors import InstallCancelled, ResolveError
from jupyter_spackcache.install.progress import ProgressCallback, ProgressEvent, Stage
from jupyter_spackcache.server.events import EventHub, StreamEvent, replay
from jupyter_spackcache.server.tasks.db import TaskDB
from jupyter_spackcache.server.tasks.manager import TaskManager
from jupyter_spackcache.server.tasks.model import (
    LOG_LIMIT,
    Task,
    TaskError,
    TaskState,
    apply_event,
    with_state,
)


def event(
    stage: Stage,
    done: int = 0,
    total: int | None = None,
    name: str = "zlib",
) -> ProgressEvent:
    return ProgressEvent(f"{name}hash", name, "1.3", stage, done, total)


def new_task(task_id: str = "t1", created: float = 1.0) -> Task:
    return Task(task_id, ("zlib",), False, "/opt", created)


# ------------------------------------------------------------------ pure model


def test_events_fold_into_nodes_and_log_only_stage_changes() -> None:
    task = new_task()
    task, changed = apply_event(task, event(Stage.DOWNLOAD, 0, 100))
    assert changed
    task, changed = apply_event(task, event(Stage.DOWNLOAD, 60, 100))
    assert not changed
    assert [(n.stage, n.done, n.total) for n in task.nodes] == [(Stage.DOWNLOAD, 60, 100)]
    task, _ = apply_event(task, event(Stage.EXTRACT))
    assert task.log == ("zlib@1.3/zlibhas download", "zlib@1.3/zlibhas extract")
    doc = task.to_json()
    assert doc["nodes"][0]["stage"] == "extract" and doc["bytes_done"] == 100


def test_state_changes_record_times_error_and_log() -> None:
    running = with_state(new_task(), TaskState.RUNNING, 5.0)
    assert (running.started, running.finished) == (5.0, None)
    reason = TaskError.from_exception(ResolveError("nothing installable matches 'x'"))
    failed = with_state(running, TaskState.FAILED, 9.0, error=reason)
    assert failed.finished == 9.0 and failed.state.finished
    assert failed.log[-1] == "task failed: nothing installable matches 'x'"
    assert Task.from_json(failed.to_json()) == failed


def test_log_keeps_only_the_newest_lines() -> None:
    task = new_task()
    for i in range(LOG_LIMIT + 10):
        task, _ = apply_event(task, event(Stage.DOWNLOAD if i % 2 else Stage.VERIFY))
    assert len(task.log) == LOG_LIMIT


# ------------------------------------------------------------------ persistence


def test_history_survives_and_unfinished_tasks_become_interrupted(tmp_path: Path) -> None:
    db = TaskDB(tmp_path / "tasks.sqlite")
    done = with_state(new_task("a", 1.0), TaskState.DONE, 2.0)
    running = with_state(new_task("b", 3.0), TaskState.RUNNING, 3.5)
    queued = new_task("c", 4.0)
    for task in (done, running, queued):
        db.save(task)
    db.close()  # the server died here (kill -9 would leave the same rows)

    reopened = TaskDB(tmp_path / "tasks.sqlite")
    tasks = {t.id: t for t in reopened.recent()}
    assert [t.id for t in reopened.recent()] == ["c", "b", "a"]
    assert tasks["a"] == done
    assert tasks["b"].state == tasks["c"].state == TaskState.INTERRUPTED
    assert tasks["b"].log[-1] == "task interrupted" and tasks["b"].finished is not None
    assert reopened.get("zzz") is None


def test_a_task_keeps_its_kind_and_older_records_are_installs(tmp_path: Path) -> None:
    db = TaskDB(tmp_path / "tasks.sqlite")
    demo = Task("d", (), False, "/home/u/.spackcache/demo-mirror", 1.0, kind="demo-mirror")
    db.save(demo)
    assert db.get("d") == demo and demo.to_json()["kind"] == "demo-mirror"
    db.close()
    older = new_task("a", 1.0).to_json()
    del older["kind"]  # saved before tasks had kinds
    assert Task.from_json(older).kind == "install"


# ------------------------------------------------------------------ the manager


class Gate:
    """A runner that reports progress, then waits until released or cancelled."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.release = threading.Event()
        self.running = threading.Event()

    def __call__(self, task: Task, progress: ProgressCallback, cancel: threading.Event) -> None:
        self.started.append(task.id)
        self.running.set()
        progress(event(Stage.DOWNLOAD, 0, 10))
        while not self.release.wait(0.01):
            if cancel.is_set():
                raise InstallCancelled("install cancelled; nothing was changed")
        if task.specs == ("bad",):
            raise ResolveError("nothing installable matches 'bad'")
        progress(event(Stage.DONE, 10, 10))


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    new = asyncio.new_event_loop()
    yield new
    new.close()


def got(manager: TaskManager, task_id: str) -> Task:
    task = manager.get(task_id)
    assert task is not None
    return task


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_one_install_per_root_at_a_time_and_cancel_of_queued_and_running(
    tmp_path: Path, loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    gate = Gate()
    manager = TaskManager(TaskDB(tmp_path / "t.sqlite"), EventHub(loop), gate)
    first = manager.submit(["zlib"], kernel=False, root="/opt/a")
    second = manager.submit(["bad"], kernel=True, root="/opt/a")
    third = manager.submit(["zlib"], kernel=False, root="/opt/a")
    gate.running.wait(5)
    time.sleep(0.05)
    assert gate.started == [first.id]  # the others queue behind it
    assert got(manager, second.id).state == TaskState.QUEUED

    cancelled = manager.cancel(third.id)
    assert cancelled is not None and cancelled.state == TaskState.CANCELLED
    gate.release.set()
    wait_for(lambda: got(manager, second.id).state.finished)
    assert got(manager, first.id).state == TaskState.DONE
    failed = got(manager, second.id)
    assert failed.state == TaskState.FAILED and failed.error is not None
    assert failed.error.code == "resolve"
    assert gate.started == [first.id, second.id]  # the cancelled one never ran
    # the admin sees the failure in the server log, in one line; cancellations are not failures
    (line,) = [r.getMessage() for r in caplog.records if "task failed" in r.getMessage()]
    assert line == (
        f"spackcache task failed: user={getpass.getuser()} route=POST /installs "
        f"task={second.id} specs=bad code=resolve message=nothing installable matches 'bad'"
    )

    gate.release.clear()
    fourth = manager.submit(["zlib"], kernel=False, root="/opt/a")
    wait_for(lambda: got(manager, fourth.id).state == TaskState.RUNNING)
    manager.cancel(fourth.id)
    wait_for(lambda: got(manager, fourth.id).state.finished)
    stopped = got(manager, fourth.id)
    assert stopped.state == TaskState.CANCELLED and stopped.error is not None
    assert stopped.error.message == "install cancelled; nothing was changed"
    assert [t.id for t in manager.recent()] == [fourth.id, third.id, second.id, first.id]
    manager.shutdown()


def test_shutdown_interrupts_the_running_task(
    tmp_path: Path, loop: asyncio.AbstractEventLoop
) -> None:
    gate = Gate()
    manager = TaskManager(TaskDB(tmp_path / "t.sqlite"), EventHub(loop), gate)
    task = manager.submit(["zlib"], kernel=False, root="/opt")
    gate.running.wait(5)
    manager.shutdown()
    stored = TaskDB(tmp_path / "t.sqlite").get(task.id)
    assert stored is not None and stored.state == TaskState.INTERRUPTED


# ------------------------------------------------------------------ the event hub


def test_hub_keeps_order_across_threads_and_replays_per_task() -> None:
    async def scenario() -> tuple[list[StreamEvent], list[StreamEvent]]:
        hub = EventHub(asyncio.get_running_loop(), backlog=100)
        hub.publish("task", "a", {"state": "queued"})
        await asyncio.sleep(0)
        backlog, queue = hub.subscribe()
        workers = [
            threading.Thread(target=hub.publish, args=("progress", "b", {"n": i}))
            for i in range(20)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        hub.publish("task", "a", {"state": "done"})
        live = [await asyncio.wait_for(queue.get(), 2) for _ in range(21)]
        return backlog, live

    backlog, live = asyncio.run(scenario())
    assert [e.id for e in live] == sorted(e.id for e in live)  # publish order is kept
    assert live[-1].ends_task and not backlog[0].ends_task
    assert replay([*backlog, *live], task="a", after=None) == [backlog[0], live[-1]]
    assert replay([*backlog, *live], task=None, after=live[-2].id) == [live[-1]]
    assert live[-1].encode().startswith(f"id: {live[-1].id}\nevent: task\ndata: ".encode())


def test_task_hints_quote_no_cli_command() -> None:
    """A panel user has no terminal: a hint naming a CLI command points to the guide instead."""
    from jupyter_spackcache.errors import SignatureError

    quoting = SignatureError("not trusted", hint="run `spackcache keys trust --mirror m`")
    assert TaskError.from_exception(quoting).hint == (
        "see the troubleshooting guide, section 'signature'"
    )
    plain = ResolveError("no zlib", hint="available versions: 1.3")
    assert TaskError.from_exception(plain).hint == "available versions: 1.3"
