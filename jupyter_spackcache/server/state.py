"""Everything the handlers share, built once per server at extension load."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from ..config import Config, config_stamp, spackcache_home
from .app import SiteSettings, effective_config
from .childproc import child_runner
from .core import CoreRunner
from .events import EventHub
from .taskdb import TaskDB, default_tasks_path
from .tasks import TaskManager


@dataclass(frozen=True, slots=True)
class ServerState:
    site: SiteSettings
    core: CoreRunner
    events: EventHub
    tasks: TaskManager

    def shutdown(self) -> None:
        self.tasks.shutdown()
        self.core.shutdown()


def create_state(
    site: SiteSettings,
    loop: asyncio.AbstractEventLoop,
    env: Mapping[str, str] | None = None,
) -> ServerState:
    def config() -> Config:
        return effective_config(site, env)

    home = spackcache_home(env)  # not config(): a broken YAML must not stop the extension
    hub = EventHub(loop)
    tasks = TaskManager(TaskDB(default_tasks_path(home)), hub, child_runner(config))
    core = CoreRunner(config, stamp=lambda: config_stamp(env))
    return ServerState(site=site, core=core, events=hub, tasks=tasks)
