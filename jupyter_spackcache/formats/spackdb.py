"""Spack's install database (``<root>/.spack-db/index.json``, DB version 8), rendered.

An install tree that spackcache filled can serve as an *upstream* — for other spackcache users
and for real Spack 1.x (``upstreams.yaml``) — only if it carries the database Spack would have
written (buildcache-format.md §8). The rules, as Spack's ``Database._add`` applies them:

* every node of an installed DAG is recorded, following every dependency type (Spack tracks
  what the DAG hash covers, build dependencies included); a build-only dependency that was
  never installed is recorded with ``installed: false``;
* an external is recorded as installed at its external path (``null`` when it has none);
* ``ref_count`` counts the recorded dependents of a node;
* each record is ``spec`` (the node dict with its ``hash``, dependencies by hash), ``ref_count``,
  ``path``, ``installed``, ``explicit``, ``installation_time``, ``deprecated_for``.

Reading the same format is :mod:`.indexstream`'s job (it parses binary indices too).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: the database version Spack 1.x writes and reads
DB_VERSION = "8"


@dataclass(frozen=True, slots=True)
class Installed:
    """One package installed in the tree: its DAG's spec-file document and its prefix."""

    spec: Mapping[str, Any]
    hash: str
    path: str
    explicit: bool
    installation_time: float


def database_records(
    installs: Iterable[Installed], *, path_for: Callable[[Mapping[str, Any]], str | None]
) -> dict[str, dict[str, Any]]:
    """The ``installs`` mapping of the database: a record per node, keyed by DAG hash.

    ``path_for(node)`` is where a node that is not installed would go (Spack records the
    layout's path even then).
    """
    nodes: dict[str, Mapping[str, Any]] = {}
    installed: dict[str, Installed] = {}
    for item in installs:
        installed[item.hash] = item
        for node in _nodes(item.spec):
            nodes.setdefault(str(node["hash"]), node)
    recorded = _closure(installed, nodes)
    dependents: dict[str, set[str]] = {h: set() for h in recorded}
    first_seen: dict[str, float] = {}
    for parent in recorded:
        for child in _dependency_hashes(nodes[parent]):
            if child in dependents:
                dependents[child].add(parent)
    for h in sorted(installed, key=lambda k: installed[k].installation_time):
        for child in _reachable(h, nodes):
            first_seen.setdefault(child, installed[h].installation_time)
    out: dict[str, dict[str, Any]] = {}
    for h in recorded:
        node = nodes[h]
        external = node.get("external")
        path: str | None
        if h in installed:
            item = installed[h]
            path, done, explicit, when = item.path, True, item.explicit, item.installation_time
        elif isinstance(external, Mapping):
            path, done, explicit, when = external.get("path"), True, False, first_seen[h]
        else:
            path, done, explicit, when = path_for(node), False, False, first_seen[h]
        out[h] = {
            "spec": dict(node),
            "ref_count": len(dependents[h]),
            "path": path,
            "installed": done,
            "explicit": explicit,
            "installation_time": when,
            "deprecated_for": None,
        }
    return out


def render_database(records: Mapping[str, Mapping[str, Any]]) -> bytes:
    """The bytes of ``index.json``: ``{"database": {"version": "8", "installs": {...}}}``."""
    doc = {"database": {"version": DB_VERSION, "installs": dict(records)}}
    return json.dumps(doc, separators=(",", ":")).encode()


def _nodes(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    inner = spec.get("spec", spec)
    listed = inner.get("nodes", []) if isinstance(inner, Mapping) else []
    return [n for n in listed if isinstance(n, Mapping) and "hash" in n]


def _dependency_hashes(node: Mapping[str, Any]) -> list[str]:
    return [str(d["hash"]) for d in node.get("dependencies", ()) or () if "hash" in d]


def _reachable(root: str, nodes: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """``root`` and everything it depends on, by any dependency type (iterative: no depth
    limit from the input)."""
    seen: dict[str, None] = {}
    stack = [root]
    while stack:
        h = stack.pop()
        if h in seen or h not in nodes:
            continue
        seen[h] = None
        stack.extend(_dependency_hashes(nodes[h]))
    return list(seen)


def _closure(
    installed: Mapping[str, Installed], nodes: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    out: dict[str, None] = {}
    for h in installed:
        for child in _reachable(h, nodes):
            out.setdefault(child, None)
    return list(out)
