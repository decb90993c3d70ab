"""The ordered old -> new prefix map that every relocation pass applies (format doc §6.1).

Order matters: the specific prefixes (sbang, then each dependency) come before the generic
store root, so the root only catches leftovers; every pass tries the entries in this order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from jupyter_spackcache.errors import InstallError
from jupyter_spackcache.formats.buildinfo import BuildInfo
from jupyter_spackcache.spec.concrete import ConcreteDAG

PrefixMap = list[tuple[str, str]]

_LINK = frozenset({"link"})


def build_prefix_map(
    buildinfo: BuildInfo,
    *,
    dag: ConcreteDAG,
    new_prefixes: Mapping[str, str],
    new_store_root: str,
    new_sbang: str,
) -> PrefixMap:
    """Old -> new pairs: sbang, the root and its runtime dependencies, then the store root.

    ``new_prefixes`` maps DAG hashes to where those packages live (or will live) on this
    machine; every dependency the tarball recorded an old prefix for must have one.
    """
    pairs: PrefixMap = []
    if buildinfo.sbang_install_path:
        pairs.append((buildinfo.sbang_install_path, new_sbang))
    for dag_hash in _relocated_hashes(dag):
        old = buildinfo.hash_to_prefix.get(dag_hash)
        if old is None:
            continue
        new = new_prefixes.get(dag_hash)
        if new is None:
            node = dag.nodes.get(dag_hash)
            what = node.short if node is not None else dag_hash
            raise InstallError(f"no install prefix known for dependency {what}")
        pairs.append((old, new))
    pairs.append((buildinfo.buildpath, new_store_root))
    return _dedupe([(old, new) for old, new in pairs if old != new])


def _relocated_hashes(dag: ConcreteDAG) -> Iterator[str]:
    """Root + transitive link dependencies breadth-first, then the root's direct run deps."""
    for node in dag.traverse(_LINK):
        if not node.is_external:
            yield node.hash
    for edge in dag.root.edges:
        dep = dag.nodes.get(edge.hash)
        if "run" in edge.deptypes and not (dep is not None and dep.is_external):
            yield edge.hash


def _dedupe(pairs: PrefixMap) -> PrefixMap:
    """Keep the first pair for each old prefix: later ones could never match first anyway."""
    seen: set[str] = set()
    out: PrefixMap = []
    for old, new in pairs:
        if old not in seen:
            seen.add(old)
            out.append((old, new))
    return out


def check_prefix_lengths(prefix_map: PrefixMap) -> None:
    """Refuse, before anything is touched, a map whose new prefixes outgrow the old ones.

    Binaries hold their prefixes in fixed-size strings, so a longer path cannot be patched in.
    The sbang entry is exempt: it only ever appears in script text, where length is free.
    """
    for old, new in prefix_map:
        if old.endswith("/bin/sbang"):
            continue
        if len(new) > len(old):
            raise InstallError(
                f"install root path is too long: {new} ({len(new)} characters) must not be "
                f"longer than the build path {old} ({len(old)} characters)",
                hint=f"use a store root at least {len(new) - len(old)} characters shorter",
            )
