"""Install, once for every front door: resolve → plan (with its prechecks) → install.

``spackcache install``, the server's install tasks and ``%spack install`` differ only in how
they ask (shell words, a JSON list, a magic line), how they show progress and where the work
runs; what gets resolved, planned and installed is decided here. A request holds spec texts:
each text may name several specs (the CLI's words ``zlib @1.3 cmake`` joined are two specs), and
every spec is resolved on its own, so the server's list ``["zlib@1.3", "cmake"]`` and those CLI
words install the same thing.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..install.pipeline import InstallResult, install
from ..install.plan import Plan, make_plan
from ..install.progress import ProgressCallback, ignore_progress
from ..modules import sync_after_change
from ..resolve import Resolution, resolve
from ..spec.abstract import AbstractSpec
from ..spec.parser import parse_specs

if TYPE_CHECKING:
    from ..config import Config
    from ..host import Host
    from ..install.procpool import UnpackerPool
    from ..mirrors.catalog import Catalog
    from ..store.db import StoreDB
    from ..store.upstream import UpstreamStore


@dataclass(frozen=True, slots=True)
class InstallRequest:
    """What to install and where."""

    #: spec texts as given; each may hold several specs
    specs: tuple[str, ...]
    install_root: Path
    #: ask the mirrors whether their index changed (a plan preview may use the cached ones)
    refresh: bool = True


def requested_specs(texts: Sequence[str]) -> list[AbstractSpec]:
    """Every spec the texts name, in order (a syntax error raises SpecSyntaxError)."""
    return [spec for text in texts for spec in parse_specs(text)]


def resolve_install(
    requests: Sequence[AbstractSpec],
    *,
    catalog: Catalog,
    store: StoreDB,
    host: Host,
    upstreams: Sequence[UpstreamStore] = (),
    refresh: bool = True,
) -> list[Resolution]:
    """One resolution per request: what is installed (here or upstream) is preferred, then
    the build needing the fewest downloads. Misses stay in the result, with their reasons."""
    indices, _problems = catalog.indices(refresh=refresh)
    sources = [store.node_source(), *upstreams, *indices]

    def installed(dag_hash: str) -> bool:
        return store.has(dag_hash) or any(u.has(dag_hash) for u in upstreams)

    return [resolve(r, sources, host, installed=installed) for r in requests]


def plan_resolved(
    resolutions: Sequence[Resolution],
    *,
    catalog: Catalog,
    store: StoreDB,
    install_root: Path,
    upstreams: Sequence[UpstreamStore] = (),
) -> Plan:
    """The plan for chosen builds; the first unresolved request raises its ResolveError."""
    for r in resolutions:
        r.raise_if_unresolved()
    catalog.retrier.begin()  # the operation's network deadline starts with its plan
    return make_plan(
        resolutions,
        store=store,
        reader_for=catalog.reader_named,
        install_root=install_root,
        upstreams=upstreams,
        limits=catalog.config.limits,
    )


def plan_install(
    request: InstallRequest,
    *,
    catalog: Catalog,
    store: StoreDB,
    host: Host,
    upstreams: Sequence[UpstreamStore] = (),
) -> Plan:
    """What installing ``request`` would do, with its prechecks (metadata only, no tarballs)."""
    resolutions = resolve_install(
        requested_specs(request.specs),
        catalog=catalog,
        store=store,
        host=host,
        upstreams=upstreams,
        refresh=request.refresh,
    )
    return plan_resolved(
        resolutions,
        catalog=catalog,
        store=store,
        install_root=request.install_root,
        upstreams=upstreams,
    )


def run_plan(
    plan: Plan,
    *,
    catalog: Catalog,
    store: StoreDB,
    config: Config,
    jobs: int,
    progress: ProgressCallback = ignore_progress,
    cancel: threading.Event | None = None,
    unpackers: UnpackerPool | None = None,
) -> InstallResult:
    """Carry out ``plan`` (its prechecks must pass); raises the first failure, having left
    every unfinished node exactly as before. The modulefiles follow what got installed
    (``config.modules``); failing to write them is one of the result's ``warnings``, never a
    failed install."""
    try:
        result = install(
            plan,
            store=store,
            reader_for=catalog.reader_named,
            jobs=jobs,
            progress=progress,
            cancel=cancel,
            unpackers=unpackers,
            retrier=catalog.retrier,
        )
    except BaseException:
        sync_after_change(config, store)  # what was committed before the failure stays
        raise
    from ..store.spackdb import refresh_spack_db

    warnings = [sync_after_change(config, store), refresh_spack_db(plan.install_root, store)]
    found = tuple(w for w in warnings if w is not None)
    return replace(result, warnings=(*result.warnings, *found)) if found else result
