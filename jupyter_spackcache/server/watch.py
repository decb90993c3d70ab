"""Tell the panel when the store, the mirrors, the keys or the kernels change behind its back.

The CLI, ``%spack`` magics and other browser tabs change the same files the server reads:
the store database, the user config, the keyring and the kernel directories. Polling their
``stat`` once a second is cheap (no reads, no gpg) and catches every writer, whichever
process it is; a change drops the server's memoised listings and is published on the event
stream as a "changed" event naming what changed, so the panel reloads only that.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from ..config import Config
from ..kernels import kernel_dirs, user_kernel_dir

#: seconds between two looks at the files
INTERVAL = 1.0

Signature = tuple[tuple[str, int, int], ...]


def watched_paths(config: Config) -> dict[str, tuple[Path, ...]]:
    """The files behind each part of the panel ("installed", "mirrors", "keys", "kernels").

    A kernel directory's own mtime moves when a kernelspec is added or removed in it, which is
    what JupyterLab's launcher and the panel's Kernel buttons need to hear about.
    """
    store = config.home / "store.sqlite"
    gpg = config.gnupg_home
    mirrors = [config.user_config_path]
    if config.site_config is not None:
        mirrors.append(config.site_config)
    return {
        "installed": (store, Path(f"{store}-wal")),
        "mirrors": tuple(mirrors),
        "keys": (gpg / "pubring.kbx", gpg / "pubring.gpg", gpg / "trustdb.gpg"),
        "kernels": (user_kernel_dir(), *kernel_dirs(config)),
    }


def signature(paths: tuple[Path, ...]) -> Signature:
    """What changes when any of ``paths`` is written, created or removed."""
    out = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            out.append((str(path), -1, -1))
            continue
        out.append((str(path), st.st_mtime_ns, st.st_size))
    return tuple(out)


class StateWatch:
    """Remembers the signatures; ``poll`` says which parts changed since the last call."""

    def __init__(self, paths: Callable[[], Mapping[str, tuple[Path, ...]]]) -> None:
        self._paths = paths
        self._last: dict[str, Signature] = {k: signature(v) for k, v in paths().items()}

    def poll(self) -> list[str]:
        changed = []
        for part, paths in self._paths().items():
            now = signature(paths)
            if self._last.get(part) != now:
                self._last[part] = now
                changed.append(part)
        return changed
