"""Jupyter server front door: REST routes under ``<base_url>/spackcache/api/``.

Only translation between HTTP and the core lives here; the work itself is done by the core
library, so the server, the CLI and the magics behave the same.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.utils import url_path_join
from tornado.web import Application

from .handlers import StatusHandler

#: URL namespace of every route this extension registers, below the server's base_url.
API_PREFIX = ("spackcache", "api")

#: (path below API_PREFIX, handler) for every route; new handlers are added here.
ROUTES: tuple[tuple[str, type[Any]], ...] = (("status", StatusHandler),)


def route_table(base_url: str) -> list[tuple[str, type[Any]]]:
    """The tornado URL specs for ``base_url``: a pure function, so tests can check it."""
    return [(url_path_join(base_url, *API_PREFIX, path), handler) for path, handler in ROUTES]


def setup_handlers(web_app: Application) -> None:
    """Attach the routes to the running server's tornado application."""
    web_app.add_handlers(".*$", route_table(web_app.settings["base_url"]))
