"""The parts a front door works with, built when first needed and closed together.

Configuration, host, keyring, mirror catalog, store and upstream stores: a front door opens one
Session per command (the CLI, each ``%spack`` line) or keeps one for its queries (the server's
core thread) and hands the parts the use cases in :mod:`jupyter_spackcache.ops` ask for. The
queries behind ``list`` and ``info`` live here too, because they share one memo of host
compatibility per index.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from .config import Config, load_config
from .errors import SpackCacheError
from .host import Host, detect_host
from .mirrors.catalog import Catalog, MirrorProblem
from .resolve import BUILD_ONLY, Candidate, HostCheck, Resolution, resolve
from .spec.abstract import AbstractSpec
from .spec.concrete import ConcreteNode
from .spec.parser import parse_spec, parse_specs
from .spec.satisfies import node_satisfies, satisfies
from .spec.version import Version

if TYPE_CHECKING:
    from .mirrors.base import SpecRecord
    from .mirrors.indexcache import MirrorIndex
    from .store import StoreDB
    from .store.upstream import UpstreamStore
    from .trust import Keyring


@dataclass(frozen=True, slots=True)
class Listing:
    """One installable build, as ``spackcache list`` shows it."""

    mirror: str
    node: ConcreteNode
    compatible: bool
    reason: str | None = None


class Session:
    def __init__(self, config: Config | None = None, env: Mapping[str, str] | None = None) -> None:
        self.config = config or load_config(env)
        self._checks: dict[tuple[str, str], HostCheck] = {}

    # ---- lazily built parts --------------------------------------------------------------

    @cached_property
    def host(self) -> Host:
        return detect_host(self.config.host)

    @cached_property
    def upstreams(self) -> list[UpstreamStore]:
        """The site's read-only Spack stores (``upstreams`` in config), reused, never written."""
        from .store.upstream import UpstreamStore

        return [UpstreamStore(root) for root in self.config.upstreams]

    @cached_property
    def keyring(self) -> Keyring:
        from .trust import Keyring

        return Keyring(self.config.gnupg_home)

    @cached_property
    def catalog(self) -> Catalog:
        return Catalog(self.config, self.keyring)

    @cached_property
    def store(self) -> StoreDB:
        """The database of installed packages (shared by every process of this user)."""
        from .store import StoreDB, default_db_path

        return StoreDB(default_db_path(self.config))

    def close(self) -> None:
        if "catalog" in self.__dict__:
            self.catalog.close()
        if "keyring" in self.__dict__:
            self.keyring.close()  # stops the gpg-agent that signing or key creation started
        if "store" in self.__dict__:
            self.store.close()
            del self.__dict__["store"]

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- configuration changes ---------------------------------------------------------

    def adopt(self, config: Config) -> None:
        """Use ``config`` from now on (after a mirror was added or removed)."""
        self.close()
        self.__dict__.pop("catalog", None)
        self.config = config

    def indices(self, *, refresh: bool = True) -> tuple[list[MirrorIndex], list[MirrorProblem]]:
        return self.catalog.indices(refresh=refresh)

    # ---- queries ---------------------------------------------------------------------------

    def _host_check(self, index: MirrorIndex) -> HostCheck:
        """One memo of host compatibility per index content, shared by every query."""
        key = (index.name, index.meta.index_hash)
        check = self._checks.get(key)
        if check is None or check.source is not index:
            check = self._checks[key] = HostCheck(index, self.host)
        return check

    def resolve(self, text: str, *, refresh: bool = True) -> Resolution:
        request = parse_spec(text)
        indices, _problems = self.indices(refresh=refresh)
        return resolve(request, indices, self.host)

    def resolve_many(self, text: str, *, refresh: bool = True) -> list[Resolution]:
        requests = parse_specs(text)
        indices, _problems = self.indices(refresh=refresh)
        return [resolve(r, indices, self.host) for r in requests]

    def package_metadata(self, candidate: Candidate) -> dict[str, SpecRecord | SpackCacheError]:
        """Verified metadata (signature checked; tarball size and checksum) per node to download.

        A node whose metadata cannot be verified maps to the error saying why, so callers can
        show what is known and name the fix (typically trusting the mirror's key).
        """
        reader = self.catalog.reader(self.config.mirror(candidate.source))
        out: dict[str, SpecRecord | SpackCacheError] = {}
        for node in candidate.to_download:
            try:
                out[node.hash] = reader.fetch_spec(node, candidate.dag)
            except SpackCacheError as exc:
                out[node.hash] = exc
        return out

    def listing(
        self,
        query: str | None = None,
        *,
        all_targets: bool = False,
        refresh: bool = True,
        exact: bool = False,
    ) -> tuple[list[Listing], list[MirrorProblem]]:
        """Builds in the mirrors matching ``query``: by default only those this host can run.

        A lone word matches every package name containing it (like ``spack list``) unless
        ``exact`` asks for that one package.
        """
        request = parse_spec(query) if query else None
        indices, problems = self.indices(refresh=refresh)
        out: list[Listing] = []
        seen: set[str] = set()
        for index in indices:
            check = self._host_check(index)
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
