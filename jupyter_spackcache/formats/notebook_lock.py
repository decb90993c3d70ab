"""The project's own notebook lock: the exact builds a notebook used, as a JSON document.

``%spack lock`` writes it beside the notebook and JupyterLab keeps it in the notebook's metadata
(``metadata.spackcache.lock``); ``spackcache install --from`` and ``lock export --from`` read it
too. Parse and render side by side; nothing here opens a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

LOCK_FORMAT = "jupyter-spackcache-lock"
LOCK_VERSION = 1
#: ``metadata[METADATA_KEY]["lock"]`` of a notebook holds its lock (written by the labextension)
METADATA_KEY = "spackcache"


@dataclass(frozen=True, slots=True)
class LockedNode:
    name: str
    version: str
    hash: str
    target: str
    mirror: str | None
    #: requested by the notebook (not only a dependency)
    root: bool


@dataclass(frozen=True, slots=True)
class NotebookLock:
    nodes: tuple[LockedNode, ...]
    #: (name, url) of the mirrors the builds came from
    mirrors: tuple[tuple[str, str], ...]
    #: the host the lock was made on: "platform-os-target"
    host: str
    created: float

    @property
    def roots(self) -> tuple[LockedNode, ...]:
        return tuple(n for n in self.nodes if n.root)


def lock_to_json(lock: NotebookLock) -> dict[str, Any]:
    return {
        "format": LOCK_FORMAT,
        "version": LOCK_VERSION,
        "created": lock.created,
        "host": lock.host,
        "mirrors": [{"name": n, "url": u} for n, u in lock.mirrors],
        "nodes": [
            {
                "name": n.name,
                "version": n.version,
                "hash": n.hash,
                "target": n.target,
                "mirror": n.mirror,
                "root": n.root,
            }
            for n in lock.nodes
        ],
    }


def lock_from_json(doc: Any, source: str) -> NotebookLock:
    """Parse a lock document; a one-line error naming ``source`` when it is not one."""
    if not isinstance(doc, dict) or doc.get("format") != LOCK_FORMAT:
        raise ConfigError(f"{source} is not a jupyter-spackcache lock")
    if doc.get("version") != LOCK_VERSION:
        raise ConfigError(
            f"{source} has lock version {doc.get('version')!r}; this version reads {LOCK_VERSION}",
            hint="upgrade jupyter-spackcache",
        )
    try:
        nodes = tuple(
            LockedNode(
                str(n["name"]),
                str(n["version"]),
                str(n["hash"]),
                str(n["target"]),
                n.get("mirror"),
                bool(n.get("root")),
            )
            for n in doc["nodes"]
        )
        mirrors = tuple((str(m["name"]), str(m["url"])) for m in doc.get("mirrors", ()))
        return NotebookLock(nodes, mirrors, str(doc.get("host", "")), float(doc.get("created", 0)))
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{source} is damaged: missing or bad field {exc}") from None


def lock_in_notebook(doc: Any, source: str) -> NotebookLock | None:
    """The lock kept in a notebook document's metadata, or None when it has none."""
    metadata = doc.get("metadata") if isinstance(doc, dict) else None
    kept = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
    if not isinstance(kept, dict) or "lock" not in kept:
        return None
    return lock_from_json(kept["lock"], f"the metadata of {source}")
