"""Choose the best binaries this host can run for an abstract spec, and say why when none fit.

A simplified form of what Spack's concretizer does with ``reuse`` from build caches
(buildcache-format.md §7): keep candidate DAGs whose every runtime node this host can run
(platform, target ancestry, libc, no foreign externals, present in the cache), that satisfy the
request; prefer the newest version, then the most specific target, then the fewest downloads.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .errors import DependencyCycle, ResolveError
from .host import Host
from .spec.abstract import AbstractSpec
from .spec.concrete import RUNTIME_DEPTYPES, ConcreteDAG, ConcreteNode, Edge
from .spec.satisfies import explain_dag_mismatch, satisfies
from .spec.version import Version

LIBC_NAMES = frozenset({"glibc", "musl"})
#: build-only tools a binary install never needs (format doc §7)
BUILD_ONLY = frozenset({"compiler-wrapper"})


class NodeSource(Protocol):
    """Where candidate nodes come from: a mirror's cached index, or the local store."""

    name: str

    def hashes_named(self, name: str) -> list[str]: ...

    def hashes_with_prefix(self, prefix: str) -> list[str]: ...

    def node(self, dag_hash: str) -> ConcreteNode | None: ...

    def in_buildcache(self, dag_hash: str) -> bool: ...

    def dag(self, root_hash: str) -> ConcreteDAG: ...

    def names(self) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class Candidate:
    """A concrete DAG from one source that this host can install and run."""

    source: str
    dag: ConcreteDAG
    #: root + transitive link/run dependencies, dependencies first
    runtime: tuple[ConcreteNode, ...]
    #: runtime nodes that are not installed yet and not external
    to_download: tuple[ConcreteNode, ...]
    target_distance: int

    @property
    def root(self) -> ConcreteNode:
        return self.dag.root


@dataclass(frozen=True, slots=True)
class Resolution:
    request: AbstractSpec
    chosen: Candidate | None
    #: every acceptable candidate, best first (chosen is the first)
    candidates: tuple[Candidate, ...] = ()
    #: (reason, count) for the builds that were rejected, most common first
    rejections: tuple[tuple[str, int], ...] = ()
    #: every version of the requested package found in any source, newest first
    available_versions: tuple[str, ...] = ()
    considered: int = 0
    suggestions: tuple[str, ...] = field(default=())
    #: the name is in a mirror, but only as an external or build-only node (a compiler, glibc)
    only_as_dependency: bool = False

    def explain(self) -> str:
        """One line: how many builds were looked at and why each group was refused."""
        name = self.request.name or str(self.request)
        if self.considered == 0 and self.only_as_dependency:
            return (
                f"'{name}' is in the configured mirrors only as an external or build-only "
                "dependency of other packages, not as a build to install"
            )
        if self.considered == 0:
            line = f"no package named '{name}' in any configured mirror"
            if self.suggestions:
                line += f" (did you mean: {', '.join(self.suggestions)}?)"
            return line
        groups = ", ".join(f"{n} {reason}" for reason, n in self.rejections)
        plural = "s" if self.considered != 1 else ""
        return f"{self.considered} build{plural} of {name}: {groups}"

    def raise_if_unresolved(self) -> Candidate:
        if self.chosen is not None:
            return self.chosen
        hint = None
        if self.available_versions:
            hint = "available versions: " + ", ".join(self.available_versions[:12])
        elif self.considered == 0:
            hint = "see `spackcache list` for what this host can install"
        raise ResolveError(
            f"nothing installable matches '{self.request}': {self.explain()}", hint=hint
        )


def resolve(
    request: AbstractSpec,
    sources: Sequence[NodeSource],
    host: Host,
    *,
    installed: Callable[[str], bool] = lambda h: False,
) -> Resolution:
    """Pick the best host-compatible DAG satisfying ``request`` from ``sources`` (in order)."""
    reasons: Counter[str] = Counter()
    versions: set[str] = set()
    accepted: list[Candidate] = []
    seen: set[str] = set()
    considered = 0
    for source in sources:
        # a node installed here or upstream is usable as is, whichever source lists the DAG
        check = HostCheck(source, host, available=installed)
        for root_hash in _root_hashes(request, source):
            if root_hash in seen:
                continue  # the same build in an earlier mirror wins
            seen.add(root_hash)
            root = source.node(root_hash)
            if root is None or root.name in BUILD_ONLY:
                continue
            if root.is_external:
                continue
            considered += 1
            versions.add(root.version)
            dag = source.dag(root_hash)
            problem = _mismatch(request, dag)
            if problem is None:
                problem = check.problem(root_hash, dag)
            if problem is not None:
                reasons[problem] += 1
                continue
            try:
                runtime = tuple(dag.post_order(RUNTIME_DEPTYPES))
            except DependencyCycle as exc:  # never installable: say why, like any mismatch
                reasons[f"have a dependency cycle ({exc.message.rsplit(': ', 1)[-1]})"] += 1
                continue
            downloads = tuple(n for n in runtime if not n.is_external and not installed(n.hash))
            distance = host.target_distance(root.target)
            accepted.append(Candidate(source.name, dag, runtime, downloads, distance or 0))
    _rank(accepted)
    suggestions: tuple[str, ...] = ()
    only_as_dependency = False
    if considered == 0 and request.name:
        names: set[str] = set()
        for source in sources:
            names.update(source.names())
        only_as_dependency = request.name in names  # never suggest the very name asked for
        names.discard(request.name)
        suggestions = tuple(difflib.get_close_matches(request.name, sorted(names), n=3))
    return Resolution(
        request=request,
        chosen=accepted[0] if accepted else None,
        candidates=tuple(accepted),
        rejections=tuple(reasons.most_common()),
        available_versions=tuple(sorted(versions, key=Version.parse, reverse=True)),
        considered=considered,
        suggestions=suggestions,
        only_as_dependency=only_as_dependency,
    )


def _rank(candidates: list[Candidate]) -> None:
    """Best first: newest version, then most specific target, fewest downloads, hash."""
    candidates.sort(key=lambda c: (c.target_distance, len(c.to_download), c.root.hash))
    candidates.sort(key=lambda c: Version.parse(c.root.version), reverse=True)  # stable


def _root_hashes(request: AbstractSpec, source: NodeSource) -> Iterable[str]:
    if request.hash_prefix:
        hashes = source.hashes_with_prefix(request.hash_prefix)
        if request.name:
            return [
                h for h in hashes if (n := source.node(h)) is not None and n.name == request.name
            ]
        return hashes
    if request.name is None:
        raise ResolveError(
            f"'{request}' names no package", hint="start the spec with a package name or /hash"
        )
    return source.hashes_named(request.name)


def _mismatch(request: AbstractSpec, dag: ConcreteDAG) -> str | None:
    if satisfies(request, dag):
        return None
    reason = explain_dag_mismatch(request, dag)
    return f"do not match ({reason})" if reason else f"do not match {request}"


def host_problem(dag: ConcreteDAG, source: NodeSource, host: Host) -> str | None:
    """Why ``host`` cannot run this DAG (a plural verb phrase for grouping), or None."""
    return HostCheck(source, host).problem(dag.root_hash, dag)


class HostCheck:
    """Host compatibility of builds in one source, memoised per node hash.

    A build runs here iff the node itself does and every runtime (link/run) dependency does, so
    each node is examined once however many DAGs share it: listing a 50,000-node index costs
    one pass instead of one DAG walk per build.
    """

    def __init__(
        self,
        source: NodeSource,
        host: Host,
        *,
        available: Callable[[str], bool] = lambda h: False,
    ) -> None:
        self.source = source
        self.host = host
        #: nodes usable without the source (installed locally or upstream)
        self.available = available
        self._closure: dict[str, str | None] = {}
        self._known: dict[str, ConcreteNode] = {}

    def _node(self, dag_hash: str) -> ConcreteNode | None:
        return self._known.get(dag_hash) or self.source.node(dag_hash)

    def problem(self, root_hash: str, dag: ConcreteDAG | None = None) -> str | None:
        """Why the build ``root_hash`` cannot run here, or None.

        ``dag``, when given, describes nodes the source itself may not list (the local store
        keeps each install's full spec, externals included, but lists only installed nodes).
        """
        if dag is not None:
            self._known.update(dag.nodes)
        node = self._node(root_hash)
        if node is None:
            return "are missing from the index"
        own = self._own(node, root=True)
        if own is not None or node.is_external:
            return own
        return self._deps(node)

    def _deps(self, node: ConcreteNode) -> str | None:
        for edge in node.runtime_edges():
            found = self._dependency(edge.hash)
            if found is not None:
                return found
        return None

    def _dependency(self, dag_hash: str) -> str | None:
        """The problem of a dependency and its runtime closure, memoised.

        Iterative (an index decides how deep a chain goes): a node's answer is its own problem,
        else the first problem among its runtime dependencies. A node being examined counts as
        fine, so a cycle (never in valid DAGs) ends instead of looping.
        """
        closure = self._closure
        if dag_hash in closure:
            return closure[dag_hash]
        #: (node, its remaining runtime edges, the dependency being examined below it)
        stack: list[tuple[str, Iterator[Edge], str | None]] = []

        def enter(h: str) -> bool:
            """Examine ``h``; true when its answer needs its dependencies (pushed)."""
            closure[h] = None
            node = self._node(h)
            if node is None:
                closure[h] = "have dependencies missing from the index"
                return False
            own = self._own(node, root=False)
            if own is not None or node.is_external:
                closure[h] = own
                return False
            stack.append((h, node.runtime_edges(), None))
            return True

        enter(dag_hash)
        while stack:
            h, edges, below = stack.pop()
            found = closure[below] if below is not None else None
            descended = False
            while found is None:
                edge = next(edges, None)
                if edge is None:
                    break
                if edge.hash not in closure:
                    stack.append((h, edges, edge.hash))
                    if enter(edge.hash):
                        descended = True
                        break
                    stack.pop()
                found = closure[edge.hash]
            if not descended:
                closure[h] = found
        return closure[dag_hash]

    def _own(self, node: ConcreteNode, *, root: bool) -> str | None:
        host = self.host
        if node.is_external:
            if node.name in LIBC_NAMES:
                return _libc_problem(node, host)
            return f"need the external {node.name} at {node.external or '?'}, not provided here"
        if node.platform != host.platform:
            return f"are built for platform {node.platform} (this host: {host.platform})"
        if host.target_distance(node.target) is None:
            return f"need target {node.target} (this host: {host.target})"
        if host.platform != "linux" and node.os != host.os:
            return f"are built for {node.os} (this host: {host.os})"
        if node.variant("dev_path") is not None:
            return "are development builds (dev_path), never reused"
        if not self.source.in_buildcache(node.hash) and not self.available(node.hash):
            return (
                "are not in the build cache"
                if root
                else (f"need {node.name}, which is not in the build cache")
            )
        return None


def _libc_problem(node: ConcreteNode, host: Host) -> str | None:
    libc = host.libc
    if libc is None:
        if host.platform == "linux":
            return f"need {node.name} {node.version} (no libc detected on this host)"
        return None
    if libc.name != node.name:
        return f"need {node.name} (this host has {libc.name})"
    if node.external and libc.path and node.external.rstrip("/") != libc.path.rstrip("/"):
        return f"need {node.name} at {node.external} (this host's is at {libc.path})"
    if Version.parse(libc.version) < Version.parse(node.version):
        return f"need {node.name} {node.version} (host: {libc.version})"
    return None
