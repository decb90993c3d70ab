"""Everything the handlers share, built once per server at extension load."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..config import Config, config_stamp, spackcache_home
from .events import EventHub
from .querythread import QueryThread
from .site_policy import SiteSettings, effective_config
from .tasks.child import child_runner
from .tasks.db import TaskDB, default_tasks_path
from .tasks.manager import TaskManager


@dataclass(frozen=True, slots=True)
class ServerState:
    site: SiteSettings
    core: QueryThread
    events: EventHub
    tasks: TaskManager
    #: the periodic look for changes made elsewhere (:mod:`.watch`), once started
    watcher: list[Any] = field(default_factory=list)

    def stop_watching(self) -> None:
        """Stop the change watch (on the event loop, where it runs)."""
        while self.watcher:
            self.watcher.pop().stop()

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
    core = QueryThread(config, stamp=lambda: config_stamp(env))
    return ServerState(site=site, core=core, events=hub, tasks=tasks)
