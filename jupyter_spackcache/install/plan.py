"""Decide what an install will do, and refuse it early, before any tarball is downloaded.

A plan is the union of the runtime closures of the chosen DAGs, dependencies first. Each node
is *reused* (already in the store), *external* (provided by the system, never downloaded) or
*downloaded*; the roots are explicit. The prechecks (free space and inodes, writable install
root, Spack's rule that a new prefix must not be longer than the build prefix it replaces)
only read the head of each tarball, so a doomed install fails in seconds with one line.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..errors import InstallError
from ..limits import DEFAULT_LIMITS, Limits
from ..mirrors.base import MirrorReader, SpecRecord
from ..resolve import Resolution
from ..spec.concrete import ConcreteDAG, ConcreteNode
from ..store.layout import StoreLayout
from .signedcheck import check_signed_node

if TYPE_CHECKING:
    from ..store.db import StoreDB
    from ..store.upstream import UpstreamStore

Action = Literal["reuse", "download", "external"]

#: unpacked size + the tarball itself + a staging copy, relative to the download size
SPACE_FACTOR = 2.5
#: inodes to keep free per downloaded package (files of a typical small package)
INODES_PER_PACKAGE = 200


@dataclass(frozen=True, slots=True)
class PlannedNode:
    """What the install does with one node, and everything the pipeline needs for it."""

    node: ConcreteNode
    action: Action
    #: where it lives (reuse) or will live (download); None for externals
    prefix: Path | None
    #: tarball size when the mirror says
    size: int | None
    mirror: str | None
    explicit: bool
    #: a DAG containing the node and its dependencies (for the prefix map)
    dag: ConcreteDAG
    #: verified spec metadata (download only)
    record: SpecRecord | None = None
    #: the package's prefix on the build machine, read from the tarball head (download only)
    build_prefix: str | None = None
    #: reused from a read-only upstream store (never registered or written here)
    upstream: bool = False

    @property
    def hash(self) -> str:
        return self.node.hash


@dataclass(frozen=True, slots=True)
class Check:
    """One precheck: its outcome and a one-line explanation (plus what to do when it fails)."""

    name: str
    ok: bool
    message: str
    hint: str | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    #: every runtime node of every root, dependencies first
    nodes: tuple[PlannedNode, ...]
    #: hashes of the requested (explicit) roots
    roots: tuple[str, ...]
    install_root: Path
    #: total download size; None when a mirror does not say how big some tarball is
    download_bytes: int | None
    checks: tuple[Check, ...] = ()
    #: bounds on what the downloads may cost (unpacked size)
    limits: Limits = DEFAULT_LIMITS

    @property
    def downloads(self) -> tuple[PlannedNode, ...]:
        return tuple(p for p in self.nodes if p.action == "download")

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def get(self, dag_hash: str) -> PlannedNode | None:
        for p in self.nodes:
            if p.hash == dag_hash:
                return p
        return None


ReaderFor = Callable[[str], MirrorReader]
PeekPrefix = Callable[[MirrorReader, SpecRecord], str | None]
#: metadata fetches in flight while planning (HTTP; their signature checks share gpg runs, and
#: more threads waiting at once make fewer, larger runs)
_FETCHERS = 16


def make_plan(
    resolutions: Sequence[Resolution],
    *,
    store: StoreDB,
    reader_for: ReaderFor,
    install_root: Path,
    upstreams: Sequence[UpstreamStore] = (),
    check: bool = True,
    limits: Limits = DEFAULT_LIMITS,
) -> Plan:
    """Plan installing the chosen candidates: verified metadata only, no tarball downloads."""
    from .fetch import peek_build_prefix

    layout = StoreLayout(Path(install_root))

    def peek(reader: MirrorReader, record: SpecRecord) -> str | None:
        return peek_build_prefix(reader, record.tarball)

    plan = plan_nodes(
        resolutions,
        store=store,
        layout=layout,
        reader_for=reader_for,
        peek=peek if check else None,
        upstreams=upstreams,
    )
    if check:
        plan = with_checks(plan)
    return replace(plan, limits=limits)


def plan_nodes(
    resolutions: Sequence[Resolution],
    *,
    store: StoreDB,
    layout: StoreLayout,
    reader_for: ReaderFor,
    peek: PeekPrefix | None,
    upstreams: Sequence[UpstreamStore] = (),
) -> Plan:
    """The node table: reuse / external / download for the union of the runtime closures."""
    roots: list[str] = []
    for resolution in resolutions:
        roots.append(resolution.raise_if_unresolved().root.hash)
    explicit = set(roots)
    # a dependency cycle would leave the install waiting on itself: refuse it before anything
    # is opened or fetched, over the nodes as the plan will know them (the first DAG naming
    # each: two mirrors may describe one hash with different edges)
    union: dict[str, ConcreteNode] = {}
    for resolution in resolutions:
        for node in resolution.raise_if_unresolved().runtime:
            union.setdefault(node.hash, node)
    for root in dict.fromkeys(roots):
        ConcreteDAG(root, union).post_order()
    planned: dict[str, PlannedNode | None] = {}
    fetches: list[tuple[str, _Fetch]] = []
    for resolution in resolutions:
        chosen = resolution.raise_if_unresolved()
        for node in chosen.runtime:
            if node.hash in planned:
                continue
            sub = ConcreteDAG(node.hash, chosen.dag.nodes)
            is_explicit = node.hash in explicit
            planned[node.hash] = _plan_local(
                node, sub, chosen.source, is_explicit, store=store, upstreams=upstreams
            )
            if planned[node.hash] is None:
                fetch = _Fetch(node, sub, chosen.source, is_explicit, reader_for(chosen.source))
                fetches.append((node.hash, fetch))
    # fetching and verifying the signed metadata is network and gpg bound: overlap it; map()
    # yields in order, so the first failing node (in plan order) is the one reported
    pool = ThreadPoolExecutor(max(1, min(_FETCHERS, len(fetches))))
    try:
        done = pool.map(lambda item: item[1].run(layout, peek), fetches)
        for (dag_hash, _), planned_node in zip(fetches, done, strict=True):
            planned[dag_hash] = planned_node
    finally:  # after a failure or Ctrl-C, the other fetches (maybe retrying) are not awaited
        pool.shutdown(wait=False, cancel_futures=True)
    nodes = tuple(p for p in planned.values() if p is not None)
    sizes = [p.size for p in nodes if p.action == "download"]
    total = None if any(s is None for s in sizes) else sum(s for s in sizes if s is not None)
    return Plan(nodes, tuple(dict.fromkeys(roots)), layout.root, total)


def _plan_local(
    node: ConcreteNode,
    dag: ConcreteDAG,
    source: str,
    explicit: bool,
    *,
    store: StoreDB,
    upstreams: Sequence[UpstreamStore] = (),
) -> PlannedNode | None:
    """The node's plan when no mirror is needed (external, installed), else None."""
    if node.is_external:
        return PlannedNode(node, "external", None, None, None, explicit, dag)
    installed = store.get(node.hash)
    if installed is not None:
        return PlannedNode(
            node, "reuse", Path(installed.prefix), None, installed.mirror, explicit, dag
        )
    for upstream in upstreams:
        where = upstream.prefix(node.hash) if upstream.has(node.hash) else None
        if where is not None:
            return PlannedNode(
                node, "reuse", Path(where), None, upstream.name, explicit, dag, upstream=True
            )
    if source == "installed":  # pragma: no cover - the store and its own view disagree
        raise InstallError(f"{node.short} is listed as installed but has no store record")
    return None


@dataclass(frozen=True, slots=True)
class _Fetch:
    """A node to download: its verified metadata and build prefix are fetched in a thread."""

    node: ConcreteNode
    dag: ConcreteDAG
    source: str
    explicit: bool
    reader: MirrorReader

    def run(self, layout: StoreLayout, peek: PeekPrefix | None) -> PlannedNode:
        record = self.reader.fetch_spec(self.node, self.dag)
        check_signed_node(self.node, record.document)  # the index may not relabel a binary
        build_prefix = peek(self.reader, record) if peek is not None else None
        return PlannedNode(
            self.node,
            "download",
            layout.prefix(self.node),
            record.tarball.size,
            self.source,
            self.explicit,
            self.dag,
            record=record,
            build_prefix=build_prefix,
        )


# ---- prechecks ---------------------------------------------------------------------------------


def with_checks(plan: Plan) -> Plan:
    """The plan with its prechecks filled in (nothing to check when nothing is downloaded)."""
    if not plan.downloads:
        return plan
    checks = (
        check_writable(plan.install_root),
        check_space(plan.install_root, plan.download_bytes, len(plan.downloads)),
        check_prefix_lengths(plan.downloads),
    )
    return replace(plan, checks=checks)


def precheck(plan: Plan) -> None:
    """Raise the first failed precheck as an :class:`InstallError`."""
    for c in plan.checks:
        if not c.ok:
            raise InstallError(c.message, hint=c.hint)


def existing_ancestor(path: Path) -> Path:
    """``path`` or its nearest existing parent: where a not-yet-created root will live."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_writable(root: Path) -> Check:
    where = existing_ancestor(root)
    if where.is_dir() and os.access(where, os.W_OK | os.X_OK):
        return Check("writable", True, f"install root {root} is writable")
    return Check(
        "writable",
        False,
        f"install root {root} is not writable ({where} is read-only to you)",
        hint="choose another install_root in the configuration",
    )


def check_space(root: Path, download_bytes: int | None, packages: int) -> Check:
    """Enough free bytes (an estimate from the download size) and inodes on the install root."""
    st = os.statvfs(existing_ancestor(root))
    free = st.f_bavail * st.f_frsize
    need = int((download_bytes or 0) * SPACE_FACTOR)
    if free < need:
        return Check(
            "space",
            False,
            f"not enough free space on {root}: about {_human(need)} needed, {_human(free)} free",
            hint="free some space (e.g. `spackcache gc`) or choose another install_root",
        )
    inodes = INODES_PER_PACKAGE * packages
    if st.f_files and st.f_favail < inodes:  # f_files == 0: the filesystem has no inode limit
        return Check(
            "inodes",
            False,
            f"not enough free inodes on {root}: {st.f_favail} free, about {inodes} needed",
            hint="remove unused files or choose another install_root",
        )
    estimate = "" if download_bytes is not None else " (some sizes unknown)"
    return Check("space", True, f"{_human(free)} free, about {_human(need)} needed{estimate}")


def check_prefix_lengths(downloads: Iterable[PlannedNode]) -> Check:
    """Spack's rule: a new prefix may not be longer than the build prefix it replaces."""
    for p in downloads:
        if p.build_prefix is None or p.prefix is None:
            continue
        new, old = str(p.prefix), p.build_prefix.rstrip("/")
        if len(new) > len(old):
            return Check(
                "prefix-length",
                False,
                f"install prefix of {p.node.short} is {len(new)} characters, longer than its "
                f"build prefix ({len(old)} characters): {new}",
                hint=f"choose an install_root at least {len(new) - len(old)} characters shorter",
            )
    return Check("prefix-length", True, "every new prefix fits in its build prefix")


def _human(n: int) -> str:
    """Bytes in the unit that reads naturally ("10.9 KB", not "0.0 MB"), SI like the CLI."""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"
