"""Install tasks in a child process: the protocol, failures reported across it, cancel and kill.

The full install through the child (events, cancel with rollback, restart) is exercised by
test_server_api.py; here are the edges that a working install never reaches.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from jupyter_spackcache.config import Config
from jupyter_spackcache.errors import InstallCancelled, InstallError, SpackCacheError
from jupyter_spackcache.install.progress import ProgressEvent, Stage
from jupyter_spackcache.server.tasks.child import describe_exit, raise_for_end, run_child
from jupyter_spackcache.server.tasks.protocol import (
    Throttle,
    WorkerRequest,
    error_message,
    event_from_message,
    event_message,
)


def request(tmp_path: Path, *specs: str) -> WorkerRequest:
    config = Config(home=tmp_path / "home", install_root=tmp_path / "opt")
    return WorkerRequest(config, specs, False, str(tmp_path / "opt"))


def python(code: str) -> tuple[str, ...]:
    return (sys.executable, "-c", code)


# ------------------------------------------------------------------ messages (pure)


def test_events_survive_the_round_trip_and_errors_keep_code_message_hint() -> None:
    event = ProgressEvent("abc", "zlib", "1.3", Stage.DOWNLOAD, 5, 10, "note", 12.5)
    assert event_from_message(event_message(event)["event"]) == event
    reported = error_message(InstallCancelled("stopped  here", hint="try again"))
    assert reported == {
        "end": "error",
        "code": "cancelled",
        "message": "stopped here",
        "hint": "try again",
    }
    assert error_message(KeyError("x\ny"))["message"] == "internal error: KeyError: 'x\\ny'"


def test_throttle_drops_only_close_byte_updates_of_the_same_stage() -> None:
    throttle = Throttle(0.05)
    start = ProgressEvent("a", "zlib", "1", Stage.DOWNLOAD, 0, 10)
    assert throttle.passes(start, 1.0)
    assert not throttle.passes(ProgressEvent("a", "zlib", "1", Stage.DOWNLOAD, 3, 10), 1.01)
    assert throttle.passes(ProgressEvent("b", "xz", "1", Stage.DOWNLOAD, 3, 10), 1.01)
    assert throttle.passes(ProgressEvent("a", "zlib", "1", Stage.DOWNLOAD, 10, 10), 1.02)
    assert throttle.passes(ProgressEvent("a", "zlib", "1", Stage.VERIFY), 1.03)
    assert throttle.passes(ProgressEvent("a", "zlib", "1", Stage.VERIFY, 1), 1.09)
    # whole-task notes are log lines: two in a row both pass
    assert throttle.passes(ProgressEvent("", "demo", "", Stage.DONE, message="built"), 1.1)
    assert throttle.passes(ProgressEvent("", "demo", "", Stage.DONE, message="added"), 1.1)


def test_the_end_line_decides_the_outcome() -> None:
    raise_for_end({"end": "done"}, 0, cancelled=False)
    with pytest.raises(SpackCacheError) as failed:
        raise_for_end(
            {"end": "error", "code": "resolve", "message": "no zlib", "hint": "h"},
            1,
            cancelled=False,
        )
    assert (failed.value.code, failed.value.message, failed.value.hint) == (
        "resolve",
        "no zlib",
        "h",
    )
    with pytest.raises(InstallCancelled):
        raise_for_end({"end": "error", "code": "cancelled", "message": "m"}, 1, cancelled=True)
    assert describe_exit(-9) == "killed by SIGKILL" and describe_exit(2) == "exit code 2"


# ------------------------------------------------------------------ real child processes


def test_the_real_worker_reports_a_core_error_with_its_code(tmp_path: Path) -> None:
    events: list[ProgressEvent] = []
    with pytest.raises(SpackCacheError) as failed:
        run_child(request(tmp_path, "zlib@1.3"), events.append, threading.Event())
    assert failed.value.code == "resolve"  # the core's own error, not a crash
    assert failed.value.message.startswith("nothing installable matches 'zlib@1.3'")
    assert failed.value.hint and events == []
    assert not (tmp_path / "opt").exists() or not any((tmp_path / "opt").iterdir())


def test_a_child_that_dies_fails_the_task_with_a_one_line_reason(tmp_path: Path) -> None:
    die = python(
        "import os, signal, sys; sys.stdin.buffer.read(1); os.kill(os.getpid(), signal.SIGKILL)"
    )
    with pytest.raises(InstallError) as failed:
        run_child(request(tmp_path, "zlib"), lambda e: None, threading.Event(), command=die)
    assert str(failed.value) == "the install process ended unexpectedly (killed by SIGKILL)"


def test_cancel_kills_a_child_that_does_not_roll_back_in_time(tmp_path: Path) -> None:
    stubborn = python(
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    )
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(InstallCancelled) as stopped:
        run_child(request(tmp_path, "zlib"), lambda e: None, cancel, grace=0.5, command=stubborn)
    assert time.monotonic() - started < 5
    assert "killed by SIGKILL" in str(stopped.value)


def test_the_install_child_starts_without_jupyter_server() -> None:
    """Every install the panel runs starts ``python -m jupyter_spackcache.server.tasks.worker``;
    importing jupyter_server and tornado's handlers there cost ~0.16 s per install."""
    import subprocess

    code = (
        "import sys, jupyter_spackcache.server.tasks.worker\n"
        "heavy = sorted(m for m in ('jupyter_server', 'tornado.web', 'jupyter_spackcache.server"
        ".routes') if m in sys.modules)\n"
        "print(heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout
