"""The REST routes under ``<base_url>/spackcache/api/`` and the extension's start-up (``load``).

Only translation between HTTP and the core lives in the handlers; the work itself is done by
the core library, so the server, the CLI and the magics behave the same. See
``docs/openapi.yaml``.
"""

from __future__ import annotations

import logging
import os
from functools import partial
from typing import Any

from jupyter_server.utils import url_path_join
from tornado.web import Application

from ..config import Config
from ..errors import SpackCacheError
from .handlers.docs import TroubleshootingHandler
from .handlers.envfiles import InstallFromFileHandler
from .handlers.events import EventsHandler
from .handlers.firstrun import DemoMirrorHandler
from .handlers.installed import GcHandler, InstalledHandler, InstalledNodeHandler
from .handlers.mirrors import KeyHandler, KeysHandler, MirrorHandler, MirrorsHandler, TrustHandler
from .handlers.specs import PlanHandler, SpecHandler, SpecsHandler
from .handlers.status import HostHandler, StatusHandler
from .handlers.tasks import InstallsHandler, TaskHandler, TasksHandler
from .site_policy import SpackCache, export_settings, user_config_mirrors
from .state import ServerState, create_state
from .watch import INTERVAL, StateWatch, watched_paths

#: URL namespace of every route this extension registers, below the server's base_url.
API_PREFIX = ("spackcache", "api")

_NAME = r"([A-Za-z0-9][A-Za-z0-9_.-]{0,63})"
_HASH = r"([a-z0-9]{1,32})"

#: (path below API_PREFIX, handler) for every route.
ROUTES: tuple[tuple[str, type[Any]], ...] = (
    ("status", StatusHandler),
    ("host", HostHandler),
    ("mirrors", MirrorsHandler),
    (f"mirrors/{_NAME}", MirrorHandler),
    ("keys", KeysHandler),
    ("keys/trust", TrustHandler),
    ("keys/([0-9A-Fa-f]{1,40})", KeyHandler),
    ("specs", SpecsHandler),
    (f"specs/{_HASH}", SpecHandler),
    ("plan", PlanHandler),
    ("installs", InstallsHandler),
    ("installs/from-file", InstallFromFileHandler),
    ("tasks", TasksHandler),
    ("tasks/([0-9a-f]{1,32})", TaskHandler),
    ("events", EventsHandler),
    ("installed", InstalledHandler),
    (f"installed/{_HASH}", InstalledNodeHandler),
    ("gc", GcHandler),
    ("docs/troubleshooting", TroubleshootingHandler),
    ("demo-mirror", DemoMirrorHandler),
)


def route_table(base_url: str) -> list[tuple[str, type[Any]]]:
    """The tornado URL specs for ``base_url``: a pure function, so tests can check it."""
    return [(url_path_join(base_url, *API_PREFIX, path), handler) for path, handler in ROUTES]


def setup_handlers(web_app: Application, state: ServerState | None = None) -> None:
    """Attach the routes (and the shared state, when given) to the server's application."""
    if state is not None:
        web_app.settings["spackcache"] = state
    web_app.add_handlers(".*$", route_table(web_app.settings["base_url"]))


def load(server_app: Any) -> ServerState:
    """Read ``c.SpackCache``, open the task history, register the routes and kernel dirs."""
    from jupyter_core.paths import ENV_CONFIG_PATH, SYSTEM_CONFIG_PATH

    from ..kernels import add_kernel_dirs

    users = user_config_mirrors(
        server_app.loaded_config_files, [*ENV_CONFIG_PATH, *SYSTEM_CONFIG_PATH]
    )
    # our warnings go to the server log, as jupyter_server routes tornado's loggers
    logging.getLogger("jupyter_spackcache").parent = server_app.log
    settings = SpackCache(parent=server_app).site_settings(users)
    try:
        export_settings(settings, os.environ)
    except SpackCacheError as exc:  # e.g. $WORK unset: every route reports it too
        server_app.log.error("spackcache: %s", exc)
    state = create_state(settings, server_app.io_loop.asyncio_loop)
    setup_handlers(server_app.web_app, state)
    try:
        config = state.core.config()
    except SpackCacheError as exc:  # every route reports it; the extension stays up
        server_app.log.error("spackcache: %s", exc)
    else:
        add_kernel_dirs(server_app.kernel_spec_manager, config)
        _modules_for_jupyter_lmod(server_app, config)
    state.core.warm_up()
    watch_changes(state)
    return state


def watch_changes(state: ServerState) -> None:
    """Publish a "changed" event when the store, mirrors or keys change (CLI, magics, tabs)."""
    from tornado.ioloop import PeriodicCallback

    try:
        config = state.core.config()
    except SpackCacheError:  # every route reports the broken config; nothing to watch yet
        return
    watch = StateWatch(partial(watched_paths, config))

    async def tick() -> None:
        changed = watch.poll()
        if not changed:
            return
        if "mirrors" in changed or "keys" in changed:  # memoised listings and keys are stale
            await state.core.run(lambda s: None, invalidate=True)
        state.events.publish("changed", "", {"what": changed})

    callback = PeriodicCallback(tick, INTERVAL * 1000)
    callback.start()
    state.watcher.append(callback)


def _modules_for_jupyter_lmod(server_app: Any, config: Config) -> None:
    """With jupyter-lmod in this server, its panel lists (and its kernels load) what was
    installed here: the user's module root goes first in the server's ``MODULEPATH``."""
    import os

    from ..ops.modules import expose_to_jupyter_lmod

    try:
        root = expose_to_jupyter_lmod(os.environ, config=config)
    except (OSError, SpackCacheError) as exc:
        server_app.log.warning("spackcache: module root not added to MODULEPATH: %s", exc)
        return
    if root is not None:
        server_app.log.info("spackcache: %s added to MODULEPATH for jupyter-lmod", root)


__all__ = ["API_PREFIX", "ROUTES", "SpackCache", "load", "route_table", "setup_handlers"]
