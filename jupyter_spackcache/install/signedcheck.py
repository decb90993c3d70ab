"""Only signed data decides what is installed.

The binary index is never signed: it steers the choice, but a mirror (or anyone who can write
to it) could relabel a signed binary there, e.g. call ``greet-data@1.0`` version 9.9, or
``pwned``. The plan names the prefix and the database row after the index node, so before a
node is downloaded its signed spec must describe exactly that node: same name, version,
variants, platform, OS, target, external prefix and dependency edges. Any difference is
refused; since the index node is what satisfied the request, the signed one then does too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import DuplicateHash, SignedSpecMismatch
from ..formats.specfile import decode_node, decode_specfile, specfile_version
from ..spec.concrete import ConcreteNode, Edge

_HINT = (
    "the mirror's index does not match its signed metadata (damaged or tampered with); "
    "do not use this mirror until its owner regenerates the index"
)
_OTHER_DEPENDENCIES = "has other dependencies"


def signed_roots(document: Mapping[str, Any]) -> tuple[ConcreteNode, ConcreteNode]:
    """The root node of a verified spec document, with its edges as written and as relinked.

    Formats 1 and 2 may point at dependencies by build hash, and an index of the same age does
    too: either form of the signed edges may match the index.
    """
    relinked = decode_specfile(document).root
    spec = document["spec"]
    raw = spec if isinstance(spec, list) else spec["nodes"]
    _refuse_duplicates(raw, relinked)
    as_written = decode_node(raw[0], specfile_version(document))
    return relinked, as_written


def check_signed_node(index_node: ConcreteNode, document: Mapping[str, Any]) -> ConcreteNode:
    """Refuse unless the signed spec root is the node the index described; returns it."""
    signed, as_written = signed_roots(document)
    difference = describe_difference(index_node, signed)
    if difference == _OTHER_DEPENDENCIES and _edges(as_written.edges) == _edges(index_node.edges):
        difference = None
    if difference is not None:
        raise SignedSpecMismatch(
            f"the index lists {index_node.short}, but its signed spec {difference}; "
            "refusing to install it",
            hint=_HINT,
        )
    return signed


def describe_difference(index_node: ConcreteNode, signed: ConcreteNode) -> str | None:
    """What the signed node says differently from the index node, or None (pure)."""
    if signed.hash != index_node.hash:
        return f"is for hash {signed.hash}"
    for field in ("name", "version", "platform", "os", "target", "external"):
        mine, theirs = getattr(index_node, field), getattr(signed, field)
        if mine != theirs:
            return f"says {field} {theirs!r}, not {mine!r}"
    if dict(signed.variants) != dict(index_node.variants):
        changed = sorted(
            k
            for k in set(signed.variant_map) | set(index_node.variant_map)
            if signed.variant(k) != index_node.variant(k)
        )
        return f"has other variants ({', '.join(changed)})"
    if _edges(signed.edges) != _edges(index_node.edges):
        return _OTHER_DEPENDENCIES
    return None


def _edges(edges: tuple[Edge, ...]) -> set[tuple[str, str, frozenset[str]]]:
    return {(e.name, e.hash, e.deptypes) for e in edges}


def _refuse_duplicates(raw: list[Any], root: ConcreteNode) -> None:
    """One hash, one node: a document listing a hash twice with other content is refused
    (decoding keeps the last, which would let the second silently replace the first)."""
    seen: dict[str, Any] = {}
    for item in raw:
        body = item if not isinstance(item, dict) or "name" in item else next(iter(item.values()))
        key = body.get("hash") if isinstance(body, dict) else None
        if not isinstance(key, str):
            continue
        if key in seen and seen[key] != body:
            raise DuplicateHash(
                f"the signed spec of {root.short} lists {key} twice with different content",
                hint="the package's metadata is damaged; ask the mirror's owner to push it again",
            )
        seen[key] = body
