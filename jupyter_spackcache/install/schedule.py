"""Which tarball to download and unpack first: the one the end of the install waits on most.

A node is committed (relocated, renamed, registered) only after its dependencies are, so
commits form chains from the DAG's leaves (``gcc-runtime``, ``zlib``: small, and needed by
everything) up to the root. Unpacking is independent. The install ends when the last unpack
is done *and* the commit chain above it has run. So a node's urgency is its own unpack plus
the longest chain of commits that waits for it (the "upward rank" of list scheduling). Taking
only the largest tarballs first leaves the small leaves for last, and every commit then
piles up at the end; taking only the leaves first leaves the largest unpack running alone.

Costs are estimated from tarball sizes (the only thing known before downloading): committing
rereads the files relocation lists, about a fifth of the work of unpacking them, plus a fixed
cost per node.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

#: commit work per byte of tarball, relative to unpacking it (measured: BENCHMARKS.md)
COMMIT_SHARE = 0.2
#: fixed work of a commit (database row, renames, spec file), in tarball bytes
COMMIT_FIXED = 512 * 1024
#: size assumed for a tarball of unknown size (v2 mirrors list none)
UNKNOWN_SIZE = 4 * 1024 * 1024


def urgency(
    sizes: Mapping[str, int | None], dependencies: Mapping[str, Iterable[str]]
) -> dict[str, float]:
    """Urgency of each node to install (higher first), from tarball sizes and runtime deps.

    ``sizes`` names the nodes to install; ``dependencies`` maps a node to the hashes it
    links to or runs with (nodes outside ``sizes`` are already in place and ignored).
    """
    dependents: dict[str, list[str]] = {h: [] for h in sizes}
    for node in sizes:
        for dep in dependencies.get(node, ()):
            if dep in dependents and dep != node:
                dependents[dep].append(node)

    def size(node: str) -> float:
        known = sizes[node]
        return float(UNKNOWN_SIZE if known is None else known)

    chains: dict[str, float] = {}
    visiting: set[str] = set()

    def commit_chain(node: str) -> float:
        if node not in chains:
            visiting.add(node)  # a cycle (never in a valid spec) just ends the chain
            above = max(
                (commit_chain(d) for d in dependents[node] if d not in visiting), default=0.0
            )
            visiting.discard(node)
            chains[node] = COMMIT_SHARE * size(node) + COMMIT_FIXED + above
        return chains[node]

    return {node: size(node) + commit_chain(node) for node in sizes}
