"""Spack spec-file format 5: node dicts, DAG hashes and whole spec files.

We only ever *write* concrete specs here (for the demo stack and for pushing), so a node is
built from plain values in the key order Spack itself uses. The DAG hash follows Spack's idea
(base32 of SHA-1 over the node without its own hash, dependencies referenced by hash) but is
not meant to be bit-identical with Spack: readers must trust stored hashes, never recompute.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: spec-file format we write (``spec._meta.version``)
SPECFILE_FORMAT = 5
#: value Spack 1.x still puts into v3 spec blobs (kept for OCI compatibility)
SPEC_BLOB_LAYOUT_VERSION = 2
#: Spack always writes these compiler-flag keys into ``parameters``, after the variants
FLAG_KEYS = ("cflags", "cppflags", "cxxflags", "fflags", "ldflags", "ldlibs")
_DEPTYPE_ORDER = ("build", "link", "run", "test")

#: (name, hash, deptypes, virtuals) -- one dependency edge as given to :func:`make_node`
DepEdge = tuple[str, str, Sequence[str], Sequence[str]]


def dag_hash(node: Mapping[str, Any]) -> str:
    """32 lowercase base32 characters identifying ``node`` and, through hashes, its deps."""
    body = {key: value for key, value in node.items() if key != "hash"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha1(text.encode("utf-8")).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:32]


def package_hash(recipe: bytes) -> str:
    """A recipe fingerprint shaped like Spack's ``package_hash`` (base32 sha256, padded)."""
    return base64.b32encode(hashlib.sha256(recipe).digest()).decode("ascii").lower()


def _dependency(edge: DepEdge) -> dict[str, Any]:
    name, dep_hash, deptypes, virtuals = edge
    unknown = set(deptypes) - set(_DEPTYPE_ORDER)
    if unknown or not deptypes:
        raise ValueError(f"bad dependency types for {name}: {sorted(deptypes)}")
    ordered = [t for t in _DEPTYPE_ORDER if t in deptypes]
    return {
        "name": name,
        "hash": dep_hash,
        "parameters": {"deptypes": ordered, "virtuals": sorted(virtuals)},
    }


def make_node(
    name: str,
    version: str,
    *,
    platform: str,
    os: str,
    target: str | Mapping[str, Any],
    variants: Mapping[str, Any] | None = None,
    deps: Iterable[DepEdge] = (),
    namespace: str = "builtin",
    external: str | None = None,
    external_attributes: Mapping[str, Any] | None = None,
    recipe_hash: str | None = None,
) -> dict[str, Any]:
    """A complete concrete format-5 node dict, including its ``hash`` (always the last key)."""
    params: dict[str, Any] = dict(sorted((variants or {"build_system": "generic"}).items()))
    for flag in FLAG_KEYS:
        params.setdefault(flag, [])
    node: dict[str, Any] = {
        "name": name,
        "version": version,
        "arch": {"platform": platform, "platform_os": os, "target": target},
        "namespace": namespace,
        "parameters": params,
    }
    if external is not None:
        node["external"] = {
            "path": external,
            "module": None,
            "extra_attributes": dict(external_attributes or {}),
        }
    if recipe_hash is not None:
        node["package_hash"] = recipe_hash
    edges = sorted((_dependency(e) for e in deps), key=lambda d: (d["name"], d["hash"]))
    if edges:
        node["dependencies"] = edges
    node["annotations"] = {"original_specfile_version": SPECFILE_FORMAT}
    node["hash"] = dag_hash(node)
    return node


def dag_closure(
    root: Mapping[str, Any], pool: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """``root`` and every node it reaches (all edge types) in pre-order, each once.

    This is the node order of a Spack spec file: root first, then dependencies depth-first
    in the (name-sorted) order of the ``dependencies`` lists.
    """
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    stack: list[Mapping[str, Any]] = [root]
    while stack:
        node = stack.pop()
        if node["hash"] in seen:
            continue
        seen.add(node["hash"])
        out.append(dict(node))
        children = [pool[d["hash"]] for d in node.get("dependencies", ())]
        stack.extend(reversed(children))
    return out


def make_specfile(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    """A buildcache spec file (the v3 spec blob payload); ``nodes[0]`` is the root."""
    if not nodes:
        raise ValueError("a spec file needs at least its root node")
    return {
        "spec": {"_meta": {"version": SPECFILE_FORMAT}, "nodes": nodes},
        "buildcache_layout_version": SPEC_BLOB_LAYOUT_VERSION,
    }


def root_node(specfile: Mapping[str, Any]) -> Mapping[str, Any]:
    """The root node of a spec file (format >= 2), with a clear error for anything else."""
    try:
        nodes = specfile["spec"]["nodes"]
        root: Mapping[str, Any] = nodes[0]
        root["name"], root["version"], root["hash"]
    except (KeyError, IndexError, TypeError) as exc:
        raise ValueError("not a spec file: expected spec.nodes[0] with name/version/hash") from exc
    return root
