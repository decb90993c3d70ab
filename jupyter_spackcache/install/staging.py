"""Install one verified tarball: unpack, relocate and rename into place, then register it.

Two steps, so that unpacking (slow, independent) can start as soon as the tarball is verified
while relocation waits for the dependencies: :func:`unpack_node`, then :func:`commit_node`.

Everything happens in a staging directory inside the install root (same filesystem), so the
prefix appears with one ``rename`` only when it is complete, and the database row is written
after that. A crash at any point leaves at worst an unregistered staging directory or prefix,
which the next install removes (:func:`clean_staging`, :func:`clear_leftover`).

The caller holds the node's lock for the whole call.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import orjson

from ..errors import InstallError, SpackCacheError
from ..formats.buildinfo import BuildInfo
from ..limits import DEFAULT_LIMITS, Limits
from ..store.db import InstalledRecord, StoreDB
from ..store.layout import METADATA_DIR, StoreLayout
from ..store.lock import NodeLock
from .extract import read_buildinfo, safe_extract
from .faults import fault_point, fault_requested, open_tarball
from .plan import PlannedNode
from .procpool import UnpackerProcess
from .relocate import build_prefix_map, check_prefix_lengths, install_sbang, relocate
from .rmtree import remove_tree

DOWNLOADS = "downloads"
_TRASH = "trash-"


def download_path(layout: StoreLayout, dag_hash: str) -> Path:
    return layout.staging() / DOWNLOADS / f"{dag_hash}.tar.gz"


@dataclass(frozen=True)
class Unpacked:
    """A node's tarball unpacked into its private staging directory, not yet relocated."""

    planned: PlannedNode
    staging: Path
    buildinfo: BuildInfo

    def discard(self) -> None:
        """Drop the staging directory (the install of this node is abandoned)."""
        remove_tree(self.staging, ignore_errors=True)


def unpack_node(
    planned: PlannedNode,
    tarball: Path,
    *,
    layout: StoreLayout,
    unpacker: UnpackerProcess | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Unpacked:
    """Unpack a verified tarball into a new staging directory of the store.

    Needs nothing from the node's dependencies, so it may run as soon as the tarball is
    verified; nothing outside the staging directory changes. With ``unpacker``, the work
    happens in that worker process; otherwise in this thread.
    """
    if planned.record is None or planned.prefix is None:
        raise InstallError(f"{planned.node.short} has nothing to install")
    staging = Path(tempfile.mkdtemp(prefix=f"{planned.hash}-", dir=layout.staging()))
    name = planned.node.name
    try:
        st = os.statvfs(staging)
        budget = limits.unpack_budget(tarball.stat().st_size, st.f_bavail * st.f_frsize)
        if unpacker is not None:
            unpacker.unpack(tarball, staging, name, budget)
            buildinfo = read_buildinfo(staging)
        else:
            with open_tarball(tarball, name) as raw:
                buildinfo = safe_extract(raw, staging, budget=budget, package=name)
    except BaseException as exc:
        remove_tree(staging, ignore_errors=True)
        raise _as_install_error(planned, exc) from exc
    return Unpacked(planned, staging, buildinfo)


def commit_node(
    unpacked: Unpacked,
    *,
    layout: StoreLayout,
    store: StoreDB,
    prefixes: Mapping[str, str],
    upstream: Callable[[str], bool] = lambda dag_hash: False,
) -> InstalledRecord:
    """Relocate an unpacked node, rename it into place and register it.

    Runs once the node's link/run dependencies are installed: their prefixes are what the
    relocated files will point at. The staging directory is consumed either way.
    """
    planned, staging, buildinfo = unpacked.planned, unpacked.staging, unpacked.buildinfo
    if planned.record is None or planned.prefix is None:
        unpacked.discard()
        raise InstallError(f"{planned.node.short} has nothing to install")
    name = planned.node.name
    final = planned.prefix
    try:
        clear_leftover(final, layout)
        prefix_map = build_prefix_map(
            buildinfo,
            dag=planned.dag,
            new_prefixes=prefixes,
            new_store_root=str(layout.root),
            new_sbang=str(layout.sbang()),
        )
        check_prefix_lengths(prefix_map)
        # the crash test for "relocate" dies after the first rewritten file (or at the end
        # when there is none), with the staging copy half relocated
        crash = functools.partial(fault_point, "relocate", name)
        relocate(
            staging,
            buildinfo,
            prefix_map,
            sbang=str(layout.sbang()),
            after_file=crash if fault_requested("relocate", name) else None,
        )
        crash()
        _write_spec(staging, planned.record.document)
        fault_point("rename", name)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.rename(staging, final)
    except BaseException as exc:
        remove_tree(staging, ignore_errors=True)
        _remove_empty(final.parent)
        raise _as_install_error(planned, exc) from exc
    install_sbang(layout.root)  # shared by every prefix; after the rename, so no crash before
    fault_point("db", name)
    _check_dependencies_present(planned, store, layout, upstream)
    record = InstalledRecord.create(
        planned.record.document,
        prefix=final,
        root=layout.root,
        mirror=planned.mirror,
        explicit=planned.explicit,
    )
    try:
        store.add(record)
    except BaseException:
        remove_prefix(final, layout)  # never leave a prefix the database does not know
        raise
    return record


def _check_dependencies_present(
    planned: PlannedNode, store: StoreDB, layout: StoreLayout, upstream: Callable[[str], bool]
) -> None:
    """Refuse to register a node whose dependency was uninstalled while it was relocated.

    Dependencies reused from a read-only upstream store are never registered here.
    """
    for edge in planned.node.runtime_edges():
        dep = planned.dag.nodes.get(edge.hash)
        present = store.has(edge.hash) or upstream(edge.hash)
        if dep is not None and not dep.is_external and not present:
            if planned.prefix is not None:
                remove_prefix(planned.prefix, layout)
            raise InstallError(
                f"{dep.short} was uninstalled while {planned.node.short} was being installed",
                hint="run the install again",
            )


def uninstall_record(record: InstalledRecord, store: StoreDB) -> None:
    """Remove an installed node so that no crash can leave a row pointing at a half-deleted
    prefix: rename the prefix out of sight, delete the row, then delete the files."""
    layout = StoreLayout(Path(record.root))
    prefix = Path(record.prefix)
    trash = Path(tempfile.mkdtemp(prefix=_TRASH, dir=layout.staging()))
    if prefix.exists() or prefix.is_symlink():
        os.rename(prefix, trash / "prefix")
    store.remove(record.hash)
    _rmtree(trash)
    _remove_empty(prefix.parent)
    if not store.installed(layout.root):  # the last package gone: so is the store's sbang
        layout.sbang().unlink(missing_ok=True)
        _remove_empty(layout.sbang().parent)


def _remove_empty(directory: Path) -> None:
    """Remove a directory the install created once nothing is left in it."""
    with contextlib.suppress(OSError):
        directory.rmdir()


def _write_spec(prefix: Path, document: Mapping[str, object]) -> None:
    """Keep the verified spec document in ``.spack/spec.json``, as Spack does."""
    meta = prefix / METADATA_DIR
    meta.mkdir(exist_ok=True)
    target = meta / "spec.json"
    if target.is_symlink():
        target.unlink()
    target.write_bytes(orjson.dumps(document))  # compact, like json.dump(separators=...)


def _as_install_error(planned: PlannedNode, exc: BaseException) -> BaseException:
    if isinstance(exc, SpackCacheError) or not isinstance(exc, OSError):
        return exc
    hint = "free some space or choose another install_root" if exc.errno == 28 else None
    return InstallError(f"cannot install {planned.node.short}: {exc.strerror or exc}", hint=hint)


def clear_leftover(final: Path, layout: StoreLayout) -> None:
    """Remove a prefix a crashed install renamed into place but never registered."""
    if final.exists() or final.is_symlink():
        remove_prefix(final, layout)


def remove_prefix(prefix: Path, layout: StoreLayout) -> None:
    """Delete a prefix atomically: one rename out of sight, then the slow delete."""
    trash = Path(tempfile.mkdtemp(prefix=_TRASH, dir=layout.staging()))
    os.rename(prefix, trash / "prefix")
    _rmtree(trash)
    _remove_empty(prefix.parent)


def _rmtree(path: Path) -> None:
    """Delete a tree of any depth, even when the package made directories read-only."""
    remove_tree(path)


def clean_staging(layout: StoreLayout, *, owned: Iterable[str] = ()) -> None:
    """Remove what dead installs left in the staging area; never what a live one is using.

    Staging directories are named ``<hash>-*`` and only touched while that node's lock is held,
    so one whose lock is free (or held by us, in ``owned``) is an orphan. Complete downloads of
    nodes not being installed are dropped too; partial ``.part`` files are kept for resuming.
    """
    mine = set(owned)
    staging = layout.staging()
    for entry in staging.iterdir():
        if entry.name == DOWNLOADS:
            continue
        if entry.name.startswith(_TRASH):
            _rmtree(entry)
            continue
        dag_hash = entry.name.split("-", 1)[0]
        if dag_hash in mine or _is_free(layout, dag_hash):
            _rmtree(entry) if entry.is_dir() else entry.unlink()
    downloads = staging / DOWNLOADS
    if not downloads.is_dir():
        return
    for entry in downloads.iterdir():
        dag_hash = entry.name.split(".", 1)[0]
        if dag_hash in mine:
            continue
        if _is_free(layout, dag_hash):
            entry.unlink(missing_ok=True)


def _is_free(layout: StoreLayout, dag_hash: str) -> bool:
    lock = NodeLock(layout.locks(), dag_hash)
    if lock.acquire(timeout=0):
        lock.release()
        return True
    return False
