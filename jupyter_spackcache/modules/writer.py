"""Keep the module roots in step with the store: one :func:`sync_modules` after every change.

Names depend on everything installed (a second build of a version renames the first), so
rather than patching files one by one, each sync computes the whole wanted set from the store
and makes the roots match it: files whose text differs are replaced atomically (written aside,
then renamed), and files we wrote earlier that are no longer wanted are removed. Only files
carrying our marker line are ever touched, so a site's or user's own modulefiles in the same
directory are safe, and a root inside a read-only upstream store is never written.

Syncs of several processes are serialised by a lock file, so one cannot remove a file another
has just written for a newer install.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..config import MODULE_FORMATS, Config
from ..errors import ConfigError
from ..statedir import private_file
from ..store.db import InstalledRecord, StoreDB
from ..store.lock import FileLock
from . import lmod, tcl
from .content import ModuleFile, module_files
from .names import module_names

_RENDERERS: dict[str, tuple[Callable[[ModuleFile], str], str]] = {
    "lmod": (lmod.render, lmod.SUFFIX),
    "tcl": (tcl.render, tcl.SUFFIX),
}
#: bytes read from a file's start to find the marker
_HEAD = 256


@dataclass(frozen=True, slots=True)
class ModuleSync:
    """What one sync changed."""

    written: tuple[Path, ...]
    removed: tuple[Path, ...]
    #: DAG hash -> module name, for every record that has a module
    names: dict[str, str]


def with_modules(records: list[InstalledRecord], config: Config) -> list[InstalledRecord]:
    """The records that get a modulefile: explicit ones, or all with ``modules.all_nodes``."""
    if not config.modules.enable:
        return []
    return [r for r in records if r.explicit or config.modules.all_nodes]


def installed_module_names(records: list[InstalledRecord], config: Config) -> dict[str, str]:
    """DAG hash -> module name, given every installed record (for listings: no file I/O)."""
    return module_names(r.node for r in with_modules(records, config))


def sync_modules(config: Config, store: StoreDB) -> ModuleSync:
    """Write, rewrite and remove modulefiles until the roots match the store."""
    with _sync_lock(config):
        records = store.installed() if config.modules.enable else []
        chosen = with_modules(records, config)
        names = module_names(r.node for r in chosen)
        by_hash = {r.hash: r for r in records}  # one read of the store, no query per edge
        files = module_files(chosen, names, by_hash.get) if chosen else []
        written: list[Path] = []
        removed: list[Path] = []
        failure: Exception | None = None
        for fmt in MODULE_FORMATS:  # one format failing (its root unwritable) spares the other
            try:
                root = config.module_root(fmt)
                _refuse_upstream(root, config)
                wanted: dict[Path, str] = {}
                if fmt in config.modules.enable:
                    render, suffix = _RENDERERS[fmt]
                    wanted = {root / f"{m.name}{suffix}": render(m) for m in files}
                for path, text in wanted.items():
                    if _write_if_changed(path, text):
                        written.append(path)
                removed += _remove_unwanted(root, set(wanted))
            except (OSError, ConfigError) as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
        return ModuleSync(tuple(written), tuple(removed), names)


def _refuse_upstream(root: Path, config: Config) -> None:
    for upstream in config.upstreams:
        if root == upstream or upstream in root.parents:
            raise ConfigError(
                f"the module root {root} is inside the upstream store {upstream}",
                hint="upstream (site) trees are read-only: point modules.roots elsewhere",
            )


def _write_if_changed(path: Path, text: str) -> bool:
    data = text.encode()
    with contextlib.suppress(OSError):
        if path.read_bytes() == data:
            return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".module-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # modulefiles are read by `module`, maybe as another user's job
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def _remove_unwanted(root: Path, wanted: set[Path]) -> list[Path]:
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for path in _ours(root):
        if path not in wanted:
            path.unlink(missing_ok=True)
            removed.append(path)
            with contextlib.suppress(OSError):  # only when empty: others' files stay
                path.parent.rmdir()
    return removed


def _ours(root: Path) -> Iterator[Path]:
    """Files under ``root`` (at ``name/version`` depth) that carry our marker."""
    for path in root.glob("*/*"):
        if not path.is_file() or path.name.startswith(".module-"):
            continue
        try:
            with path.open("rb") as fh:
                head = fh.read(_HEAD)
        except OSError:
            continue
        if lmod.MARKER.encode() in head:
            yield path


@contextlib.contextmanager
def _sync_lock(config: Config) -> Iterator[None]:
    """One sync at a time per user: a POSIX record lock, since the home is often on NFS.

    ``flock`` is not shared between NFS clients (two login nodes would both get it); the store's
    :class:`FileLock` uses ``lockf``, which NFS's lock manager does share, and also serialises
    the threads of one server.
    """
    with FileLock(config.home / "modules.lock"):
        private_file(config.home / "modules.lock")
        yield


def sync_after_change(config: Config, store: StoreDB) -> str | None:
    """:func:`sync_modules` after an install or uninstall; a failure is a warning, not an error.

    The packages are installed (or gone) whatever happens to their modulefiles, so a full disk
    or a bad ``modules.roots`` must not fail or undo that: the caller shows the returned
    warning, and ``spackcache module refresh`` repairs the files later.
    """
    try:
        sync_modules(config, store)
    except Exception as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        return f"modulefiles not updated: {first} (run `spackcache module refresh`)"
    return None
