"""The parts a front door works with, built when first needed and closed together.

Configuration, host, keyring, mirror catalog, store and upstream stores: a front door opens one
Session per command (the CLI, each ``%spack`` line) or keeps one for its queries (the server's
core thread) and hands the parts the use cases in :mod:`jupyter_spackcache.ops` ask for,
including the memo of host compatibility that the queries behind ``list`` share.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING

from .config import Config, load_config
from .errors import ConfigError
from .host import Host, detect_host
from .mirrors.catalog import Catalog, MirrorProblem
from .ops.query import HostChecks

if TYPE_CHECKING:
    from .mirrors.indexcache import MirrorIndex
    from .store import StoreDB
    from .store.upstream import UpstreamStore
    from .trust import Keyring


class Session:
    def __init__(self, config: Config | None = None, env: Mapping[str, str] | None = None) -> None:
        self.config = config or load_config(env)
        self.warnings: list[str] = []
        from .mirrors.redirects import install_guard

        install_guard(self.config.policy.redirect_refusal)
        from .statedir import private_dir

        private_dir(self.config.home)  # a home made 755 by an older version is narrowed too

    # ---- lazily built parts --------------------------------------------------------------

    @cached_property
    def host(self) -> Host:
        return detect_host(self.config.host)

    @cached_property
    def upstreams(self) -> list[UpstreamStore]:
        """The site's read-only Spack stores (``upstreams`` in config), reused, never written.

        One that is missing or unmounted (an automounter that timed out, a typo) is skipped
        with a warning rather than failing every install of every user: its packages are
        simply downloaded instead.
        """
        from .store.upstream import UpstreamStore

        usable = []
        for root in self.config.upstreams:
            store = UpstreamStore(root)
            try:
                store.names()
            except ConfigError as exc:
                self.warn(f"{exc.message}; skipped")
                continue
            usable.append(store)
        return usable

    def warn(self, message: str) -> None:
        """Something the user should know that did not stop the command (shown by the CLI,
        logged by the server)."""
        import logging

        self.warnings.append(message)
        logging.getLogger("jupyter_spackcache").warning("%s", message)

    @cached_property
    def host_checks(self) -> HostChecks:
        """Host compatibility, memoised per index content for every query of this session."""
        return HostChecks(self.host)

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
