"""Write an install root's Spack database, so the tree can be an upstream.

Admins build the site tree with spackcache (``SPACKCACHE_INSTALL_ROOT=/opt/site spackcache
install ...``) and then ``spackcache spack-db`` writes ``/opt/site/.spack-db/index.json``; other
users list ``/opt/site`` under ``upstreams``, and real Spack 1.x can list it in
``upstreams.yaml``. The write follows Spack's protocol (buildcache-format.md §8): an ``fcntl``
lock on ``.spack-db/lock``, a temporary file renamed over ``index.json``, a fresh UUID in
``index_verifier`` so readers notice the change.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import SpackCacheError
from ..formats.spackdb import Installed, database_records, render_database
from .db import InstalledRecord, StoreDB
from .layout import projection
from .lock import FileLock

DB_DIR = ".spack-db"


def write_spack_db(root: Path, records: Iterable[InstalledRecord]) -> Path:
    """Write ``root/.spack-db/index.json`` for ``records`` (those installed in ``root``)."""
    from ..formats.specfile import decode_index_record

    def path_for(node: Mapping[str, Any]) -> str | None:
        try:
            return str(root / projection(decode_index_record(dict(node), "8")))
        except (SpackCacheError, KeyError, TypeError, ValueError):
            return None  # an odd node still gets a record, as Spack gives it one

    installs = [
        Installed(r.spec, r.hash, r.prefix, r.explicit, r.installed_at)
        for r in records
        if Path(r.root) == root
    ]
    data = render_database(database_records(installs, path_for=path_for))
    db_dir = root / DB_DIR
    db_dir.mkdir(parents=True, exist_ok=True)
    index = db_dir / "index.json"
    with FileLock(db_dir / "lock"):
        temp = db_dir / f"index.json.{socket.gethostname()}.{os.getpid()}.temp"
        try:
            temp.write_bytes(data)
            os.replace(temp, index)
        finally:
            temp.unlink(missing_ok=True)
        (db_dir / "index_verifier").write_text(str(uuid.uuid4()))
    return index


def refresh_spack_db(root: Path, store: StoreDB) -> str | None:
    """Rewrite ``root``'s Spack database if it has one (a tree made into an upstream stays
    current after each install and uninstall); a warning when that failed, else None."""
    if not (root / DB_DIR / "index.json").is_file():
        return None
    try:
        write_spack_db(root, store.installed(root))
    except (OSError, SpackCacheError) as exc:
        return f"the Spack database of {root} was not updated: {exc}"
    return None
