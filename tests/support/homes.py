"""A private ``$SPACKCACHE_HOME`` per test, posing as no other host and under no site file.

The directory is short and under /tmp because gpg puts its sockets there (a socket path is
limited to about 100 characters); the host and fault variables a developer may have set are
cleared so that each test sees this machine.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_CLEARED = (
    "SPACKCACHE_PLATFORM",
    "SPACKCACHE_OS",
    "SPACKCACHE_TARGET",
    "SPACKCACHE_LIBC",
    "SPACKCACHE_INSTALL_ROOT",
    "SPACKCACHE_FAULT",
)


def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefix: str) -> Iterator[Path]:
    """For a module's ``home`` fixture: ``yield from isolated_home(tmp_path, monkeypatch, "x")``."""
    home = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    monkeypatch.setenv("SPACKCACHE_HOME", str(home))
    monkeypatch.setenv("SPACKCACHE_SITE_CONFIG", str(tmp_path / "site.yaml"))
    for var in _CLEARED:
        monkeypatch.delenv(var, raising=False)
    yield home
    shutil.rmtree(home, ignore_errors=True)
