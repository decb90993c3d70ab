"""Spack's JSON spec files and index records: decoding every format, encoding format 5.

Decoding: one decoder covers spec formats 1-5 (Spack 0.13 to 1.x): the node dicts differ only in
a few places, so :func:`decode_node` reads what is there instead of branching per version:

* target: a plain string (generic targets) or a dict with a ``name``
* compiler: a ``compiler`` attribute up to format 4; in format 5 compilers are dependency
  nodes, except nodes converted from format 4, which keep ``annotations.compiler``
* dependencies: a dict ``{name: {hash, type}}`` (format 1), a list with ``type`` (2, 3) or with
  ``parameters.deptypes/virtuals/direct`` (4, 5)

Formats 1 and 2 sometimes point at dependencies by their *build* hash rather than the DAG
hash; :func:`decode_specfile` re-links those edges so that ``ConcreteDAG.nodes`` is keyed and
linked by the DAG hash throughout.

Decoding runs once per node of a public index (tens of thousands): no regular expressions,
no copies of the input dicts, and exceptions only for malformed input.

Encoding: we only ever *write* concrete specs (for the demo stack and for pushing), so a node
is built from plain values in the key order Spack itself uses. The DAG hash follows Spack's
idea (base32 of SHA-1 over the node without its own hash, dependencies referenced by hash) but
is not meant to be bit-identical with Spack: readers must trust stored hashes, never recompute.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from jupyter_spackcache.errors import MirrorError
from jupyter_spackcache.spec.abstract import FLAG_NAMES
from jupyter_spackcache.spec.concrete import ConcreteDAG, ConcreteNode, Edge, VariantValue

#: database (index.json) version -> spec format of the node dicts inside it
DB_TO_SPEC_VERSION = {5: 1, 6: 3, 7: 4, 8: 5}
LATEST_SPEC_VERSION = 5

#: very old dependency entries carry no types; Spack treated them as build+link
_DEFAULT_DEPTYPES = ("build", "link")
_HASH_KEYS = ("hash", "build_hash", "full_hash")

_deptype_sets: dict[tuple[str, ...], frozenset[str]] = {}


def _deptypes(types: Sequence[str] | str | None) -> frozenset[str]:
    """A shared frozenset per distinct list: an index has only a handful of them."""
    key = (types,) if isinstance(types, str) else tuple(types or _DEFAULT_DEPTYPES)
    found = _deptype_sets.get(key)
    if found is None:
        found = _deptype_sets[key] = frozenset(key)
    return found


def _malformed(what: str) -> MirrorError:
    return MirrorError(
        f"malformed spec data: {what}",
        hint="the mirror or file may be corrupt, or written by an unsupported Spack",
    )


def specfile_version(doc: Mapping[str, Any]) -> int:
    """Spec format (1-5) of a decoded spec file document."""
    spec = doc.get("spec")
    if isinstance(spec, list):
        return 1
    if not isinstance(spec, dict):
        raise _malformed("no 'spec' object at the top level")
    try:
        version = int(spec["_meta"]["version"])
    except (KeyError, TypeError, ValueError):
        raise _malformed("missing or invalid spec._meta.version") from None
    if not 1 <= version <= LATEST_SPEC_VERSION:
        raise MirrorError(
            f"spec format {version} is not supported (this client reads 1-5)",
            hint="upgrade jupyter-spackcache",
        )
    return version


def spec_version_for_db(db_version: int | str) -> int:
    """Spec format of the node dicts in a database / binary index of ``db_version``."""
    try:
        number = int(db_version)
    except (TypeError, ValueError):
        number = -1
    found = DB_TO_SPEC_VERSION.get(number)
    if found is None:
        raise MirrorError(
            f"binary index database version {db_version} is not supported (5-8 are)",
            hint="upgrade jupyter-spackcache" if number > 8 else "reindex the mirror",
        )
    return found


def _variants(params: Mapping[str, Any] | None) -> tuple[tuple[str, VariantValue], ...]:
    if not params:
        return ()
    out: list[tuple[str, VariantValue]] = []
    for key, value in params.items():
        cls = type(value)
        if cls is bool or cls is str:  # most values: an identity test is cheaper than isinstance
            out.append((key, value))
        elif isinstance(value, list):
            if not value and key in FLAG_NAMES:
                continue  # always-present empty compiler flags carry no information
            out.append((key, tuple(map(str, value))))
        elif isinstance(value, bool | str):
            out.append((key, value))
        else:
            out.append((key, str(value)))
    out.sort()
    return tuple(out)


def _edges(deps: Any) -> tuple[Edge, ...]:
    if not deps:
        return ()
    edges: list[Edge] = []
    if isinstance(deps, dict):  # format 1: {name: {"hash": ..., "type": [...]}}
        for name, info in deps.items():
            edges.append(Edge(name, _dep_hash(info), _deptypes(info.get("type"))))
        return tuple(edges)
    for info in deps:
        params = info.get("parameters")
        if params is not None:  # formats 4 and 5
            edges.append(
                Edge(
                    info["name"],
                    info["hash"],
                    _deptypes(params.get("deptypes")),
                    tuple(params.get("virtuals") or ()),
                    bool(params.get("direct", False)),
                )
            )
        else:  # formats 2 and 3
            edges.append(Edge(info["name"], _dep_hash(info), _deptypes(info.get("type"))))
    return tuple(edges)


def _dep_hash(info: Mapping[str, Any]) -> str:
    for key in _HASH_KEYS:
        value = info.get(key)
        if value:
            return str(value)
    raise _malformed("dependency without a hash")


def _compiler(body: Mapping[str, Any]) -> tuple[str, str] | None:
    compiler = body.get("compiler")
    if compiler is not None:
        if isinstance(compiler, dict):
            version = compiler.get("version") or compiler.get("versions") or ""
            if isinstance(version, list):
                version = version[0] if version else ""
            return str(compiler.get("name", "")), str(version).lstrip("=")
        return None
    annotations = body.get("annotations")
    text = annotations.get("compiler") if annotations else None
    if not text:
        return None
    name, _, version = str(text).partition("@")
    return name, version.lstrip("=")


def _external(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return str(value.get("path") or "")
    return str(value)


def decode_node(d: Mapping[str, Any], spec_version: int) -> ConcreteNode:
    """One node dict (any format) as a :class:`ConcreteNode`.

    Format 1 nodes may be given wrapped (``{name: {...}}``, as in v1 lists and DB 5) or bare.
    """
    try:
        if "name" in d:
            body, name = d, d["name"]
        elif len(d) == 1:
            ((name, body),) = d.items()
        else:
            raise _malformed("node without a name")
        arch = body.get("arch") or {}
        target = arch.get("target") or ""
        if not isinstance(target, str):
            target = target["name"]
        annotations = body.get("annotations")
        original = annotations.get("original_specfile_version") if annotations else None
        return ConcreteNode(
            name=name,
            version=str(body["version"]),
            hash=body.get("hash") or body.get("full_hash") or body.get("build_hash") or "",
            platform=arch.get("platform") or "",
            os=arch.get("platform_os") or "",
            target=target,
            namespace=body.get("namespace") or "builtin",
            variants=_variants(body.get("parameters")),
            compiler=_compiler(body),
            edges=_edges(body.get("dependencies")),
            external=_external(body.get("external")),
            spec_version=int(original) if original else spec_version,
        )
    except MirrorError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        shown = d.get("name") if isinstance(d, Mapping) else None
        raise _malformed(f"node {shown or '?'}: {type(exc).__name__} {exc}") from None


def decode_index_record(spec_dict: Mapping[str, Any], db_version: int | str) -> ConcreteNode:
    """A node from a binary index or install database record's ``spec`` field."""
    return decode_node(spec_dict, spec_version_for_db(db_version))


def _relink(nodes: list[ConcreteNode], raw: Sequence[Mapping[str, Any]]) -> list[ConcreteNode]:
    """Point edges at DAG hashes where old formats used build hashes (or names, format 1)."""
    by_hash = {n.hash for n in nodes}
    if all(e.hash in by_hash for n in nodes for e in n.edges):
        return nodes
    alias: dict[str, str] = {}
    for node, item in zip(nodes, raw, strict=True):
        body = item if "name" in item else next(iter(item.values()))
        for key in ("build_hash", "full_hash"):
            value = body.get(key)
            if value:
                alias.setdefault(value, node.hash)
    by_name = {n.name: n.hash for n in nodes}
    out = []
    for node in nodes:
        edges = tuple(
            e if e.hash in by_hash else _moved(e, alias.get(e.hash) or by_name.get(e.name))
            for e in node.edges
        )
        out.append(node if edges == node.edges else _with_edges(node, edges))
    return out


def _moved(edge: Edge, new_hash: str | None) -> Edge:
    if new_hash is None:
        return edge
    return Edge(edge.name, new_hash, edge.deptypes, edge.virtuals, edge.direct)


def _with_edges(node: ConcreteNode, edges: tuple[Edge, ...]) -> ConcreteNode:
    return replace(node, edges=edges)


def decode_specfile(doc: Mapping[str, Any]) -> ConcreteDAG:
    """A whole spec file (``*.spec.json`` document, already JSON-decoded) as a DAG."""
    version = specfile_version(doc)
    spec = doc["spec"]
    raw = spec if version == 1 else spec.get("nodes")
    if not raw or not isinstance(raw, list):
        raise _malformed("spec file has no nodes")
    nodes = _relink([decode_node(item, version) for item in raw], raw)
    return ConcreteDAG(root_hash=nodes[0].hash, nodes={n.hash: n for n in nodes})


# ---- encoding (format 5) ------------------------------------------------------------------

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
