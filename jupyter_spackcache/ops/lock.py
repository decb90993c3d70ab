"""Lock and restore: the exact builds a notebook used, and how to get them back elsewhere.

A lock lists the DAG hashes of the roots and their runtime closure, the mirrors they came
from and the host it was made on. Restoring installs exactly those hashes; when this host
cannot run one of them (a different CPU target, or the mirror no longer has it) it picks the
closest compatible build of the same package and version, and reports every node that changed.
Where a notebook keeps its lock (a file beside it, its metadata) is the magics' business
(:mod:`jupyter_spackcache.magics.lockfile`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..env import closure
from ..errors import ConfigError, ResolveError
from ..formats.notebook_lock import LockedNode, NotebookLock, lock_from_json, lock_to_json
from ..install.plan import Plan
from ..netconfig import redact_url
from ..resolve import Resolution
from ..spec.parser import parse_spec
from ..store.db import InstalledRecord
from .install import plan_resolved, resolve_install

if TYPE_CHECKING:
    from ..config import MirrorConfig
    from ..host import Host
    from ..mirrors.catalog import Catalog
    from ..store.db import StoreDB
    from ..store.upstream import UpstreamStore


@dataclass(frozen=True, slots=True)
class Substitution:
    """A locked node replaced by another build on this host, and why."""

    name: str
    version: str
    locked_hash: str
    locked_target: str
    new_hash: str
    new_target: str
    reason: str

    def text(self) -> str:
        return (
            f"{self.name}@{self.version}: locked /{self.locked_hash[:7]} "
            f"({self.locked_target}) -> /{self.new_hash[:7]} ({self.new_target}): "
            f"{self.reason}"
        )


# ---- pure: documents ----------------------------------------------------------------------------


def make_lock(
    roots: Sequence[InstalledRecord],
    records: Sequence[InstalledRecord],
    *,
    mirrors: Sequence[MirrorConfig],
    host: Host,
    now: float | None = None,
) -> NotebookLock:
    """The lock for ``roots``; ``records`` is their runtime closure (roots included)."""
    root_hashes = {r.hash for r in roots}
    nodes = tuple(
        LockedNode(r.name, r.version, r.hash, r.node.target, r.mirror, r.hash in root_hashes)
        for r in sorted(records, key=lambda r: (r.hash not in root_hashes, r.name, r.hash))
    )
    used = {n.mirror for n in nodes if n.mirror}
    urls = tuple((m.name, redact_url(m.url)) for m in mirrors if m.name in used)  # no secrets
    where = f"{host.platform}-{host.os}-{host.target}"
    return NotebookLock(nodes, urls, where, time.time() if now is None else now)


def write_lock(path: Path, lock: NotebookLock) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(lock_to_json(lock), indent=1) + "\n")
    tmp.replace(path)


def read_lock(path: Path) -> NotebookLock:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(
            f"no lock file at {path}",
            hint="run `%spack lock` in the notebook first, or pass --file",
        ) from None
    try:
        doc = json.loads(text)
    except ValueError:
        raise ConfigError(f"{path} is not valid JSON") from None
    return lock_from_json(doc, str(path))


# ---- restore: exact builds, or the closest ones this host can run -------------------------------


def missing_mirrors(lock: NotebookLock, configured: Sequence[MirrorConfig]) -> list[str]:
    """Notes for locked mirrors not configured here (matched by URL)."""
    urls = {redact_url(m.url).rstrip("/") for m in configured}
    return [
        f"mirror '{n}' ({u}) of the lock is not configured here; "
        f"add it with `%spack mirror add {n} {u}` if builds are missing"
        for n, u in lock.mirrors
        if u.rstrip("/") not in urls
    ]


@dataclass(frozen=True, slots=True)
class Restore:
    """How a lock comes back here: the install plan and every locked node that changed."""

    plan: Plan
    substitutions: tuple[Substitution, ...]


def lock_roots(
    roots: Sequence[InstalledRecord],
    *,
    store: StoreDB,
    mirrors: Sequence[MirrorConfig],
    host: Host,
) -> NotebookLock:
    """The lock of installed ``roots`` and their runtime closure."""
    return make_lock(roots, closure(roots, store=store), mirrors=mirrors, host=host)


def plan_restore(
    lock: NotebookLock,
    *,
    catalog: Catalog,
    store: StoreDB,
    host: Host,
    install_root: Path,
    upstreams: Sequence[UpstreamStore] = (),
) -> Restore:
    """The plan installing the locked roots (exact builds, else the closest that run here)."""
    resolutions, substitutions = restore_resolutions(
        lock, catalog=catalog, store=store, host=host, upstreams=upstreams
    )
    plan = plan_resolved(
        resolutions, catalog=catalog, store=store, install_root=install_root, upstreams=upstreams
    )
    return Restore(plan, tuple(substitutions))


def restore_resolutions(
    lock: NotebookLock,
    *,
    catalog: Catalog,
    store: StoreDB,
    host: Host,
    upstreams: Sequence[UpstreamStore] = (),
) -> tuple[list[Resolution], list[Substitution]]:
    """Resolutions installing the locked roots, and every node that had to change."""
    if not lock.roots:
        raise ConfigError("the lock lists no packages")

    def resolve_one(text: str) -> Resolution:
        return resolve_install(
            [parse_spec(text)], catalog=catalog, store=store, host=host, upstreams=upstreams
        )[0]

    resolutions: list[Resolution] = []
    substitutions: list[Substitution] = []
    for root in lock.roots:
        exact = resolve_one(f"/{root.hash}")
        if exact.chosen is not None and exact.chosen.root.hash == root.hash:
            resolutions.append(exact)
            continue
        closest = resolve_one(f"{root.name}@={root.version}")
        if closest.chosen is None:
            raise ResolveError(
                f"cannot restore {root.name}@{root.version}/{root.hash[:7]}: {exact.explain()}; "
                f"and no other build of it runs here: {closest.explain()}",
                hint="add a mirror that has a build for this host (see the lock's mirrors)",
            )
        reason = exact.explain() if exact.considered else "not in any configured mirror"
        resolutions.append(closest)
        substitutions.extend(
            s
            for s in _changes(lock, closest, reason)
            if s.locked_hash not in {t.locked_hash for t in substitutions}
        )
    return resolutions, substitutions


def _changes(lock: NotebookLock, resolution: Resolution, reason: str) -> list[Substitution]:
    """Every locked node of the same name that the chosen DAG replaces."""
    chosen = resolution.raise_if_unresolved()
    by_name = {n.name: n for n in chosen.runtime}
    out: list[Substitution] = []
    for locked in lock.nodes:
        new = by_name.get(locked.name)
        if new is None or new.hash == locked.hash:
            continue
        why = reason if locked.name == chosen.root.name else f"dependency of {chosen.root.name}"
        out.append(
            Substitution(
                locked.name, locked.version, locked.hash, locked.target, new.hash, new.target, why
            )
        )
    return out
