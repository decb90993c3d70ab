"""Operations on what is installed: find by spec, uninstall, garbage-collect.

Uninstalling follows one rule: never leave a database row pointing at a missing or half-deleted
prefix, and never remove a package that an installed package still needs (unless its dependents
go too). Each removal holds the node's lock, so it cannot race an install of the same node.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import InstallError, ResolveError
from ..spec.concrete import RUNTIME_DEPTYPES
from ..spec.parser import parse_spec
from ..spec.satisfies import satisfies
from ..store.db import InstalledRecord, StoreDB
from ..store.layout import StoreLayout
from ..store.lock import NodeLock, StoreLock
from .staging import uninstall_record

LOCK_TIMEOUT = 60.0


def find_installed(store: StoreDB, text: str | None) -> list[InstalledRecord]:
    """Installed nodes satisfying the spec ``text`` (all when None): explicit ones first."""
    records = store.installed()
    if text:
        request = parse_spec(text)
        source = store.node_source()
        records = [r for r in records if satisfies(request, source.dag(r.hash))]
    return sorted(records, key=lambda r: (not r.explicit, r.name, r.version, r.hash))


def one_installed(store: StoreDB, text: str) -> InstalledRecord:
    """The single installed node ``text`` names; a one-line error for none or several."""
    found = find_installed(store, text)
    if not found:
        raise ResolveError(
            f"no installed package matches '{text}'",
            hint="see `spackcache find` for what is installed",
        )
    if len(found) > 1:
        names = ", ".join(f"{r.name}@{r.version}/{r.hash[:7]}" for r in found[:6])
        raise ResolveError(
            f"'{text}' matches {len(found)} installed packages: {names}",
            hint="add a version or /hash to choose one",
        )
    return found[0]


def removal_order(
    store: StoreDB, targets: Sequence[InstalledRecord], *, dependents: bool
) -> list[InstalledRecord]:
    """What uninstalling ``targets`` removes, dependents first; refuses if others need them."""
    chosen: dict[str, InstalledRecord] = {r.hash: r for r in targets}
    if dependents:
        queue = list(targets)
        while queue:
            for parent in store.dependents(queue.pop().hash):
                if parent.hash not in chosen:
                    chosen[parent.hash] = parent
                    queue.append(parent)
    for record in chosen.values():
        needed = [d for d in store.dependents(record.hash) if d.hash not in chosen]
        if needed:
            names = ", ".join(f"{d.name}@{d.version}/{d.hash[:7]}" for d in needed)
            raise InstallError(
                f"cannot uninstall {record.name}@{record.version}/{record.hash[:7]}: "
                f"needed by {names}",
                hint="uninstall those first, or pass --dependents to remove them too",
            )
    return _dependents_first(chosen)


def _dependents_first(records: dict[str, InstalledRecord]) -> list[InstalledRecord]:
    """Post-order over "is needed by", iterative (the store decides how deep it goes)."""
    needed_by: dict[str, list[InstalledRecord]] = {h: [] for h in records}
    for other in records.values():
        for e in other.node.edges:
            if e.hash in needed_by and not e.deptypes.isdisjoint(RUNTIME_DEPTYPES):
                needed_by[e.hash].append(other)
    order: list[InstalledRecord] = []
    seen: set[str] = set()
    for start in sorted(records.values(), key=lambda r: r.hash):
        if start.hash in seen:
            continue
        seen.add(start.hash)
        stack = [(start, iter(needed_by[start.hash]))]
        while stack:
            record, parents = stack[-1]
            parent = next((p for p in parents if p.hash not in seen), None)
            if parent is not None:
                seen.add(parent.hash)
                stack.append((parent, iter(needed_by[parent.hash])))
                continue
            stack.pop()
            order.append(record)
    return order


def uninstall(
    store: StoreDB, records: Iterable[InstalledRecord], *, gc: bool = False
) -> list[InstalledRecord]:
    """Remove ``records`` (already ordered dependents first); returns what was removed.

    Holds each install root's store lock exclusively, so it waits for running installs
    (which hold it shared) and none starts meanwhile. With ``gc``, a node that became needed
    or explicit while waiting is kept instead of refused.
    """
    records = list(records)
    roots = sorted({record.root for record in records})
    locks = [StoreLock(StoreLayout(Path(root)).locks()) for root in roots]
    held: list[StoreLock] = []
    try:
        for lock, root in zip(locks, roots, strict=True):
            if not lock.acquire(LOCK_TIMEOUT):
                raise InstallError(
                    f"an install into {root} has been running for over {LOCK_TIMEOUT:g}s; "
                    "nothing was removed",
                    hint="run the command again when the install has finished",
                )
            held.append(lock)
        keep = _now_needed(store, records) if gc else set()
        return _remove_each(store, [r for r in records if r.hash not in keep])
    finally:
        for lock in held:
            lock.release()


def _now_needed(store: StoreDB, records: list[InstalledRecord]) -> set[str]:
    """Of ``records`` (garbage when chosen), those that are garbage no longer."""
    still = {r.hash for r in garbage(store)}
    return {r.hash for r in records if r.hash not in still}


def _remove_each(store: StoreDB, records: list[InstalledRecord]) -> list[InstalledRecord]:
    removed: list[InstalledRecord] = []
    for record in records:
        lock = NodeLock(StoreLayout(Path(record.root)).locks(), record.hash)
        with lock.hold(LOCK_TIMEOUT):
            current = store.get(record.hash)
            if current is None:
                continue
            needed = [
                d for d in store.dependents(record.hash) if d.hash not in {r.hash for r in removed}
            ]
            if needed:
                raise InstallError(
                    f"cannot uninstall {record.name}/{record.hash[:7]}: "
                    f"{needed[0].name}/{needed[0].hash[:7]} was installed on top of it meanwhile"
                )
            uninstall_record(current, store)
            removed.append(current)
    return removed


def garbage(store: StoreDB) -> list[InstalledRecord]:
    """Implicit nodes that no explicit node needs, dependents first (safe removal order)."""
    records = {r.hash: r for r in store.installed()}
    keep: set[str] = set()
    queue = [h for h, r in records.items() if r.explicit]
    while queue:
        h = queue.pop()
        if h in keep or h not in records:
            continue
        keep.add(h)
        queue.extend(
            e.hash for e in records[h].node.edges if not e.deptypes.isdisjoint(RUNTIME_DEPTYPES)
        )
    return _dependents_first({h: r for h, r in records.items() if h not in keep})
