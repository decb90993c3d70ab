"""The local install store: prefix layout, the installed-nodes database, and per-node locks."""

from .db import InstalledRecord, InstalledSource, StoreDB, default_db_path
from .layout import StoreLayout, projection
from .lock import FileLock, NodeLock, StoreLock

__all__ = [
    "FileLock",
    "InstalledRecord",
    "InstalledSource",
    "NodeLock",
    "StoreDB",
    "StoreLayout",
    "StoreLock",
    "default_db_path",
    "projection",
]
