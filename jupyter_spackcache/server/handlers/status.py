"""``GET /status`` (is the server half there, which version) and ``GET /host``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized

from ... import __version__
from ...install.plan import existing_ancestor
from ...present import host_json, policy_json
from ...session import Session
from .base import SpackCacheHandler
from .firstrun import first_run_payload


def status_payload() -> dict[str, object]:
    """The body of ``GET /spackcache/api/status``."""
    return {"version": __version__, "ok": True}


def free_space(root: Path) -> dict[str, int]:
    """Free bytes and inodes of the filesystem that holds (or will hold) ``root``."""
    where = existing_ancestor(root)
    usage = shutil.disk_usage(where)
    inodes = os.statvfs(where).f_favail
    return {"free_bytes": usage.free, "total_bytes": usage.total, "free_inodes": inodes}


def host_payload(session: Session) -> dict[str, Any]:
    root = session.config.store_root
    return {
        **host_json(session.host),
        "install_root": {"path": str(root), **free_space(root)},
        "policy": policy_json(session.config.policy),
        "first_run": first_run_payload(session.config),
    }


class StatusHandler(SpackCacheHandler):
    """``GET /spackcache/api/status``: the extension's version and health."""

    @tornado.web.authenticated
    @authorized
    def get(self) -> None:
        self.write_json(status_payload())


class HostHandler(SpackCacheHandler):
    """``GET /host``: the detected host (target and ancestry, OS, libc) and the install root."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json(await self.state.core.run(host_payload))
