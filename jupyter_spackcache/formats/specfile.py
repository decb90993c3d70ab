"""Decode Spack's JSON spec files and index records into concrete values.

One decoder covers spec formats 1-5 (Spack 0.13 to 1.x): the node dicts differ only in a few
places, so :func:`decode_node` reads what is there instead of branching per version:

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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
