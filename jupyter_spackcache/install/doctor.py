"""Check that the install database, the prefixes on disk and their Spack metadata agree.

Three records describe one installed package: its row in ``store.sqlite``, its prefix under
the install root, and the prefix's own ``.spack/spec.json`` (what a real Spack reindexes
from); a root made into an upstream also has a Spack database, ``.spack-db/index.json``.
A crash, a full disk or a hand-made change can leave them disagreeing: a row whose prefix is
gone, a prefix no row knows, a row that cannot be decoded, a missing spec file.
:func:`examine` lists every disagreement by package name; with ``repair`` it also fixes each
one the safe way (under the store lock, so no install or gc runs meanwhile):

* a damaged or dangling row is deleted (a prefix still on disk is registered again from its
  own spec file);
* a prefix with a valid spec file naming the hash its directory names is registered
  (explicitly, so that gc does not remove what the user may want);
* a missing or wrong ``.spack/spec.json`` is rewritten from the database;
* a Spack database that lists other packages than the store is written again;
* leftovers of dead installs in the staging area are removed.

Nothing a user installed is ever deleted by a repair.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ..errors import InstallError, MirrorError
from ..store.db import InstalledRecord, StoreDB
from ..store.layout import METADATA_DIR, StoreLayout
from ..store.lock import NodeLock, StoreLock
from ..store.spackdb import DB_DIR, write_spack_db
from .staging import clean_staging

#: seconds repair waits for running installs to finish
LOCK_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class Finding:
    """One disagreement: what kind, which package, what is wrong, and whether it was fixed."""

    kind: str
    subject: str
    detail: str
    repaired: bool = False

    def line(self) -> str:
        state = "repaired" if self.repaired else "problem"
        return f"{state}: {self.subject}: {self.detail}"


def examine(store: StoreDB, roots: Sequence[Path], *, repair: bool = False) -> list[Finding]:
    """Every disagreement between ``store`` and the install ``roots``; fixed with ``repair``."""
    roots = sorted({Path(r) for r in roots})
    if not repair:
        return list(_findings(store, roots, repair=False))
    locks = [StoreLock(StoreLayout(root).locks()) for root in roots]
    held: list[StoreLock] = []
    try:
        for lock, root in zip(locks, roots, strict=True):
            if not lock.acquire(LOCK_TIMEOUT):
                raise InstallError(
                    f"an install into {root} is running; nothing was repaired",
                    hint="run `spackcache doctor --repair` again when it has finished",
                )
            held.append(lock)
        return list(_findings(store, roots, repair=True))
    finally:
        for lock in held:
            lock.release()


def _findings(store: StoreDB, roots: list[Path], *, repair: bool) -> Iterator[Finding]:
    for bad in store.damaged():
        if repair:
            store.remove(bad.hash)
        yield Finding(
            "damaged-row",
            f"{bad.name}/{bad.hash[:7]}",
            f"its database record cannot be read ({bad.reason})",
            repair,
        )
    for record in store.installed():
        yield from _check_record(store, record, repair=repair)
    for root in roots:
        if not root.is_dir():
            continue
        for prefix, spec in _prefixes(root):
            yield from _check_prefix(store, root, prefix, spec, repair=repair)
        yield from _check_spack_db(store, root, repair=repair)
        if repair:
            clean_staging(StoreLayout(root))


def _check_record(store: StoreDB, record: InstalledRecord, *, repair: bool) -> Iterator[Finding]:
    subject = f"{record.name}@{record.version}/{record.hash[:7]}"
    prefix = Path(record.prefix)
    if not prefix.is_dir():
        if repair:
            store.remove(record.hash)
        yield Finding("missing-prefix", subject, f"registered, but {prefix} is gone", repair)
        return
    spec_file = prefix / METADATA_DIR / "spec.json"
    if _spec_hash(_read_spec(spec_file)) != record.hash:
        if repair:
            spec_file.parent.mkdir(exist_ok=True)
            spec_file.write_bytes(orjson.dumps(record.spec))
        yield Finding(
            "spec-json", subject, f"{spec_file} is missing or describes another package", repair
        )


def _check_prefix(
    store: StoreDB, root: Path, prefix: Path, spec: dict[str, Any], *, repair: bool
) -> Iterator[Finding]:
    dag_hash = _spec_hash(spec)
    if dag_hash is None or store.has(dag_hash):
        return
    if not prefix.name.endswith(f"-{dag_hash}"):
        yield Finding(
            "stray-prefix",
            str(prefix),
            f"not registered, and its spec file names another hash ({dag_hash})",
        )
        return
    done = False
    if repair:
        lock = NodeLock(StoreLayout(root).locks(), dag_hash)
        with lock.hold(LOCK_TIMEOUT), contextlib.suppress(MirrorError, InstallError):
            record = InstalledRecord.create(
                spec, prefix=prefix, root=root, mirror=None, explicit=True
            )
            store.add(record)
            done = True
    yield Finding(
        "unregistered",
        prefix.name,
        f"{prefix} is installed but not registered"
        + (" (registered again, as explicit)" if done else ""),
        done,
    )


def _check_spack_db(store: StoreDB, root: Path, *, repair: bool) -> Iterator[Finding]:
    """A root made into an upstream has a Spack database: it must list what the store does."""
    index = root / DB_DIR / "index.json"
    if not index.is_file():
        return
    listed: set[str] | None
    try:
        installs = orjson.loads(index.read_bytes())["database"]["installs"]
        inside = str(root).rstrip("/") + "/"
        listed = {
            h
            for h, rec in installs.items()
            if rec.get("installed") and str(rec.get("path") or "").startswith(inside)
        }
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        listed = None
    registered = {r.hash for r in store.installed(root)}
    if listed == registered:
        return
    if repair:
        write_spack_db(root, store.installed(root))
    detail = (
        "cannot be read"
        if listed is None
        else f"lists {len(listed - registered)} package(s) not installed and misses "
        f"{len(registered - listed)}"
    )
    yield Finding("spack-db", str(index), f"the Spack database {detail}", repair)


def _prefixes(root: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Prefixes of the default projection ``<platform>-<target>/<name>-<version>-<hash>``
    holding a readable ``.spack/spec.json``."""
    for arch in sorted(root.iterdir()):
        if arch.name.startswith(".") or arch.name == "bin" or not arch.is_dir():
            continue
        for prefix in sorted(arch.iterdir()):
            spec = _read_spec(prefix / METADATA_DIR / "spec.json")
            if spec is not None and prefix.is_dir() and not prefix.is_symlink():
                yield prefix, spec


def _read_spec(path: Path) -> dict[str, Any] | None:
    try:
        doc = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return doc if isinstance(doc, dict) else None


def _spec_hash(doc: dict[str, Any] | None) -> str | None:
    """The root hash a spec-file document names, or None when it names none."""
    if doc is None:
        return None
    from ..formats.specfile import decode_specfile

    try:
        return decode_specfile(doc).root.hash or None
    except MirrorError:
        return None
