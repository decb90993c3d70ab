"""REST handlers. Every verb method carries ``@tornado.web.authenticated``.

The only handler so far is ``status``, which lets the panel (and users) check that the server
half is installed and which version it is; the install/task handlers come later.
"""

from __future__ import annotations

import json

import tornado.web
from jupyter_server.base.handlers import APIHandler

from .. import __version__


def status_payload() -> dict[str, object]:
    """The body of ``GET /spackcache/api/status``."""
    return {"version": __version__, "ok": True}


class StatusHandler(APIHandler):
    """``GET /spackcache/api/status``: the extension's version and health."""

    @tornado.web.authenticated
    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(status_payload()))
