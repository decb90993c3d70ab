"""Concrete spec nodes and DAGs, as read from Spack spec files and binary indices.

These are small immutable values. They keep only what a client needs to choose, check and
install binaries; the full node dicts stay in the spec files they came from. Dependencies are
edges by DAG hash, so a DAG is a root hash plus a hash -> node mapping (exactly how Spack's
indices and spec files store them).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from ..errors import DependencyCycle

#: variant value as Spack stores it: bool, a single string, or a multi-value tuple
VariantValue = bool | str | tuple[str, ...]

DEPTYPES = ("build", "link", "run", "test")
RUNTIME_DEPTYPES = frozenset({"link", "run"})


#: variants Spack records for itself rather than for the user to choose
_BOOKKEEPING_VARIANTS = frozenset({"build_system", "patches", "dev_path"})


@dataclass(frozen=True, slots=True)
class Edge:
    """A dependency edge from one node to another, identified by the child's DAG hash."""

    name: str
    hash: str
    deptypes: frozenset[str]
    #: virtual packages this edge provides, e.g. ("mpi",) or ("c", "cxx"); empty before format 4
    virtuals: tuple[str, ...] = ()
    #: format 5: the edge was requested with ``%`` (a direct dependency, typically a compiler)
    direct: bool = False

    @property
    def is_runtime(self) -> bool:
        """True for link and run edges: the child must be present for the parent to work."""
        return not self.deptypes.isdisjoint(RUNTIME_DEPTYPES)


@dataclass(frozen=True, slots=True)
class ConcreteNode:
    """One concrete package build, as a Spack binary index or spec file describes it."""

    name: str
    version: str
    hash: str
    platform: str
    os: str
    #: target *name* (``zen3``, ``x86_64_v3``); Spack writes a string or a dict, we keep the name
    target: str
    namespace: str = "builtin"
    #: variants (and compiler flags), sorted by name
    variants: tuple[tuple[str, VariantValue], ...] = ()
    #: (name, version) for spec formats <= 4, or from ``annotations.compiler``; None in format 5
    compiler: tuple[str, str] | None = None
    edges: tuple[Edge, ...] = ()
    #: the external prefix (e.g. ``/usr``) for externals, else None
    external: str | None = None
    #: spec file format this node was originally written in (1..5)
    spec_version: int = 5

    @property
    def is_external(self) -> bool:
        return self.external is not None

    @property
    def variant_map(self) -> dict[str, VariantValue]:
        return dict(self.variants)

    def variant(self, name: str) -> VariantValue | None:
        for key, value in self.variants:
            if key == name:
                return value
        return None

    def variant_words(self) -> list[str]:
        """The variants as Spack writes them (``+mpi``, ``~shared``, ``api=v2``), leaving out
        the bookkeeping ones a person does not choose (patches, build system, dev path)."""
        words: list[str] = []
        for key, value in self.variants:
            if key in _BOOKKEEPING_VARIANTS:
                continue
            if isinstance(value, bool):
                words.append(("+" if value else "~") + key)
            elif isinstance(value, tuple):
                words.append(f"{key}={','.join(value)}")
            else:
                words.append(f"{key}={value}")
        return words

    @property
    def arch(self) -> str:
        """``platform-os-target``, the form used in v2 file names and by ``arch=``."""
        return f"{self.platform}-{self.os}-{self.target}"

    @property
    def short(self) -> str:
        """``name@version/hash7``, for messages."""
        return f"{self.name}@{self.version}/{self.hash[:7]}"

    def runtime_edges(self) -> Iterator[Edge]:
        return (e for e in self.edges if e.is_runtime)


@dataclass(frozen=True, slots=True)
class ConcreteDAG:
    """A root node plus every node reachable from it, keyed by DAG hash."""

    root_hash: str
    nodes: Mapping[str, ConcreteNode] = field(repr=False)

    @property
    def root(self) -> ConcreteNode:
        return self.nodes[self.root_hash]

    def traverse(
        self,
        deptypes: frozenset[str] | None = None,
        *,
        root: str | None = None,
    ) -> Iterator[ConcreteNode]:
        """Breadth-first walk from the root along edges of the given types (all when None).

        Nodes absent from ``nodes`` (e.g. build-only dependencies an index left out) are
        skipped silently: callers that need completeness check it explicitly.
        """
        start = root or self.root_hash
        seen = {start}
        queue = deque([start])
        while queue:
            node = self.nodes.get(queue.popleft())
            if node is None:
                continue
            yield node
            for edge in node.edges:
                if deptypes is not None and edge.deptypes.isdisjoint(deptypes):
                    continue
                if edge.hash not in seen:
                    seen.add(edge.hash)
                    queue.append(edge.hash)

    def runtime_closure(self) -> list[ConcreteNode]:
        """The nodes needed to *run* the root: root + transitive link/run dependencies."""
        return list(self.traverse(RUNTIME_DEPTYPES))

    def missing(self, deptypes: frozenset[str] = RUNTIME_DEPTYPES) -> list[str]:
        """Hashes referenced through ``deptypes`` edges but absent from ``nodes``."""
        out: list[str] = []
        for node in self.traverse(deptypes):
            for edge in node.edges:
                if not edge.deptypes.isdisjoint(deptypes) and edge.hash not in self.nodes:
                    out.append(edge.hash)
        return out

    def post_order(self, deptypes: frozenset[str] = RUNTIME_DEPTYPES) -> list[ConcreteNode]:
        """Dependencies before dependents (the order Spack installs in).

        Iterative, since a mirror decides how deep a DAG goes. Raises :class:`DependencyCycle`
        when the walk meets a node it is still inside of: such a DAG cannot be installed in
        any order (and would wait on itself forever).
        """
        order: list[ConcreteNode] = []
        done: set[str] = set()
        root = self.nodes.get(self.root_hash)
        if root is None:
            return order
        path: list[str] = [root.hash]
        on_path = {root.hash}
        stack: list[tuple[ConcreteNode, Iterator[Edge]]] = [(root, iter(root.edges))]
        while stack:
            node, edges = stack[-1]
            for edge in edges:
                if edge.deptypes.isdisjoint(deptypes) or edge.hash in done:
                    continue
                if edge.hash in on_path:
                    loop = [*path[path.index(edge.hash) :], edge.hash]
                    names = " -> ".join(self.nodes[h].name for h in loop)
                    raise DependencyCycle(
                        f"{self.root.short} has a dependency cycle: {names}",
                        hint="the mirror's index or spec is damaged or hostile; use another "
                        "mirror or ask its owner to regenerate the index",
                    )
                child = self.nodes.get(edge.hash)
                if child is not None:
                    path.append(child.hash)
                    on_path.add(child.hash)
                    stack.append((child, iter(child.edges)))
                    break
            else:
                stack.pop()
                path.pop()
                on_path.discard(node.hash)
                done.add(node.hash)
                order.append(node)
        return order
