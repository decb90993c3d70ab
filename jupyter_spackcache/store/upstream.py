"""A read-only upstream Spack store: reused, never written.

HPC sites often keep a shared Spack install tree (``/apps/spack/opt`` with its
``.spack-db/index.json``). Packages installed there are *reuse* in plans: the resolver may pick
them, dependents are relocated to point at their prefixes, and nothing is ever written to the
upstream tree or its database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ConfigError, MirrorError
from ..formats.indexstream import IndexHeader, iter_index_records
from ..spec.concrete import ConcreteDAG, ConcreteNode

DB_FILE = Path(".spack-db") / "index.json"


class UpstreamStore:
    """One upstream tree, as a :class:`~jupyter_spackcache.resolve.NodeSource`.

    The database is read once, lazily, with the same streaming parser as binary indices (an
    upstream DB is the same format, with ``path``/``installed`` instead of ``in_buildcache``).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.name = f"upstream:{self.root}"
        self._nodes: dict[str, ConcreteNode] | None = None
        self._paths: dict[str, str] = {}
        self._by_name: dict[str, list[str]] | None = None

    # ---- NodeSource -----------------------------------------------------------------------

    def hashes_named(self, name: str) -> list[str]:
        if self._by_name is None:
            by_name: dict[str, list[str]] = {}
            for h, n in sorted(self._load().items()):
                by_name.setdefault(n.name, []).append(h)
            self._by_name = by_name
        return [h for h in self._by_name.get(name, ()) if self.has(h)]

    def hashes_with_prefix(self, prefix: str) -> list[str]:
        return sorted(h for h in self._load() if h.startswith(prefix) and self.has(h))

    def node(self, dag_hash: str) -> ConcreteNode | None:
        return self._load().get(dag_hash)

    def in_buildcache(self, dag_hash: str) -> bool:
        """Installed upstream (so usable as is); externals count through their own check."""
        return dag_hash in self._paths

    def dag(self, root_hash: str) -> ConcreteDAG:
        nodes = self._load()
        found: dict[str, ConcreteNode] = {}
        stack = [root_hash]
        while stack:
            h = stack.pop()
            node = nodes.get(h)
            if node is None or h in found:
                continue
            found[h] = node
            stack.extend(e.hash for e in node.edges)
        return ConcreteDAG(root_hash, found)

    def names(self) -> list[str]:
        return sorted({n.name for h, n in self._load().items() if self.has(h)})

    # ---- what the installer needs --------------------------------------------------------

    def has(self, dag_hash: str) -> bool:
        """An installed, non-external package of this tree."""
        node = self._load().get(dag_hash)
        return node is not None and not node.is_external and dag_hash in self._paths

    def prefix(self, dag_hash: str) -> str | None:
        self._load()
        return self._paths.get(dag_hash)

    # ---- reading ---------------------------------------------------------------------------

    def _load(self) -> dict[str, ConcreteNode]:
        if self._nodes is None:
            self._nodes = self._read()
        return self._nodes

    def _read(self) -> dict[str, ConcreteNode]:
        from ..formats.specfile import decode_index_record

        path = self.root / DB_FILE
        try:
            stream = path.open("rb")
        except OSError as exc:
            raise ConfigError(
                f"upstream store {self.root} has no readable Spack database ({path}: "
                f"{exc.strerror or exc})",
                hint="point 'upstreams' at the root of a Spack install tree (the directory "
                "holding .spack-db/)",
            ) from None
        header = IndexHeader()
        raw: list[tuple[str, dict[str, Any]]] = []
        with stream:
            try:
                raw = list(iter_index_records(stream, header))
            except MirrorError as exc:
                raise ConfigError(
                    f"upstream store {self.root}: {exc.message.replace('binary index', 'database')}"
                ) from None
        version = header.version or "8"
        nodes: dict[str, ConcreteNode] = {}
        for dag_hash, record in raw:
            spec = record.get("spec")
            if not isinstance(spec, dict):
                continue
            try:
                node = decode_index_record(spec, version)
            except (MirrorError, KeyError, TypeError, ValueError):
                continue  # one odd record must not hide the rest of a shared tree
            nodes[dag_hash] = node
            where = record.get("path")
            if record.get("installed") and isinstance(where, str) and where:
                self._paths[dag_hash] = where
        return nodes
