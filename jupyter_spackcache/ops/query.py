"""List and info: what the mirrors offer this host, and how a spec would resolve.

``spackcache list``, ``GET /specs`` and ``%spack list`` share :func:`listing`; ``spackcache
info`` uses :func:`resolve_specs` and :func:`package_metadata`, ``GET /specs/{hash}``
:func:`describe_build`. Checking a build against the host
walks its DAG, so the answers are memoised per index content (:class:`HostChecks`), which the
server keeps for as long as its query session lives.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import SpackCacheError
from ..resolve import BUILD_ONLY, Candidate, HostCheck, Resolution, host_problem, resolve
from ..spec.abstract import AbstractSpec
from ..spec.concrete import RUNTIME_DEPTYPES, ConcreteDAG, ConcreteNode
from ..spec.parser import parse_spec, parse_specs
from ..spec.satisfies import node_satisfies, satisfies
from ..spec.version import Version

if TYPE_CHECKING:
    from ..host import Host
    from ..mirrors.base import SpecRecord
    from ..mirrors.catalog import Catalog, MirrorProblem
    from ..mirrors.indexcache import MirrorIndex


@dataclass(frozen=True, slots=True)
class Listing:
    """One installable build, as ``spackcache list`` shows it."""

    mirror: str
    node: ConcreteNode
    compatible: bool
    reason: str | None = None


class HostChecks:
    """One memo of host compatibility per index content, shared by every query."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self._checks: dict[tuple[str, str], HostCheck] = {}

    def for_index(self, index: MirrorIndex) -> HostCheck:
        key = (index.name, index.meta.index_hash)
        check = self._checks.get(key)
        if check is None or check.source is not index:
            check = self._checks[key] = HostCheck(index, self.host)
        return check


@dataclass(frozen=True, slots=True)
class Build:
    """One DAG of a mirror with the verified metadata of its nodes (``GET /specs/{hash}``)."""

    mirror: str
    dag: ConcreteDAG
    #: the runtime nodes, the root first
    nodes: tuple[ConcreteNode, ...]
    #: per node in the build cache (externals have none): its metadata, or why it failed
    metadata: Mapping[str, SpecRecord | SpackCacheError]
    #: why this host cannot run it (None: it can)
    problem: str | None


def describe_build(index: MirrorIndex, dag_hash: str, *, catalog: Catalog, host: Host) -> Build:
    """The build ``dag_hash`` of ``index``, its nodes' tarball sizes and signers included.

    Indices do not record sizes, so this costs one metadata request per node: fine for one
    DAG, which is why listings carry no sizes and this view does.
    """
    dag = index.dag(dag_hash)
    nodes = tuple(dag.traverse(RUNTIME_DEPTYPES))
    reader = catalog.reader_named(index.name)
    metadata: dict[str, SpecRecord | SpackCacheError] = {}
    for node in nodes:
        if node.is_external or not index.in_buildcache(node.hash):
            continue
        try:
            metadata[node.hash] = reader.fetch_spec(node, dag)
        except SpackCacheError as exc:
            metadata[node.hash] = exc
    return Build(index.name, dag, nodes, metadata, host_problem(dag, index, host))


def resolve_specs(
    text: str, *, catalog: Catalog, host: Host, refresh: bool = True
) -> list[Resolution]:
    """How each spec in ``text`` resolves against the mirrors alone (what is installed aside)."""
    requests = parse_specs(text)
    indices, _problems = catalog.indices(refresh=refresh)
    return [resolve(r, indices, host) for r in requests]


def package_metadata(
    candidate: Candidate, *, catalog: Catalog
) -> dict[str, SpecRecord | SpackCacheError]:
    """Verified metadata (signature checked; tarball size and checksum) per node to download.

    A node whose metadata cannot be verified maps to the error saying why, so callers can
    show what is known and name the fix (typically trusting the mirror's key).
    """
    reader = catalog.reader_named(candidate.source)
    out: dict[str, SpecRecord | SpackCacheError] = {}
    for node in candidate.to_download:
        try:
            out[node.hash] = reader.fetch_spec(node, candidate.dag)
        except SpackCacheError as exc:
            out[node.hash] = exc
    return out


def listing(
    query: str | None = None,
    *,
    catalog: Catalog,
    checks: HostChecks,
    all_targets: bool = False,
    refresh: bool = True,
    exact: bool = False,
) -> tuple[list[Listing], list[MirrorProblem]]:
    """Builds in the mirrors matching ``query``: by default only those this host can run.

    A lone word matches every package name containing it (like ``spack list``) unless
    ``exact`` asks for that one package.
    """
    request = parse_spec(query) if query else None
    indices, problems = catalog.indices(refresh=refresh)
    out: list[Listing] = []
    seen: set[str] = set()
    for index in indices:
        check = checks.for_index(index)
        for node in _candidates(index, request, substring=not exact):
            h = node.hash
            if h in seen or node.is_external or node.name in BUILD_ONLY:
                continue
            if not index.in_buildcache(h):
                continue
            if request is not None and not _matches(request, node, index, substring=not exact):
                continue
            reason = check.problem(h)
            if reason is not None and not all_targets:
                continue
            seen.add(h)
            out.append(Listing(index.name, node, reason is None, reason))
    out.sort(key=lambda item: (Version.parse(item.node.version), item.node.hash), reverse=True)
    out.sort(key=lambda item: item.node.name)  # stable: names A-Z, newest version first
    return out, problems


def _candidates(
    index: MirrorIndex, request: AbstractSpec | None, *, substring: bool
) -> Iterator[ConcreteNode]:
    if request is not None and request.name and substring and _is_bare_name(request):
        # a lone word searches like `spack list`: every package whose name contains it
        hashes = [
            h for name in index.names_containing(request.name) for h in index.hashes_named(name)
        ]
    elif request is not None and request.name:
        hashes = index.hashes_named(request.name)
    elif request is not None and request.hash_prefix:
        hashes = index.hashes_with_prefix(request.hash_prefix)
    else:
        yield from index.iter_nodes()
        return
    for h in hashes:
        node = index.node(h)
        if node is not None:
            yield node


def _is_bare_name(request: AbstractSpec) -> bool:
    return request == AbstractSpec(name=request.name)


def _matches(
    request: AbstractSpec, node: ConcreteNode, index: MirrorIndex, *, substring: bool
) -> bool:
    """Root-only constraints need no DAG; ``^dep``, ``%dep`` and ``++x`` (all nodes) do."""
    if substring and _is_bare_name(request):
        return True  # the name search already chose the candidates
    if request.dependencies or request.direct or request.propagated:
        return satisfies(request, index.dag(node.hash))
    return node_satisfies(request, node)
