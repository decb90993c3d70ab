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
    for start in sizes:
        # iterative post-order over "is needed by" (a mirror decides how deep it goes); a
        # node on the current path counts as nothing, so a cycle just ends the chain
        on_path = {start}
        stack = [(start, iter(dependents[start]))]
        while stack:
            node, above = stack[-1]
            child = next((d for d in above if d not in chains and d not in on_path), None)
            if child is not None:
                on_path.add(child)
                stack.append((child, iter(dependents[child])))
                continue
            stack.pop()
            on_path.discard(node)
            if node not in chains:
                top = max((chains.get(d, 0.0) for d in dependents[node]), default=0.0)
                chains[node] = COMMIT_SHARE * size(node) + COMMIT_FIXED + top

    return {node: size(node) + chains[node] for node in sizes}
