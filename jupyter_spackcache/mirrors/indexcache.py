"""A compact, queryable copy of each mirror's binary index, kept under the user's state dir.

The raw index is parsed once (streamed, see :mod:`jupyter_spackcache.formats.indexstream`) into
a small SQLite file: one row per node with only what selection needs, indexed by package name.
A warm query then reads a few rows instead of re-parsing hundreds of MB of JSON, and a refresh
of an unchanged mirror is a single small request (ETag, ``index.json.hash`` or the v3 manifest
checksum).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from ..errors import DuplicateHash, MirrorError, StateError, state_error
from ..formats.indexstream import IndexHeader, iter_index_records
from ..formats.noderow import NODE_COLUMNS, node_to_row, row_to_node
from ..limits import DEFAULT_LIMITS, BoundedIndexStream
from ..spec.concrete import ConcreteDAG, ConcreteNode

if TYPE_CHECKING:
    from ..config import MirrorConfig
    from .base import IndexFetch

SCHEMA = 3
_BATCH = 4096
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True, slots=True)
class CacheMeta:
    url: str
    layout: str
    index_hash: str
    etag: str | None
    db_version: str
    fetched_at: float
    checked_at: float
    nodes: int


class MirrorIndex:
    """Read access to one mirror's cached index. Nodes are decoded lazily and memoised."""

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = path
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._memo: dict[str, ConcreteNode | None] = {}
        self._buildcache: dict[str, bool] = {}
        self.meta = _read_meta(self._db)

    def close(self) -> None:
        self._db.close()

    def __len__(self) -> int:
        return self.meta.nodes

    def names(self) -> list[str]:
        return [r[0] for r in self._query("SELECT DISTINCT name FROM nodes ORDER BY name")]

    def linked_names(self, names: Iterable[str]) -> set[str]:
        """Those of ``names`` that some node of this mirror links to: its libraries.

        The rest are what people ask for: applications and tools (a program another package
        only runs, or a compiler only built with, is still an application).
        """
        wanted = list(dict.fromkeys(names))
        found: set[str] = set()
        for start in range(0, len(wanted), 500):  # SQLite's bound-parameter limit
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._query(f"SELECT name FROM linked WHERE name IN ({marks})", tuple(chunk))
            found.update(r[0] for r in rows)
        return found

    def names_containing(self, word: str) -> list[str]:
        """Package names with ``word`` in them (search as you type), sorted."""
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self._query(
            "SELECT DISTINCT name FROM nodes WHERE name LIKE ? ESCAPE '\\' ORDER BY name",
            (pattern,),
        )
        return [r[0] for r in rows]

    def hashes_named(self, name: str) -> list[str]:
        rows = self._query(
            f"SELECT {NODE_COLUMNS} FROM nodes WHERE name = ? ORDER BY hash", (name,)
        )
        return [self._remember(row) for row in rows]

    def hashes_with_prefix(self, prefix: str) -> list[str]:
        rows = self._query(
            f"SELECT {NODE_COLUMNS} FROM nodes WHERE hash >= ? AND hash < ? ORDER BY hash",
            (prefix, prefix + "{"),
        )
        return [self._remember(row) for row in rows]

    def node(self, dag_hash: str) -> ConcreteNode | None:
        if dag_hash not in self._memo:
            rows = self._query(f"SELECT {NODE_COLUMNS} FROM nodes WHERE hash = ?", (dag_hash,))
            row = rows[0] if rows else None
            if row is None:
                self._memo[dag_hash] = None
            else:
                self._remember(row)
        return self._memo[dag_hash]

    def in_buildcache(self, dag_hash: str) -> bool:
        if dag_hash not in self._buildcache:
            self.node(dag_hash)
        return self._buildcache.get(dag_hash, False)

    def dag(self, root_hash: str) -> ConcreteDAG:
        """The DAG under ``root_hash`` (all edge types; absent nodes are simply missing)."""
        nodes: dict[str, ConcreteNode] = {}
        stack = [root_hash]
        while stack:
            h = stack.pop()
            if h in nodes:
                continue
            node = self.node(h)
            if node is None:
                continue
            nodes[h] = node
            stack.extend(e.hash for e in node.edges if e.hash not in nodes)
        return ConcreteDAG(root_hash, nodes)

    def iter_nodes(self) -> Iterator[ConcreteNode]:
        try:  # streamed: a whole public index is too many rows to hold at once
            cursor = self._db.execute(
                f"SELECT {NODE_COLUMNS} FROM nodes ORDER BY name, version, hash"
            )
        except sqlite3.DatabaseError as exc:
            raise self._damaged(exc) from None
        for row in _guarded(iter(cursor), self._damaged):
            h = self._remember(row)
            node = self._memo[h]
            assert node is not None
            yield node

    def _remember(self, row: tuple[Any, ...]) -> str:
        h = row[0]
        if h not in self._memo or self._memo[h] is None:
            try:
                self._memo[h] = row_to_node(row)
            except (ValueError, TypeError, KeyError, orjson.JSONDecodeError) as exc:
                raise self._damaged(exc) from None
            self._buildcache[h] = bool(row[11])
        return str(h)

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise self._damaged(exc) from None

    def probe(self) -> None:
        """Decode the first and last rows: a cheap check that the cache is usable at all."""
        for order in ("ASC", "DESC"):
            for row in self._query(
                f"SELECT {NODE_COLUMNS} FROM nodes ORDER BY rowid {order} LIMIT 1"
            ):
                self._remember(tuple(row))

    def _damaged(self, exc: BaseException) -> StateError:
        """Drop a cache that cannot be read (it is only a copy): the next use rebuilds it."""
        with contextlib.suppress(OSError):
            self.path.unlink()
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:100]
        return StateError(
            f"the cached index of mirror '{self.name}' was damaged ({reason}); it was removed",
            hint="run the command again: the index is fetched and cached anew",
        )


def _guarded(rows: Iterator[Any], damaged: Any) -> Iterator[Any]:
    """Rows of a cursor, a read error worded as a damaged cache."""
    while True:
        try:
            row = next(rows, None)
        except sqlite3.DatabaseError as exc:
            raise damaged(exc) from None
        if row is None:
            return
        yield row


class IndexCache:
    """The per-user directory of cached indices, one SQLite file per mirror URL (+ view)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, mirror: MirrorConfig) -> Path:
        key = hashlib.sha256(f"{mirror.url}|{mirror.view or ''}".encode()).hexdigest()[:16]
        return self.root / f"{_SAFE.sub('_', mirror.name)}-{key}.sqlite"

    def meta(self, mirror: MirrorConfig) -> CacheMeta | None:
        path = self.path_for(mirror)
        if not path.is_file():
            return None
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                meta = _read_meta(db)
        except (sqlite3.Error, MirrorError):
            return None
        return meta if meta.url == mirror.url else None

    def open(self, mirror: MirrorConfig) -> MirrorIndex | None:
        if self.meta(mirror) is None:
            return None
        return MirrorIndex(mirror.name, self.path_for(mirror))

    def remove(self, mirror: MirrorConfig) -> None:
        self.path_for(mirror).unlink(missing_ok=True)

    def touch(self, mirror: MirrorConfig, *, etag: str | None) -> None:
        """Record that the mirror was checked and found unchanged."""
        with sqlite3.connect(self.path_for(mirror)) as db:
            db.execute(
                "UPDATE meta SET checked_at = ?, etag = COALESCE(?, etag)", (time.time(), etag)
            )

    def store(
        self,
        mirror: MirrorConfig,
        layout: str,
        fetch: IndexFetch,
        *,
        max_bytes: int = DEFAULT_LIMITS.max_index_bytes,
    ) -> MirrorIndex:
        """Build the compact form of a freshly fetched index and swap it in atomically.

        The index is inflated (if gzip'd) and parsed as one stream, refused as soon as it
        expands past ``max_bytes``.
        """
        assert fetch.data is not None
        stream = BoundedIndexStream(fetch.data, limit=max_bytes, mirror=mirror.name)
        return self.store_stream(
            mirror, layout, stream, index_hash=fetch.index_hash, etag=fetch.etag
        )

    def store_stream(
        self,
        mirror: MirrorConfig,
        layout: str,
        stream: Any,
        *,
        index_hash: str,
        etag: str | None,
    ) -> MirrorIndex:
        self.root.mkdir(parents=True, exist_ok=True)
        final = self.path_for(mirror)
        tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        try:
            count, db_version = _build(tmp, stream)
            now = time.time()
            with sqlite3.connect(tmp) as db:
                db.execute(
                    "INSERT INTO meta VALUES (?,?,?,?,?,?,?,?,?)",
                    (SCHEMA, mirror.url, layout, index_hash, etag, db_version, now, now, count),
                )
            os.replace(tmp, final)
        except (sqlite3.Error, OSError) as exc:
            tmp.unlink(missing_ok=True)
            problem = state_error(exc)
            if problem is None:
                raise
            raise StateError(
                f"cannot cache the index of mirror '{mirror.name}' in "
                f"{self.root}: {problem.message}",
                hint=problem.hint,
            ) from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return MirrorIndex(mirror.name, final)


def _build(path: Path, stream: Any) -> tuple[int, str]:
    from ..formats.specfile import decode_index_record, spec_version_for_db

    db = sqlite3.connect(path)
    try:
        db.executescript(
            """
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            CREATE TABLE meta (schema INTEGER, url TEXT, layout TEXT, index_hash TEXT,
                               etag TEXT, db_version TEXT, fetched_at REAL, checked_at REAL,
                               nodes INTEGER);
            -- a rowid table: rows append in arrival order and pages stay full (WITHOUT ROWID
            -- would keep rows of a few KB in random hash order: a larger, slower cache)
            CREATE TABLE nodes (hash TEXT PRIMARY KEY, name TEXT, version TEXT, namespace TEXT,
                                platform TEXT, os TEXT, target TEXT, compiler TEXT,
                                variants BLOB, edges BLOB, external TEXT,
                                in_buildcache INTEGER, spec_version INTEGER);
            -- package names some node links to: the mirror's libraries
            CREATE TABLE linked (name TEXT PRIMARY KEY) WITHOUT ROWID;
            """
        )
        header = IndexHeader()
        pending: list[tuple[str, dict[str, Any]]] = []
        batch: list[tuple[Any, ...]] = []
        linked: set[str] = set()
        count = 0
        insert = f"INSERT OR IGNORE INTO nodes ({NODE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
        for dag_hash, record in iter_index_records(stream, header):
            if header.version is None:
                pending.append((dag_hash, record))  # version after installs: decode at the end
                continue
            batch.append(_row(dag_hash, record, header.version, decode_index_record, linked))
            if len(batch) >= _BATCH:
                count += _insert(db, insert, batch)
                batch.clear()
        version = header.version
        if version is None:
            raise MirrorError("the binary index has no database version")
        spec_version_for_db(version)  # refuses a database version this client cannot read
        batch.extend(_row(h, r, version, decode_index_record, linked) for h, r in pending)
        count += _insert(db, insert, batch)
        db.executemany("INSERT INTO linked VALUES (?)", ((name,) for name in sorted(linked)))
        db.execute("CREATE INDEX nodes_by_name ON nodes (name)")
        db.commit()
        return count, version
    finally:
        db.close()


def _insert(db: sqlite3.Connection, insert: str, batch: list[tuple[Any, ...]]) -> int:
    """Insert rows, refusing a hash met before with other content; returns rows added.

    One hash must mean one node: "last wins" would let a later entry silently relabel an
    earlier one. Identical repeats are harmless and kept once.
    """
    before = db.total_changes
    db.executemany(insert, batch)
    added = db.total_changes - before
    if added == len(batch):
        return added
    for row in batch:
        stored = db.execute(f"SELECT {NODE_COLUMNS} FROM nodes WHERE hash = ?", (row[0],))
        if tuple(stored.fetchone() or ()) != tuple(row):
            raise DuplicateHash(
                f"the binary index lists {row[0]} twice with different content",
                hint="the mirror's index is damaged or hostile; ask its owner to regenerate it",
            )
    return added


def _row(
    dag_hash: str, record: dict[str, Any], db_version: str, decode: Any, linked: set[str]
) -> tuple[Any, ...]:
    spec = record.get("spec")
    if not isinstance(spec, dict):
        raise MirrorError(f"the binary index record {dag_hash} has no spec")
    try:
        node: ConcreteNode = decode(spec, db_version)
    except MirrorError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise MirrorError(
            f"the binary index record {dag_hash} is malformed ({type(exc).__name__}: {exc})"
        ) from None
    for edge in node.edges:  # a plain loop: this runs for every node of a public index
        if "link" in edge.deptypes:
            linked.add(edge.name)
    return node_to_row(node, in_buildcache=bool(record.get("in_buildcache", False)))


def _read_meta(db: sqlite3.Connection) -> CacheMeta:
    try:
        row = db.execute(
            "SELECT schema, url, layout, index_hash, etag, db_version, fetched_at, checked_at, "
            "nodes FROM meta"
        ).fetchone()
    except sqlite3.Error:
        row = None
    if row is None or row[0] != SCHEMA:
        raise MirrorError("the cached index is from another version; it will be rebuilt")
    return CacheMeta(*row[1:])
