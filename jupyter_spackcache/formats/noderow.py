"""The compact row form of a concrete node, shared by the mirror index cache and the store.

A public index has tens of thousands of nodes; selection needs only a few fields of each, so
both SQLite databases keep one flat row per node (columns :data:`NODE_COLUMNS`): scalars as
text, variants and edges as small JSON arrays, dependency types as letters. Keeping the codec
in one place keeps the two databases readable by the same code.
"""

from __future__ import annotations

from typing import Any

import orjson

from jupyter_spackcache.spec.concrete import ConcreteNode, Edge

#: column names of the row, in the order :func:`node_to_row` returns values
NODE_COLUMNS = (
    "hash, name, version, namespace, platform, os, target, compiler, variants, edges, "
    "external, in_buildcache, spec_version"
)
_DEPTYPE_LETTERS = {"build": "b", "link": "l", "run": "r", "test": "t"}
_LETTER_DEPTYPES = {v: k for k, v in _DEPTYPE_LETTERS.items()}

_letters_memo: dict[frozenset[str], str] = {}


def _letters(deptypes: frozenset[str]) -> str:
    """``"bl"`` for {build, link}: memoised, as there are at most 16 such sets."""
    found = _letters_memo.get(deptypes)
    if found is None:
        found = _letters_memo[deptypes] = "".join(_DEPTYPE_LETTERS[t] for t in sorted(deptypes))
    return found


def node_to_row(node: ConcreteNode, *, in_buildcache: bool) -> tuple[Any, ...]:
    """The row of ``node`` (values in :data:`NODE_COLUMNS` order)."""
    # orjson writes tuples as arrays: the blobs are the same bytes as from lists, built faster
    edges = [(e.name, e.hash, _letters(e.deptypes), e.virtuals, e.direct) for e in node.edges]
    return (
        node.hash,
        node.name,
        node.version,
        node.namespace,
        node.platform,
        node.os,
        node.target,
        f"{node.compiler[0]}@{node.compiler[1]}" if node.compiler else None,
        orjson.dumps(node.variants),
        orjson.dumps(edges),
        node.external,
        1 if in_buildcache else 0,
        node.spec_version,
    )


def row_to_node(row: tuple[Any, ...]) -> ConcreteNode:
    """The node a row describes (``in_buildcache`` is the caller's to read from ``row[11]``)."""
    (
        h,
        name,
        version,
        namespace,
        platform,
        os_,
        target,
        compiler,
        variants,
        edges,
        external,
        _in_bc,
        spec_version,
    ) = row
    comp = None
    if compiler:
        cname, _, cver = compiler.partition("@")
        comp = (cname, cver)
    return ConcreteNode(
        name=name,
        version=version,
        hash=h,
        platform=platform,
        os=os_,
        target=target,
        namespace=namespace,
        variants=tuple(
            (k, tuple(v) if isinstance(v, list) else v) for k, v in orjson.loads(variants)
        ),
        compiler=comp,
        edges=tuple(
            Edge(n, eh, frozenset(_LETTER_DEPTYPES[c] for c in types), tuple(virt), bool(direct))
            for n, eh, types, virt, direct in orjson.loads(edges)
        ),
        external=external,
        spec_version=spec_version,
    )
