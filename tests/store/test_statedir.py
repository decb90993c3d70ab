"""Per-user state is private, and safe on network home directories (issue 12).

The network-filesystem check goes through the ``statedir.statfs_type`` seam: tests pose as NFS
rather than mounting one.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_spackcache import statedir
from jupyter_spackcache.config import Config
from jupyter_spackcache.server.tasks.db import TaskDB
from jupyter_spackcache.session import Session
from jupyter_spackcache.store.db import StoreDB
from jupyter_spackcache.store.lock import NodeLock


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022() -> object:
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_state_is_private_even_when_it_existed_world_readable(
    tmp_path: Path, umask_022: object
) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    Session(Config(home=home)).close()
    assert mode(home) == 0o700
    db = StoreDB(home / "store.sqlite")
    db.installed()
    tasks = TaskDB(home / "tasks.sqlite")
    try:
        for name in ("store.sqlite", "tasks.sqlite"):
            for path in home.glob(name + "*"):
                assert mode(path) == 0o600, path
    finally:
        db.close()
        tasks.close()
    fresh = tmp_path / "deep" / "state"
    StoreDB(fresh / "store.sqlite").close()
    assert mode(fresh) == 0o700


@pytest.mark.parametrize(
    ("magic", "name"),
    [
        (0x6969, "NFS"),
        (0x0BD00BD0, "Lustre"),
        (0x47504653, "GPFS"),
        (0x19830326, "BeeGFS"),
        (0xFF534D42, "CIFS"),
        (0xEF53, None),
        (None, None),
    ],
)
def test_network_filesystems_are_recognised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, magic: int | None, name: str | None
) -> None:
    monkeypatch.setattr(statedir, "statfs_type", lambda path: magic)
    assert statedir.network_filesystem(tmp_path / "not" / "yet") == name
    assert statedir.journal_mode(tmp_path / "x.sqlite") == ("DELETE" if name else "WAL")


def test_the_real_statfs_reads_this_filesystem(tmp_path: Path) -> None:
    magic = statedir._statfs_type(str(tmp_path))
    assert isinstance(magic, int) and magic != 0
    assert statedir.network_filesystem(tmp_path) is None  # pytest's tmp is local here


def test_on_a_network_home_the_databases_use_the_rollback_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statedir, "statfs_type", lambda path: 0x6969)
    db = StoreDB(tmp_path / "store.sqlite")
    db.installed()
    tasks = TaskDB(tmp_path / "tasks.sqlite")
    try:
        for name in ("store.sqlite", "tasks.sqlite"):
            with sqlite3.connect(tmp_path / name) as probe:
                assert probe.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert not list(tmp_path.glob("*-wal")) and not list(tmp_path.glob("*-shm"))
    finally:
        db.close()
        tasks.close()
    monkeypatch.setattr(statedir, "statfs_type", lambda path: 0xEF53)  # back on local disk
    db = StoreDB(tmp_path / "store.sqlite")
    db.installed()
    with sqlite3.connect(tmp_path / "store.sqlite") as probe:
        assert probe.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_install_locks_are_posix_record_locks(tmp_path: Path) -> None:
    """fcntl/lockf locks (POSIX in /proc/locks) work across NFS clients; flock does not."""
    with NodeLock(tmp_path, "abc"):
        inode = (tmp_path / "abc.lock").stat().st_ino
        held = [
            line for line in Path("/proc/locks").read_text().splitlines() if f":{inode} " in line
        ]
        assert held and all("POSIX" in line for line in held), held
        # another process cannot take it meanwhile
        code = (
            "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR)\n"
            "try: fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
            "except OSError: sys.exit(3)\n"
        )
        other = subprocess.run([sys.executable, "-c", code, str(tmp_path / "abc.lock")])
        assert other.returncode == 3
