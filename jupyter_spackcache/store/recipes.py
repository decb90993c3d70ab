"""Package descriptions from the recipe snapshots in installed prefixes.

A description is only ever known locally: from the ``package.py`` Spack left in the prefix of
an installed build (here or in an upstream tree). A prefix's snapshot never changes while the
prefix exists, so what was read is kept for the life of the process, found or not: listing
hundreds of installed packages reads each file once.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..formats.recipe import MAX_RECIPE_BYTES, REPOS_DIR, recipe_description, recipe_paths

if TYPE_CHECKING:
    from .db import InstalledRecord, StoreDB
    from .upstream import UpstreamStore

#: prefixes remembered at most (each entry is a path and a line of text)
_MEMO_SIZE = 20_000
_memo: dict[tuple[str, str, str | None], str | None] = {}
_guard = threading.Lock()


def description_at(prefix: str | Path, package: str, namespace: str | None) -> str | None:
    """The description in the recipe snapshot of ``package`` under ``prefix`` (None: none)."""
    key = (str(prefix), package, namespace)
    with _guard:
        if key in _memo:
            return _memo[key]
    found = _read(Path(prefix), package, namespace)
    with _guard:
        if len(_memo) >= _MEMO_SIZE:
            _memo.clear()
        _memo[key] = found
    return found


def record_description(record: InstalledRecord) -> str | None:
    return description_at(record.prefix, record.name, record.node.namespace)


def descriptions_named(
    names: Iterable[str], *, store: StoreDB, upstreams: Sequence[UpstreamStore] = ()
) -> dict[str, str]:
    """A description for each of ``names`` that some installed build of it (any version, here
    first, then in the upstream trees) has; names without one are left out."""
    wanted = list(dict.fromkeys(names))
    out: dict[str, str] = {}
    for name, prefix, namespace in store.locations(wanted):
        if name not in out:
            found = description_at(prefix, name, namespace)
            if found is not None:
                out[name] = found
    for upstream in upstreams:
        for name in wanted:
            if name in out:
                continue
            for dag_hash in upstream.hashes_named(name):
                where, node = upstream.prefix(dag_hash), upstream.node(dag_hash)
                if where is None or node is None:
                    continue
                found = description_at(where, name, node.namespace)
                if found is not None:
                    out[name] = found
                    break
    return out


def _read(prefix: Path, package: str, namespace: str | None) -> str | None:
    for path in _candidates(prefix, package, namespace):
        data = _regular_file(path, prefix)
        if data is not None:
            return recipe_description(data.decode("utf-8", errors="replace"), package)
    return None


def _regular_file(path: Path, prefix: Path) -> bytes | None:
    """The head of ``path`` if it is a regular file inside ``prefix``. A prefix comes from a
    tarball someone else made: a snapshot that is a symlink out of it, or a FIFO that would
    block the server forever, is not read."""
    try:
        if not os.path.realpath(path).startswith(os.path.realpath(prefix) + os.sep):
            return None
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        try:
            return fh.read(MAX_RECIPE_BYTES)
        except OSError:
            return None


def _candidates(prefix: Path, package: str, namespace: str | None) -> list[Path]:
    """The layouts' paths for the node's own namespace, then any namespace (a build whose
    recorded namespace differs from the directory its snapshot went into)."""
    paths = [prefix / p for p in recipe_paths(package, namespace)]
    repos = prefix / REPOS_DIR
    v2, v1 = (p.parent.name for p in paths)
    for pattern in (f"*/packages/{v1}/package.py", f"spack_repo/**/packages/{v2}/package.py"):
        paths += sorted(repos.glob(pattern))
    return paths
