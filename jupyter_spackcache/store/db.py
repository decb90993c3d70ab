"""The record of what is installed: one SQLite file (WAL) shared by every process of a user.

Why SQLite rather than Spack's ``index.json``: concurrent installers append rows in short
transactions instead of rewriting a whole JSON file under a global lock, and readers (the CLI,
the Jupyter server) never block writers. Each write is one ``BEGIN IMMEDIATE`` transaction, so a
reader sees a node with all its dependency rows or not at all.

Nodes are stored in the same compact row form as the mirror index cache
(:func:`~jupyter_spackcache.formats.noderow.node_to_row`), plus the full spec-file document of
the node's DAG (zlib-compressed JSON), which is what ``.spack/spec.json`` holds.

The schema is versioned by :data:`MIGRATIONS`: step *n* brings a database from version *n* to
*n + 1*. A later feature adds its tables by appending a step; opening a database applies the
missing steps, each in one transaction, so concurrent openers cannot apply a step twice.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from ..errors import InstallError, MirrorError
from ..formats.noderow import NODE_COLUMNS, node_to_row, row_to_node
from ..spec.concrete import RUNTIME_DEPTYPES, ConcreteDAG, ConcreteNode

if TYPE_CHECKING:
    from ..config import Config
    from ..resolve import NodeSource

#: seconds a writer waits for another process's transaction before giving up
BUSY_TIMEOUT = 30.0

_RECORD_COLUMNS = f"{NODE_COLUMNS}, prefix, root, spec, mirror, explicit, installed_at"

#: schema steps; MIGRATIONS[n] upgrades version n to n + 1 (append only, never edit)
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE installs (
               hash TEXT PRIMARY KEY, name TEXT NOT NULL, version TEXT NOT NULL,
               namespace TEXT, platform TEXT, os TEXT, target TEXT, compiler TEXT,
               variants BLOB, edges BLOB, external TEXT, in_buildcache INTEGER,
               spec_version INTEGER,
               prefix TEXT NOT NULL, root TEXT NOT NULL, spec BLOB NOT NULL, mirror TEXT,
               explicit INTEGER NOT NULL, installed_at REAL NOT NULL) WITHOUT ROWID""",
        "CREATE INDEX installs_by_name ON installs (name)",
        "CREATE INDEX installs_by_root ON installs (root)",
        # one row per runtime (link/run) edge of an installed node, for dependents()
        """CREATE TABLE runtime_edges (
               parent TEXT NOT NULL, child TEXT NOT NULL,
               PRIMARY KEY (parent, child)) WITHOUT ROWID""",
        "CREATE INDEX runtime_edges_by_child ON runtime_edges (child)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def default_db_path(config: Config) -> Path:
    return config.home / "store.sqlite"


@dataclass(frozen=True, slots=True)
class InstalledRecord:
    """One installed node: where it lives, the spec it was installed from, and why."""

    hash: str
    name: str
    version: str
    prefix: str
    #: the install root the prefix lives in
    root: str
    #: the full spec-file document of the node's DAG (as in ``.spack/spec.json``)
    spec: dict[str, Any] = field(repr=False)
    node: ConcreteNode = field(repr=False)
    mirror: str | None
    explicit: bool
    installed_at: float

    @classmethod
    def create(
        cls,
        spec: dict[str, Any],
        *,
        prefix: Path | str,
        root: Path | str,
        mirror: str | None,
        explicit: bool,
        installed_at: float | None = None,
    ) -> InstalledRecord:
        """The record for the root node of the spec-file document ``spec``."""
        from ..formats.specfile import decode_specfile

        node = decode_specfile(spec).root
        return cls(
            hash=node.hash,
            name=node.name,
            version=node.version,
            prefix=str(prefix),
            root=str(root),
            spec=spec,
            node=node,
            mirror=mirror,
            explicit=explicit,
            installed_at=time.time() if installed_at is None else installed_at,
        )


_T = TypeVar("_T")
_log = logging.getLogger(__name__)
#: what decoding a damaged row raises
_DAMAGE = (zlib.error, orjson.JSONDecodeError, ValueError, TypeError, KeyError, MirrorError)


@dataclass(frozen=True, slots=True)
class DamagedRow:
    """A row of the install database that cannot be decoded."""

    hash: str
    name: str
    reason: str


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:120]


class StoreDB:
    """Installed nodes; safe to share between threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        self._closed = False
        self._reported: set[str] = set()
        self._migrate()

    # ------------------------------------------------------------------ reading
    def get(self, dag_hash: str) -> InstalledRecord | None:
        row = self._read(
            lambda db: db.execute(
                f"SELECT {_RECORD_COLUMNS} FROM installs WHERE hash = ?", (dag_hash,)
            ).fetchone()
        )
        if row is None:
            return None
        found = self._records([row])
        return found[0] if found else None

    def has(self, dag_hash: str) -> bool:
        return (
            self._read(
                lambda db: db.execute(
                    "SELECT 1 FROM installs WHERE hash = ?", (dag_hash,)
                ).fetchone()
            )
            is not None
        )

    def installed(self, root: Path | None = None) -> list[InstalledRecord]:
        """Every installed node (in ``root`` only, when given), by name then version."""
        query = f"SELECT {_RECORD_COLUMNS} FROM installs"
        args: tuple[str, ...] = ()
        if root is not None:
            query += " WHERE root = ?"
            args = (str(root),)
        rows = self._read(
            lambda db: db.execute(query + " ORDER BY name, version, hash", args).fetchall()
        )
        return self._records(rows)

    def dependents(self, dag_hash: str) -> list[InstalledRecord]:
        """Installed nodes with a link or run edge to ``dag_hash`` (they break without it)."""
        rows = self._read(
            lambda db: db.execute(
                f"SELECT {_RECORD_COLUMNS} FROM installs WHERE hash IN "
                "(SELECT parent FROM runtime_edges WHERE child = ?) ORDER BY name, version, hash",
                (dag_hash,),
            ).fetchall()
        )
        return self._records(rows)

    def locations(self, names: Sequence[str]) -> list[tuple[str, str, str | None]]:
        """(name, prefix, namespace) of every installed node named in ``names``, newest
        install first: what finding a recipe snapshot needs, without decoding any spec."""
        if not names:
            return []
        marks = ",".join("?" * len(names))
        rows = self._read(
            lambda db: db.execute(
                f"SELECT name, prefix, namespace FROM installs WHERE name IN ({marks}) "
                "ORDER BY installed_at DESC",
                tuple(names),
            ).fetchall()
        )
        return [(str(r[0]), str(r[1]), r[2]) for r in rows]

    def damaged(self) -> list[DamagedRow]:
        """Rows that cannot be read back (a damaged file, or written by something else)."""
        query = f"SELECT {_RECORD_COLUMNS} FROM installs ORDER BY hash"
        rows = self._read(lambda db: db.execute(query).fetchall())
        out = []
        for row in rows:
            try:
                _record(row)
            except _DAMAGE as exc:
                out.append(DamagedRow(str(row[0]), str(row[1]), _reason(exc)))
        return out

    def _records(self, rows: Sequence[Any]) -> list[InstalledRecord]:
        """Decoded rows; a damaged one is reported by name (once per process) and skipped, so
        one bad row does not make every listing and uninstall fail."""
        out = []
        for row in rows:
            try:
                out.append(_record(row))
            except _DAMAGE as exc:
                key = str(row[0])
                if key not in self._reported:
                    self._reported.add(key)
                    _log.warning(
                        "the install database %s has a damaged record for %s/%s (%s); it is "
                        "skipped: run `spackcache doctor --repair`",
                        self.path,
                        row[1],
                        key[:7],
                        _reason(exc),
                    )
        return out

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Make the reads of this thread inside the block see one consistent state (a read
        transaction: WAL keeps that state for us while writers go on). No writes inside."""
        db = self._connection()
        try:
            db.execute("BEGIN DEFERRED")
            db.execute("SELECT 1 FROM schema_version").fetchone()  # starts the read now
        except sqlite3.DatabaseError as exc:
            raise _db_error(self.path, exc) from None
        try:
            yield
        finally:
            db.execute("COMMIT")

    def node_source(self) -> NodeSource:
        """The installed nodes as a resolver source named ``installed``."""
        return InstalledSource(self)

    # ------------------------------------------------------------------ writing
    def add(self, record: InstalledRecord) -> bool:
        """Register a node in one transaction. Idempotent: adding an installed hash again keeps
        the first row, only ever raising ``explicit``. Returns whether a new row was written."""
        if record.node.hash != record.hash:
            raise InstallError(
                f"install record {record.hash} carries the node of {record.node.hash}"
            )
        row = (
            *node_to_row(record.node, in_buildcache=True),
            record.prefix,
            record.root,
            zlib.compress(orjson.dumps(record.spec)),
            record.mirror,
            1 if record.explicit else 0,
            record.installed_at,
        )
        edges = sorted(
            {
                (record.hash, e.hash)
                for e in record.node.edges
                if not e.deptypes.isdisjoint(RUNTIME_DEPTYPES)
            }
        )
        with self._write() as db:
            cursor = db.execute(
                f"INSERT INTO installs ({_RECORD_COLUMNS}) VALUES ({', '.join('?' * len(row))}) "
                "ON CONFLICT (hash) DO NOTHING",
                row,
            )
            if cursor.rowcount == 0:
                if record.explicit:
                    db.execute("UPDATE installs SET explicit = 1 WHERE hash = ?", (record.hash,))
                return False
            db.executemany("INSERT OR IGNORE INTO runtime_edges VALUES (?, ?)", edges)
            return True

    def remove(self, dag_hash: str) -> None:
        """Forget a node (a no-op when it is not registered). Its files are the caller's job."""
        with self._write() as db:
            db.execute("DELETE FROM installs WHERE hash = ?", (dag_hash,))
            db.execute("DELETE FROM runtime_edges WHERE parent = ?", (dag_hash,))

    def set_explicit(self, dag_hash: str, explicit: bool) -> None:
        with self._write() as db:
            cursor = db.execute(
                "UPDATE installs SET explicit = ? WHERE hash = ?", (1 if explicit else 0, dag_hash)
            )
            if cursor.rowcount == 0:
                raise InstallError(f"no installed package has the hash {dag_hash}")

    def close(self) -> None:
        with self._guard:
            self._closed = True
            for db in self._all:
                db.close()
            self._all.clear()

    # ------------------------------------------------------------------ plumbing
    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is not None:
            return db
        with self._guard:
            if self._closed:
                raise InstallError(f"the install database {self.path} is closed")
            db = _connect(self.path)
            self._all.append(db)
        self._local.db = db
        return db

    def _read(self, query: Callable[[sqlite3.Connection], _T]) -> _T:
        try:
            return query(self._connection())
        except sqlite3.DatabaseError as exc:
            raise _db_error(self.path, exc) from None

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: all of the block's writes land, or none do."""
        db = self._connection()
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as exc:
            raise _db_error(self.path, exc) from None
        try:
            yield db
            db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            _rollback(db)
            raise _db_error(self.path, exc) from None
        except BaseException:
            _rollback(db)
            raise

    def _migrate(self) -> None:
        """Bring the schema to :data:`SCHEMA_VERSION`, one transaction per step."""
        while True:
            with self._write() as tx:
                tx.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                row = tx.execute("SELECT version FROM schema_version").fetchone()
                current = 0 if row is None else int(row[0])
                if current > SCHEMA_VERSION:
                    raise InstallError(
                        f"the install database {self.path} has schema {current}; "
                        f"this jupyter-spackcache knows up to {SCHEMA_VERSION}",
                        hint="upgrade jupyter-spackcache",
                    )
                if current == SCHEMA_VERSION:
                    return
                for statement in MIGRATIONS[current]:
                    tx.execute(statement)
                tx.execute("DELETE FROM schema_version")
                tx.execute("INSERT INTO schema_version VALUES (?)", (current + 1,))


def _connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (we issue BEGIN/COMMIT), WAL journal, patient locks."""
    from ..statedir import journal_mode, private_dir, private_files

    try:
        private_dir(path.parent)
        db = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
        )
    except (OSError, sqlite3.DatabaseError) as exc:
        raise _db_error(path, exc) from None
    try:
        db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
        _set_journal(db, journal_mode(path))
        db.execute("PRAGMA synchronous = NORMAL")
        private_files(path)
    except sqlite3.DatabaseError as exc:
        db.close()
        raise _db_error(path, exc) from None
    return db


def _rollback(db: sqlite3.Connection) -> None:
    """Undo an open transaction; SQLite may already have rolled back (disk full, I/O error)."""
    if db.in_transaction:
        db.execute("ROLLBACK")


def _set_journal(db: sqlite3.Connection, wanted: str) -> None:
    """Switch to ``wanted`` (WAL, or DELETE on a network filesystem: statedir.py); the switch
    needs a moment alone with the file, so retry while it is busy (the mode is persistent:
    once one process set it, this is a no-op read)."""
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            mode = db.execute(f"PRAGMA journal_mode = {wanted}").fetchone()[0]
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
            continue
        if str(mode).lower() != wanted.lower():
            raise sqlite3.OperationalError(f"cannot use {wanted} journal (got {mode})")
        return


def _db_error(path: Path, exc: BaseException) -> InstallError:
    return InstallError(
        f"the install database {path} cannot be used: {exc}",
        hint="check the file and its directory are writable; a corrupt file can be moved aside",
    )


def _record(row: Sequence[Any]) -> InstalledRecord:
    node = row_to_node(tuple(row[:13]))
    prefix, root, spec, mirror, explicit, installed_at = row[13:]
    return InstalledRecord(
        hash=node.hash,
        name=node.name,
        version=node.version,
        prefix=prefix,
        root=root,
        spec=orjson.loads(zlib.decompress(spec)),
        node=node,
        mirror=mirror,
        explicit=bool(explicit),
        installed_at=installed_at,
    )


class InstalledSource:
    """:class:`~jupyter_spackcache.resolve.NodeSource` over installed nodes: lets the resolver
    prefer what is already here. Everything installed counts as "in the build cache"; nodes are
    memoised, so take a fresh source after installing or removing."""

    name = "installed"

    def __init__(self, db: StoreDB) -> None:
        self._db = db
        self._memo: dict[str, ConcreteNode] = {}

    def names(self) -> list[str]:
        rows = self._db._read(
            lambda db: db.execute("SELECT DISTINCT name FROM installs ORDER BY name").fetchall()
        )
        return [r[0] for r in rows]

    def hashes_named(self, name: str) -> list[str]:
        return self._select("WHERE name = ?", (name,))

    def hashes_with_prefix(self, prefix: str) -> list[str]:
        return self._select("WHERE hash >= ? AND hash < ?", (prefix, prefix + "{"))

    def node(self, dag_hash: str) -> ConcreteNode | None:
        if dag_hash not in self._memo:
            self._select("WHERE hash = ?", (dag_hash,))
        return self._memo.get(dag_hash)

    def in_buildcache(self, dag_hash: str) -> bool:
        return self.node(dag_hash) is not None

    def dag(self, root_hash: str) -> ConcreteDAG:
        """The DAG the node was installed from (its stored spec file), so externals such as
        glibc and build-only dependencies, which are never installed, are still described."""
        from ..formats.specfile import decode_specfile

        record = self._db.get(root_hash)
        if record is None:
            return ConcreteDAG(root_hash, {})
        return decode_specfile(record.spec)

    def _select(self, where: str, args: tuple[str, ...]) -> list[str]:
        rows = self._db._read(
            lambda db: db.execute(f"SELECT {NODE_COLUMNS} FROM installs {where}", args).fetchall()
        )
        hashes = []
        for row in rows:
            h = str(row[0])
            if h not in self._memo:
                try:
                    self._memo[h] = row_to_node(tuple(row))
                except _DAMAGE:
                    continue  # reported by name when its record is read
            hashes.append(h)
        return hashes
