"""All configured mirrors with their cached indices: refresh, open readers, report failures.

One unreachable mirror must not hide the others: :meth:`Catalog.indices` returns what it could
refresh (falling back to the cached copy when a mirror is down) and a list of per-mirror errors
for the front door to show.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import SpackCacheError, StateError
from .detect import open_reader
from .indexcache import IndexCache, MirrorIndex
from .retry import Retrier

if TYPE_CHECKING:
    from ..config import Config, MirrorConfig
    from ..trust import Keyring
    from .base import MirrorReader


_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MirrorProblem:
    mirror: str
    error: SpackCacheError
    #: True when a previously cached index is used instead
    stale: bool


class Catalog:
    def __init__(self, config: Config, keyring: Keyring | None) -> None:
        self.config = config
        self.keyring = keyring
        self.cache = IndexCache(config.cache_dir / "indices")
        #: one retry policy for every request to every mirror, and the count of retries
        self.retrier = Retrier(config.network)
        self._readers: dict[str, MirrorReader] = {}
        self._indices: dict[str, MirrorIndex] = {}

    def reader(self, mirror: MirrorConfig) -> MirrorReader:
        if mirror.name not in self._readers:
            meta = self.cache.meta(mirror)
            reader = open_reader(
                mirror,
                self.keyring,
                layout=meta.layout if meta else None,
                timeout=self.retrier.policy.timeout,
                retrier=self.retrier,
            )
            if hasattr(reader, "max_index_bytes"):  # v2, v3 (OCI lists tags instead)
                setattr(reader, "max_index_bytes", self.config.limits.max_index_bytes)  # noqa: B010
            self._trust_site_pins(mirror, reader)
            self._readers[mirror.name] = reader
        return self._readers[mirror.name]

    def _trust_site_pins(self, mirror: MirrorConfig, reader: MirrorReader) -> None:
        """Keys the site pinned for its own mirror are trusted from the start, for every user.

        The administrator vouched for them, so no user should have to; and only those keys are
        imported from what the mirror publishes, so a mirror cannot slip in another one.
        """
        if mirror.origin != "site" or mirror.unsigned or not mirror.fingerprints:
            return
        if self.keyring is None:
            return
        have = {k.fingerprint for k in self.keyring.list_keys()}
        missing = set(mirror.fingerprints) - have
        if not missing:
            return
        try:
            blocks = reader.public_keys()
        except SpackCacheError:
            return  # unreachable now: verification will say which key is missing
        for armored in blocks:
            offered = {k.fingerprint for k in self.keyring.inspect(armored)} & missing
            if offered:
                self.keyring.import_keys(armored, only=sorted(offered))
                missing -= offered

    def reader_named(self, name: str) -> MirrorReader:
        """The reader of the configured mirror ``name`` (what a plan node records)."""
        return self.reader(self.config.mirror(name))

    def index(self, mirror: MirrorConfig, *, refresh: bool = True) -> MirrorIndex:
        """The mirror's index, refreshed with one small request when a cached copy exists."""
        if mirror.name in self._indices:
            return self._indices[mirror.name]
        meta = self.cache.meta(mirror)
        if meta is not None and self._damaged(mirror):
            meta = None  # rebuilt below
        if meta is not None and not refresh:
            index = self.cache.open(mirror)
            if index is not None:
                self._indices[mirror.name] = index
                return index
        reader = self.reader(mirror)
        fetch = reader.fetch_index(
            known_hash=meta.index_hash if meta else None, etag=meta.etag if meta else None
        )
        opened = None
        if not fetch.changed and meta is not None:
            self.cache.touch(mirror, etag=fetch.etag)
            opened = self.cache.open(mirror)
        if opened is None:
            if fetch.data is None:  # the mirror said "unchanged" but our copy vanished
                fetch = reader.fetch_index(known_hash=None, etag=None)
            opened = self.cache.store(
                mirror, reader.layout, fetch, max_bytes=self.config.limits.max_index_bytes
            )
        self._indices[mirror.name] = opened
        return opened

    def _damaged(self, mirror: MirrorConfig) -> bool:
        """Whether the cached copy fails a cheap check (it is then removed, to be rebuilt)."""
        index = self.cache.open(mirror)
        if index is None:
            return True
        try:
            index.probe()
        except StateError as exc:
            _log.warning("%s; rebuilding it", exc.message)
            return True
        finally:
            index.close()
        return False

    def indices(
        self, *, refresh: bool = True, only: str | None = None
    ) -> tuple[list[MirrorIndex], list[MirrorProblem]]:
        found: list[MirrorIndex] = []
        problems: list[MirrorProblem] = []
        mirrors = [self.config.mirror(only)] if only else list(self.config.mirrors)
        for mirror in mirrors:
            try:
                found.append(self.index(mirror, refresh=refresh))
            except SpackCacheError as exc:
                cached = self.cache.open(mirror)
                if cached is not None:
                    found.append(cached)
                problems.append(MirrorProblem(mirror.name, exc, stale=cached is not None))
        return found, problems

    def forget(self, mirror: MirrorConfig) -> None:
        self.cache.remove(mirror)
        self._readers.pop(mirror.name, None)
        index = self._indices.pop(mirror.name, None)
        if index is not None:
            index.close()

    def close(self) -> None:
        for index in self._indices.values():
            index.close()
        self._indices.clear()
        for reader in self._readers.values():
            reader.close()
        self._readers.clear()
