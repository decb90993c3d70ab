"""Spack environments as values: ``spack.lock`` (lockfile versions 5 and 6) and ``spack.yaml``.

A ``spack.lock`` is how a group shares an exact software stack: its ``roots`` name DAG hashes,
and ``concrete_specs`` maps every DAG hash of the environment (build-only dependencies included)
to the spec-file node Spack concretized. Spack 1.x reads lockfile version 5 with its spec-format-4
reader and version 6 with its format-5 reader, so the node dicts we *write* decide the version:
a node still carrying the pre-1.0 ``compiler`` attribute (and no ``annotations``) can only be read
as version 5. Nodes are kept as the plain dicts that were signed, never re-rendered, so an
exported lock holds exactly what the mirror published.

``spack.yaml`` is the abstract side: its ``specs:`` list is all a binary cache client can act
on; every other section (views, concretizer, packages, ...) is reported, not obeyed.

Parse and render live side by side; nothing here opens a file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..errors import EnvFileError

#: ``_meta.file-type`` of a Spack lockfile
LOCKFILE_TYPE = "spack-lockfile"
#: lockfile versions Spack 1.x writes and we read
LOCKFILE_VERSIONS = (5, 6)
#: spec-file format Spack reads the nodes of each lockfile version with
SPECFILE_FOR_LOCKFILE = {5: 4, 6: 5}
#: the top-level key of included concrete environments (lockfile version 5 and later)
INCLUDE_CONCRETE = "include_concrete"
#: the ``spack.yaml`` sections a binary cache install acts on
MANIFEST_USED = ("specs",)


@dataclass(frozen=True, slots=True)
class LockRoot:
    """One root of an environment: the user's spec as written, and its concrete DAG hash."""

    hash: str
    spec: str


@dataclass(frozen=True, slots=True)
class SpackLock:
    """A parsed ``spack.lock``; included environments are flattened into ``roots``/``nodes``."""

    version: int
    roots: tuple[LockRoot, ...]
    #: DAG hash -> the node dict as written (unchanged, own ``hash`` included)
    nodes: Mapping[str, Mapping[str, Any]] = field(repr=False)
    #: paths of the included concrete environments whose roots were merged in
    included: tuple[str, ...] = ()

    def dependencies(self, dag_hash: str) -> Iterator[tuple[str, tuple[str, ...]]]:
        """(hash, deptypes) of each dependency edge of a node."""
        for dep in self.nodes[dag_hash].get("dependencies", ()):
            yield dep["hash"], _deptypes(dep)

    def closure(self, roots: Iterable[str], *, deptypes: frozenset[str] | None = None) -> list[str]:
        """Hashes reachable from ``roots`` (all edges, or only those of ``deptypes``), roots
        first, each once."""
        seen: dict[str, None] = {}
        stack = list(reversed(list(roots)))
        while stack:
            h = stack.pop()
            if h in seen:
                continue
            seen[h] = None
            for child, types in reversed(list(self.dependencies(h))):
                if deptypes is None or not deptypes.isdisjoint(types):
                    stack.append(child)
        return list(seen)


@dataclass(frozen=True, slots=True)
class SpackManifest:
    """What a binary install takes from a ``spack.yaml``: its specs, and what it ignored."""

    specs: tuple[str, ...]
    #: (section, line) of each top-level section under ``spack:`` that is not acted on
    ignored: tuple[tuple[str, int], ...] = ()


# ---- spack.lock ---------------------------------------------------------------------------------


def looks_like_spack_lock(doc: Any) -> bool:
    """A JSON document that claims to be a Spack lockfile (by its meta data or its shape)."""
    if not isinstance(doc, dict):
        return False
    meta = doc.get("_meta")
    if isinstance(meta, dict) and (
        meta.get("file-type") == LOCKFILE_TYPE or "lockfile-version" in meta
    ):
        return True
    return "roots" in doc and "concrete_specs" in doc


def parse_spack_lock(doc: Any, source: str) -> SpackLock:
    """Check a decoded ``spack.lock`` the way Spack 1.x reads it, and return its values.

    Every root and every dependency edge must name a node present in ``concrete_specs`` (Spack
    fails on a dangling one), and a version-6 node must not carry the legacy ``compiler``
    attribute (Spack's format-5 reader refuses it).
    """
    if not isinstance(doc, dict):
        raise EnvFileError(f"{source} is not a Spack lockfile: expected a JSON object")
    meta = doc.get("_meta")
    version = meta.get("lockfile-version") if isinstance(meta, dict) else None
    if not isinstance(version, int) or isinstance(version, bool):
        raise EnvFileError(f"{source} is not a Spack lockfile: no _meta.lockfile-version")
    if version not in LOCKFILE_VERSIONS:
        raise EnvFileError(
            f"{source} is a version {version} Spack lockfile; this reads versions "
            f"{LOCKFILE_VERSIONS[0]} and {LOCKFILE_VERSIONS[-1]} (Spack 0.22 to 1.x)",
            hint="re-concretize it with Spack 1.x (`spack -e ENV concretize -f`)",
        )
    roots, nodes = _lock_body(doc, source, version)
    included: list[str] = []
    _include(doc.get(INCLUDE_CONCRETE), source, version, roots, nodes, included)
    for i, root in enumerate(roots):  # included roots may use nodes of other included envs
        if root.hash not in nodes:
            raise EnvFileError(
                f"{source}: root {root.spec or '?'} /{root.hash} is not in concrete_specs"
            )
        roots[i] = LockRoot(root.hash, root.spec or str(nodes[root.hash]["name"]))
    for dag_hash in nodes:
        for dep in _dependency_hashes(nodes[dag_hash], f"{source}: node {dag_hash}"):
            if dep not in nodes:
                raise EnvFileError(
                    f"{source}: node {_label(nodes[dag_hash], dag_hash)} depends on {dep}, "
                    "which is not in concrete_specs"
                )
    if not roots:
        raise EnvFileError(
            f"{source} has no roots: the environment was never concretized",
            hint="run `spack -e ENV concretize` first",
        )
    return SpackLock(version, tuple(roots), nodes, tuple(included))


def _lock_body(
    doc: Mapping[str, Any], source: str, version: int
) -> tuple[list[LockRoot], dict[str, Mapping[str, Any]]]:
    raw_roots, raw_nodes = doc.get("roots"), doc.get("concrete_specs")
    if not isinstance(raw_roots, list) or not isinstance(raw_nodes, dict):
        raise EnvFileError(
            f"{source} is damaged: 'roots' must be a list and 'concrete_specs' an object"
        )
    nodes: dict[str, Mapping[str, Any]] = {}
    for key, node in raw_nodes.items():
        where = f"{source}: concrete_specs[{key!r}]"
        if not isinstance(node, dict) or not isinstance(node.get("name"), str):
            raise EnvFileError(f"{where} is not a spec node (no name)")
        if node.get("hash", key) != key:
            raise EnvFileError(f"{where} carries the hash {node.get('hash')!r}")
        if version >= 6 and "compiler" in node and "annotations" not in node:
            raise EnvFileError(
                f"{where} has the pre-1.0 'compiler' attribute, which a version {version} "
                "lockfile cannot hold",
                hint="the file was edited by hand or written by another tool",
            )
        nodes[key] = node
    roots: list[LockRoot] = []
    for i, root in enumerate(raw_roots):
        if not isinstance(root, dict) or not isinstance(root.get("hash"), str):
            raise EnvFileError(f"{source}: roots[{i}] has no hash")
        roots.append(LockRoot(root["hash"], str(root.get("spec") or "")))
    return roots, nodes


def _include(
    raw: Any,
    source: str,
    version: int,
    roots: list[LockRoot],
    nodes: dict[str, Mapping[str, Any]],
    included: list[str],
) -> None:
    """Merge the included concrete environments (recursively) into ``roots`` and ``nodes``."""
    if raw is None:
        return
    if not isinstance(raw, dict):
        raise EnvFileError(f"{source}: {INCLUDE_CONCRETE} must be an object")
    for path, body in raw.items():
        where = f"{source} ({INCLUDE_CONCRETE} {path})"
        if not isinstance(body, dict):
            raise EnvFileError(f"{where} is not an environment")
        body = {"concrete_specs": {}, **body}
        more_roots, more_nodes = _lock_body(body, where, version)
        included.append(str(path))
        known = {r.hash for r in roots}
        roots.extend(r for r in more_roots if r.hash not in known)
        for h, node in more_nodes.items():
            nodes.setdefault(h, node)
        _include(body.get(INCLUDE_CONCRETE), where, version, roots, nodes, included)


def _dependency_hashes(node: Mapping[str, Any], where: str) -> Iterator[str]:
    deps = node.get("dependencies", [])
    if not isinstance(deps, list):
        raise EnvFileError(f"{where}: dependencies must be a list")
    for dep in deps:
        if not isinstance(dep, dict) or not isinstance(dep.get("hash"), str):
            raise EnvFileError(f"{where}: a dependency has no hash")
        yield dep["hash"]
    build_spec = node.get("build_spec")
    if isinstance(build_spec, dict) and isinstance(build_spec.get("hash"), str):
        yield build_spec["hash"]


def _deptypes(dep: Mapping[str, Any]) -> tuple[str, ...]:
    """A dependency's edge types: ``parameters.deptypes`` (formats 4 and 5)."""
    params = dep.get("parameters")
    types = params.get("deptypes") if isinstance(params, dict) else dep.get("type")
    return tuple(str(t) for t in types or ())


def _label(node: Mapping[str, Any], dag_hash: str) -> str:
    return f"{node.get('name')}@{node.get('version', '?')}/{dag_hash[:7]}"


def lockfile_version_for(nodes: Iterable[Mapping[str, Any]]) -> int:
    """The lockfile version whose Spack reader accepts every one of ``nodes`` as it is."""
    legacy = any("compiler" in n and "annotations" not in n for n in nodes)
    return 5 if legacy else 6


def render_spack_lock(
    roots: Sequence[LockRoot],
    nodes: Mapping[str, Mapping[str, Any]],
    *,
    writer: str,
    version: int | None = None,
) -> str:
    """The text of a ``spack.lock`` holding ``roots`` and exactly the given node dicts.

    ``nodes`` must hold every node the roots reach, build-only ones included, keyed by DAG hash
    (Spack resolves each dependency edge through ``concrete_specs``). ``writer`` fills the
    informational ``spack`` section, which Spack never reads back.
    """
    chosen = lockfile_version_for(nodes.values()) if version is None else version
    if chosen not in LOCKFILE_VERSIONS:
        raise ValueError(f"cannot write lockfile version {chosen}")
    doc = {
        "_meta": {
            "file-type": LOCKFILE_TYPE,
            "lockfile-version": chosen,
            "specfile-version": SPECFILE_FOR_LOCKFILE[chosen],
        },
        "spack": {"version": writer, "type": "release"},
        "roots": [{"hash": r.hash, "spec": r.spec} for r in roots],
        "concrete_specs": {h: dict(n) for h, n in nodes.items()},
    }
    parse_spack_lock(json.loads(json.dumps(doc)), "the lockfile being written")  # never emit junk
    return json.dumps(doc, indent=2) + "\n"


# ---- spack.yaml ---------------------------------------------------------------------------------


def parse_spack_manifest(text: str, source: str) -> SpackManifest:
    """The ``specs:`` of a ``spack.yaml``; errors name the file and line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise EnvFileError(f"{source}{line}: {problem}") from None
    body = _mapping_value(root, "spack") if isinstance(root, yaml.MappingNode) else None
    if body is None:
        raise EnvFileError(f"{source} is not a Spack environment: no top-level 'spack:' section")
    if not isinstance(body, yaml.MappingNode):
        raise EnvFileError(f"{source}, line {body.start_mark.line + 1}: 'spack:' must be a mapping")
    specs: list[str] = []
    ignored: list[tuple[str, int]] = []
    for key_node, value in body.value:
        key = str(key_node.value)
        if key not in MANIFEST_USED:
            ignored.append((key, key_node.start_mark.line + 1))
            continue
        if isinstance(value, yaml.ScalarNode) and value.value in ("", "null", "~"):
            continue
        if not isinstance(value, yaml.SequenceNode):
            raise EnvFileError(
                f"{source}, line {value.start_mark.line + 1}: 'specs' must be a "
                "list of spec strings"
            )
        for item in value.value:
            plain = isinstance(item, yaml.ScalarNode) and str(item.value).strip()
            if not plain or str(item.value).strip().startswith("$"):  # `$defs`: a reference
                raise EnvFileError(
                    f"{source}, line {item.start_mark.line + 1}: only plain spec strings are "
                    "supported in 'specs' (not matrices or $references)",
                    hint="write the specs out, one per entry",
                )
            specs.append(str(item.value).strip())
    return SpackManifest(tuple(specs), tuple(ignored))


def _mapping_value(node: yaml.MappingNode, key: str) -> yaml.Node | None:
    for key_node, value in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            found: yaml.Node = value
            return found
    return None


def render_spack_manifest(specs: Sequence[str]) -> str:
    """A minimal ``spack.yaml`` listing ``specs`` (what ``spack env create`` writes from a
    lockfile's roots)."""
    return yaml.safe_dump({"spack": {"specs": list(specs)}}, sort_keys=False)
