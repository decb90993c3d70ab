"""Does a concrete build satisfy what the user asked for?

Two levels, because the resolver filters tens of thousands of index records by their own
attributes before it pays for assembling DAGs:

* :func:`node_satisfies` / :func:`explain_mismatch` look at one node only: name, namespace,
  version, variants and flags, platform/os/target, hash prefix. ``^`` and ``%`` constraints
  are ignored there; they need the DAG.
* :func:`satisfies` / :func:`explain_dag_mismatch` check everything: the root as above, every
  ``%dep`` against the root's direct dependencies (or, for spec format <= 4 nodes, the
  ``compiler`` attribute), and every ``^dep`` against some node reachable from the root,
  matched by package name or by a virtual its incoming edge provides (``^mpi``).

Explanations are short phrases ("version 1.2.11 is not @1.3:", "needs +shared",
"target is zen4") used in "why nothing fits" output.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from jupyter_spackcache.spec.abstract import (
    ANY_VALUE,
    FLAG_NAMES,
    LEGACY_COMPILER_NAMES,
    AbstractSpec,
)
from jupyter_spackcache.spec.concrete import ConcreteDAG, ConcreteNode, Edge, VariantValue
from jupyter_spackcache.spec.version import Version, VersionError


@lru_cache(maxsize=65536)
def _version(text: str) -> Version | None:
    """Parsed node version, cached: an index repeats the same few thousand strings."""
    try:
        return Version.parse(text)
    except VersionError:
        return None


#: a plain function, not ``NAME.get``: CPython compiles a method call on an imported name as
#: an attribute load plus call, a measurable cost in this per-record check
_legacy_name = LEGACY_COMPILER_NAMES.get


def _same_package(wanted: str, have: str) -> bool:
    return wanted == have or _legacy_name(wanted) == have or _legacy_name(have) == wanted


@lru_cache(maxsize=4096)
def _at_least(target: str, floor: str) -> bool:
    """``target`` is ``floor`` or a descendant of it in archspec's microarchitecture DAG."""
    if target == floor:
        return True
    import archspec.cpu  # local: only target ranges need the CPU database

    known = archspec.cpu.TARGETS
    if target not in known or floor not in known:
        return False
    return known[floor] in known[target].ancestors


def target_matches(wanted: str, target: str) -> bool:
    """Spack's ``target=`` semantics: a name, a list ``a,b`` or ranges ``lo:``, ``:hi``."""
    if wanted == target:
        return True
    for item in wanted.split(","):
        lo, colon, hi = item.partition(":")
        if not colon:
            if item == target:
                return True
            continue
        if (not lo or _at_least(target, lo)) and (not hi or _at_least(hi, target)):
            return True
    return False


def _flags(value: VariantValue | None) -> tuple[str, ...]:
    if value is None or isinstance(value, bool):
        return ()
    return (value,) if isinstance(value, str) else value


def _variant_mismatch(
    key: str, want: VariantValue, have: VariantValue | None, exact: bool = False
) -> str | None:
    if key in FLAG_NAMES:
        present = " ".join(_flags(have)).split()
        missing = [f for f in str(want).split() if f not in present]
        return f"{key} lacks {' '.join(missing)}" if missing else None
    if have is None:
        return f"has no variant {key}"
    if want == ANY_VALUE:
        return None
    if isinstance(want, bool):
        if have is want:
            return None
        return f"needs {'+' if want else '~'}{key}"
    wanted: tuple[str, ...] = (want,) if isinstance(want, str) else want
    if isinstance(have, bool):
        shown = str(have).lower()
        ok = len(wanted) == 1 and wanted[0].lower() == str(have).lower()
    elif isinstance(have, str):
        shown = have
        ok = set(wanted) == {have}
    else:
        shown = ",".join(have)
        # ``x=a`` asks for at least ``a``; ``x:=a`` for exactly ``a``
        ok = set(wanted) == set(have) if exact else set(wanted) <= set(have)
    op = ":=" if exact else "="
    return None if ok else f"{key}={shown} is not {key}{op}{','.join(wanted)}"


def explain_mismatch(abstract: AbstractSpec, node: ConcreteNode) -> str | None:
    """Why ``node`` fails ``abstract``'s own (root-level) constraints; None if it does not.

    ``^`` and ``%`` constraints are not looked at: see :func:`explain_dag_mismatch`.
    """
    if abstract.name is not None and not _same_package(abstract.name, node.name):
        return f"package is {node.name}, not {abstract.name}"
    if abstract.namespace is not None and abstract.namespace != node.namespace:
        return f"namespace is {node.namespace}"
    if abstract.hash_prefix is not None and not node.hash.startswith(abstract.hash_prefix):
        return f"hash {node.hash[:7]} does not start with {abstract.hash_prefix}"
    if not abstract.versions.is_any:
        version = _version(node.version)
        if version is None or not abstract.versions.contains(version):
            return f"version {node.version} is not @{abstract.versions}"
    if abstract.variants:
        have = node.variant_map
        for key, want in abstract.variants:
            value = have.get(key)
            if value is None and key in abstract.propagated:
                continue  # ``++x`` binds only the nodes that have ``x``
            reason = _variant_mismatch(key, want, value, key in abstract.exact)
            if reason is not None:
                return reason
    platform, os, target = abstract.platform, abstract.os, abstract.target
    if platform is not None and platform != node.platform and platform != ANY_VALUE:
        return f"platform is {node.platform}"
    if os is not None and os != node.os and os != ANY_VALUE:
        return f"os is {node.os}"
    if target is not None and target != ANY_VALUE and not target_matches(target, node.target):
        return f"target is {node.target}"
    return None


def _propagation_mismatch(want: AbstractSpec, node: ConcreteNode, dag: ConcreteDAG) -> str | None:
    """``++x`` / ``x==v``: every node below that has ``x`` must agree (Spack's rule)."""
    if not want.propagated:
        return None
    wanted = [(k, v) for k, v in want.variants if k in want.propagated]
    for below in dag.traverse(root=node.hash):
        have = below.variant_map
        for key, value in wanted:
            if key in have:
                reason = _variant_mismatch(key, value, have[key], key in want.exact)
                if reason is not None:
                    return f"{below.name}: {reason} (propagated)"
    return None


def node_satisfies(abstract: AbstractSpec, node: ConcreteNode) -> bool:
    """Whether ``node`` meets ``abstract``'s root-level constraints (no ``^``/``%``)."""
    return explain_mismatch(abstract, node) is None


def _edge_ok(want: AbstractSpec, edge: Edge) -> bool:
    if want.virtuals and not set(want.virtuals) <= set(edge.virtuals):
        return False
    return not want.deptypes or not edge.deptypes.isdisjoint(want.deptypes)


def _only_name(spec: AbstractSpec) -> bool:
    """True when nothing but a name (and edge attributes) is constrained."""
    return spec == AbstractSpec(
        name=spec.name,
        virtuals=spec.virtuals,
        deptypes=spec.deptypes,
        when=spec.when,
        propagate_edge=spec.propagate_edge,
    )


def _compiler_mismatch(want: AbstractSpec, node: ConcreteNode) -> str | None:
    """Match ``%gcc@10`` against a format <= 4 ``compiler`` attribute."""
    assert node.compiler is not None
    name, version = node.compiler
    shown = f"compiler {name}@{version} is not {want.as_edge('%')}"
    if want.name is None or not _same_package(want.name, name):
        return shown
    if _renamed(want, want.name) != AbstractSpec(name=want.name, versions=want.versions):
        return shown  # a compiler attribute has nothing but a name and a version
    parsed = _version(version)
    if not want.versions.is_any and (parsed is None or not want.versions.contains(parsed)):
        return shown
    return None


def _direct_mismatch(want: AbstractSpec, node: ConcreteNode, dag: ConcreteDAG) -> str | None:
    for edge in node.edges:
        if want.name is not None and not (
            _same_package(want.name, edge.name) or want.name in edge.virtuals
        ):
            continue
        if not _edge_ok(want, edge):
            continue
        child = dag.nodes.get(edge.hash)
        if child is None:
            if _only_name(want):
                return None
            continue
        if _node_mismatch_ignoring_name(want, child) is None:
            return None
    if node.compiler is not None and not want.virtuals and not want.deptypes:
        return _compiler_mismatch(want, node)
    return f"no direct dependency matches {want.as_edge('%')}"


def _node_mismatch_ignoring_name(want: AbstractSpec, node: ConcreteNode) -> str | None:
    """Node-level check where the name already matched (maybe through a virtual)."""
    return explain_mismatch(_renamed(want, None), node)


@lru_cache(maxsize=1024)
def _renamed(spec: AbstractSpec, name: str | None) -> AbstractSpec:
    return AbstractSpec(
        name=name,
        versions=spec.versions,
        variants=spec.variants,
        namespace=spec.namespace,
        platform=spec.platform,
        os=spec.os,
        target=spec.target,
        hash_prefix=spec.hash_prefix,
        propagated=spec.propagated,
        exact=spec.exact,
    )


def _reachable(dag: ConcreteDAG, start: str) -> tuple[list[ConcreteNode], dict[str, list[Edge]]]:
    """Nodes reachable from ``start`` (excluding it) and the edges that lead into each."""
    incoming: dict[str, list[Edge]] = {}
    nodes: list[ConcreteNode] = []
    for node in dag.traverse(root=start):
        if node.hash != start:
            nodes.append(node)
        for edge in node.edges:
            incoming.setdefault(edge.hash, []).append(edge)
    return nodes, incoming


def _provides(want: AbstractSpec, node: ConcreteNode, edges: Iterable[Edge]) -> bool:
    """Whether ``node`` is ``want`` by name or by a virtual on some incoming edge."""
    edges = list(edges)
    by_name = want.name is None or _same_package(want.name, node.name)
    if by_name and (not (want.virtuals or want.deptypes) or any(_edge_ok(want, e) for e in edges)):
        return True
    return want.name is not None and any(
        want.name in e.virtuals and _edge_ok(want, e) for e in edges
    )


def _full_mismatch(want: AbstractSpec, node: ConcreteNode, dag: ConcreteDAG) -> str | None:
    reason = explain_mismatch(want, node) or _propagation_mismatch(want, node, dag)
    if reason is not None:
        return reason
    return _edges_mismatch(want, node, dag)


def _applies(dep: AbstractSpec, node: ConcreteNode, dag: ConcreteDAG) -> bool:
    """``^[when=COND] x`` is required only where ``node`` meets COND."""
    return dep.when is None or _full_mismatch(dep.when, node, dag) is None


def _edges_mismatch(want: AbstractSpec, node: ConcreteNode, dag: ConcreteDAG) -> str | None:
    for direct in want.direct:
        if not _applies(direct, node, dag):
            continue
        reason = _direct_mismatch(direct, node, dag)
        if reason is not None:
            return reason
    if not want.dependencies:
        return None
    nodes, incoming = _reachable(dag, node.hash)
    for dep in want.dependencies:
        if not _applies(dep, node, dag):
            continue
        found = False
        for candidate in nodes:
            if not _provides(dep, candidate, incoming.get(candidate.hash, ())):
                continue
            if _node_mismatch_ignoring_name(dep, candidate) is not None:
                continue
            if _propagation_mismatch(dep, candidate, dag) is not None:
                continue
            if _edges_mismatch(dep, candidate, dag) is None:
                found = True
                break
        if not found:
            return f"no dependency matches {dep.as_edge('^')}"
    return None


def explain_dag_mismatch(abstract: AbstractSpec, dag: ConcreteDAG) -> str | None:
    """Why the DAG fails ``abstract`` (root, ``%`` and ``^`` constraints); None if it fits."""
    return _full_mismatch(abstract, dag.root, dag)


def satisfies(abstract: AbstractSpec, dag: ConcreteDAG) -> bool:
    """Whether the concrete DAG meets every constraint of ``abstract``."""
    return explain_dag_mismatch(abstract, dag) is None
