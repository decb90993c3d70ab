"""The work of a "demo-mirror" task, done in the child process (``worker.py``).

It goes through :mod:`jupyter_spackcache.ops.demo`, so the panel's "Add the demo mirror" leaves
exactly what ``spackcache demo`` does; each step becomes a line of the task's log.
"""

from __future__ import annotations

import threading

from ...config import Config
from ...install.progress import ProgressCallback, ProgressEvent, Stage
from ...ops.demo import DemoRequest, setup_demo_mirror
from ...session import Session

#: the name on the demo task's log events (whole-task notes: no node hash)
DEMO_EVENT = "demo"


def run_demo(config: Config, *, progress: ProgressCallback, cancel: threading.Event) -> None:
    def say(message: str) -> None:
        progress(ProgressEvent("", DEMO_EVENT, "", Stage.DONE, message=message))

    with Session(config) as session:
        setup_demo_mirror(
            DemoRequest(), config=session.config, keyring=session.keyring, say=say, cancel=cancel
        )
