"""What is installed: ``GET /installed``, ``DELETE /installed/{hash}``, ``POST /gc``.

Removal follows the CLI's rules exactly (:mod:`jupyter_spackcache.ops.removal`): a node that
installed packages still need is refused unless ``dependents=true`` removes them too.
"""

from __future__ import annotations

from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized

from ...ops.modules import module_names
from ...ops.removal import gc_order, remove, uninstall_order
from ...present import installed_json, removal_json
from ...session import Session
from ...store.recipes import record_description
from .base import ApiError, SpackCacheHandler


def installed_payload(session: Session) -> list[dict[str, Any]]:
    records = session.store.installed()
    modules = module_names(records, config=session.config)
    return [installed_json(r, modules.get(r.hash), record_description(r)) for r in records]


def uninstall_hash(
    session: Session, dag_hash: str, *, dependents: bool, dry_run: bool = False
) -> dict[str, Any]:
    """Remove the package (``dry_run``: only say what would go, so a dialog can name it)."""
    store = session.store
    record = store.get(dag_hash)
    if record is None:
        raise ApiError(404, "not-found", f"no installed package with hash '{dag_hash}'")
    removal = uninstall_order([record], store=store, config=session.config, dependents=dependents)
    if dry_run:
        return removal_json(removal)
    return removal_json(remove(removal, store=store, config=session.config))


def collect_garbage(session: Session, *, dry_run: bool = False) -> dict[str, Any]:
    removal = gc_order(store=session.store, config=session.config)
    if dry_run:
        return removal_json(removal)
    return removal_json(remove(removal, store=session.store, config=session.config))


def flag(handler: SpackCacheHandler, name: str) -> bool:
    return handler.get_query_argument(name, "false").lower() in {"1", "true"}


class InstalledHandler(SpackCacheHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json(await self.state.core.run(installed_payload))


class InstalledNodeHandler(SpackCacheHandler):
    """``DELETE /installed/{hash}[?dependents=true][&dry_run=true]``."""

    @tornado.web.authenticated
    @authorized
    async def delete(self, dag_hash: str) -> None:
        dependents, dry_run = flag(self, "dependents"), flag(self, "dry_run")
        self.write_json(
            await self.state.core.run(
                lambda s: uninstall_hash(s, dag_hash, dependents=dependents, dry_run=dry_run)
            )
        )


class GcHandler(SpackCacheHandler):
    """``POST /gc[?dry_run=true]``: remove implicit packages that no explicit one needs."""

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        dry_run = flag(self, "dry_run")
        self.write_json(await self.state.core.run(lambda s: collect_garbage(s, dry_run=dry_run)))
