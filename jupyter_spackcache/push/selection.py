"""Deciding what a push writes, before anything is written: specs, closure, key.

Everything here is pure (values in, values out), so every way a push can be refused is decided
up front and a refused push leaves the destination exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jupyter_spackcache.errors import SignatureError, SpackCacheError
from jupyter_spackcache.formats.specfile import decode_specfile
from jupyter_spackcache.spec.abstract import AbstractSpec
from jupyter_spackcache.spec.concrete import ConcreteDAG, ConcreteNode
from jupyter_spackcache.spec.satisfies import satisfies
from jupyter_spackcache.trust.keys import KeyInfo, normalize_fingerprint

if TYPE_CHECKING:
    from jupyter_spackcache.store.db import InstalledRecord

_KEY_HINT = (
    "create one with `spackcache keys create NAME EMAIL`, import one with "
    "`spackcache keys import FILE`, or push with --unsigned"
)
_LINK = frozenset({"link"})


class PushError(SpackCacheError):
    """A push was refused before anything was written."""

    code = "push"


@dataclass(frozen=True, slots=True)
class Installed:
    """An installed record with its decoded DAG (decoded once, used for matching and closure)."""

    record: InstalledRecord
    dag: ConcreteDAG

    @property
    def node(self) -> ConcreteNode:
        return self.dag.root


def with_dags(records: Iterable[InstalledRecord]) -> list[Installed]:
    """Pair each record with the DAG of its stored spec document (its own node is the root)."""
    out = []
    for record in records:
        dag = decode_specfile(record.spec)
        if dag.root_hash != record.hash:
            raise PushError(
                f"the stored spec of {record.name}/{record.hash[:7]} describes another node",
                hint="the install database is inconsistent; reinstall the package",
            )
        out.append(Installed(record, dag))
    return out


def choose_installed(
    requests: Sequence[tuple[str, AbstractSpec]], installed: Sequence[Installed]
) -> list[Installed]:
    """The one installed node each request names, in request order (duplicates dropped).

    Like ``spack buildcache push``, a request matching several installed nodes is refused
    rather than guessed: pushing the wrong build would be silent and hard to undo.
    """
    chosen: dict[str, Installed] = {}
    for text, spec in requests:
        found = [item for item in installed if satisfies(spec, item.dag)]
        if not found:
            raise PushError(
                f"no installed package matches '{text}'",
                hint="`spackcache find` lists what is installed",
            )
        if len(found) > 1:
            names = ", ".join(sorted(item.node.short for item in found))
            raise PushError(
                f"'{text}' matches {len(found)} installed packages: {names}",
                hint="add a version or /HASH to the spec to choose one",
            )
        chosen.setdefault(found[0].record.hash, found[0])
    return list(chosen.values())


def push_closure(
    roots: Sequence[Installed], lookup: Callable[[str], Installed | None]
) -> list[Installed]:
    """Roots plus their link/run dependencies that are not external, dependencies first.

    Every such dependency must be installed: a mirror entry whose runtime dependencies are
    missing from the mirror could not be installed from it.
    """
    order: dict[str, Installed] = {}
    for root in roots:
        for node in root.dag.post_order():
            if node.is_external or node.hash in order:
                continue
            item = root if node.hash == root.record.hash else lookup(node.hash)
            if item is None:
                raise PushError(
                    f"{node.short}, needed at run time by {root.node.short}, is not installed",
                    hint=f"install it first (`spackcache install /{node.hash[:7]}`)",
                )
            order[node.hash] = item
    return list(order.values())


def relocation_hashes(dag: ConcreteDAG, node_hash: str) -> list[str]:
    """The nodes whose prefixes a package may embed: itself, transitive link deps, direct run deps.

    This is the ``hash_to_prefix`` domain of Spack's buildinfo (externals excluded), in the
    order relocation maps them.
    """
    out = [n.hash for n in dag.traverse(_LINK, root=node_hash) if not n.is_external]
    for edge in dag.nodes[node_hash].edges:
        dep = dag.nodes.get(edge.hash)
        direct_run = "run" in edge.deptypes and dep is not None and not dep.is_external
        if direct_run and edge.hash not in out:
            out.append(edge.hash)
    return out


def hash_to_prefix(item: Installed, prefixes: Mapping[str, str]) -> dict[str, str]:
    """``hash_to_prefix`` for one package, from the install prefixes of the pushed closure."""
    missing = [h for h in relocation_hashes(item.dag, item.record.hash) if h not in prefixes]
    if missing:
        dep = item.dag.nodes[missing[0]]
        raise PushError(f"{dep.short}, a dependency of {item.node.short}, is not installed")
    return {h: prefixes[h] for h in relocation_hashes(item.dag, item.record.hash)}


def choose_signing_key(
    secret_keys: Sequence[KeyInfo], *, requested: str | None, unsigned: bool
) -> str | None:
    """The fingerprint to sign with (None for an unsigned push), or a one-line refusal.

    Without ``--key`` the only secret key is used; with several, guessing could publish a
    mirror signed by a key its users do not trust, so the user must choose.
    """
    if unsigned:
        if requested is not None:
            raise PushError("--key and --unsigned contradict each other", hint="choose one")
        return None
    available = sorted(key.fingerprint for key in secret_keys)
    if requested is not None:
        wanted = normalize_fingerprint(requested)
        if wanted not in available:
            raise SignatureError(
                f"no secret key {wanted} in the keyring to sign with", hint=_KEY_HINT
            )
        return wanted
    if not available:
        raise SignatureError("no secret key in the keyring to sign with", hint=_KEY_HINT)
    if len(available) > 1:
        raise SignatureError(
            f"{len(available)} secret keys could sign ({', '.join(available)})",
            hint="choose one with --key FINGERPRINT",
        )
    return available[0]
