"""Damaged, full or shared local state, file modes and limits settings (issue #16, items 9
and 11): each test builds its damaged input, and each failure is one line.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_spackcache.demo.build import DemoMirror
from tests.install.test_hostile import Run, ServeFn, _add, _refused
from tests.install.test_install import installed
from tests.support import hostile
from tests.support.homes import isolated_home

pytestmark = pytest.mark.slow


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield from isolated_home(tmp_path, monkeypatch, "sh")


# ---- 11. file modes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("umask", "tool", "data", "bin_dir"),
    [(0o022, 0o755, 0o640, 0o755), (0o077, 0o700, 0o600, 0o700)],
)
def test_unpacked_modes_follow_the_umask(
    tmp_path: Path, umask: int, tool: int, data: int, bin_dir: int
) -> None:
    import io
    import os
    import stat

    from jupyter_spackcache.install.extract import safe_extract

    dest = tmp_path / "staging"
    dest.mkdir()
    old = os.umask(umask)
    try:
        safe_extract(io.BytesIO(hostile.world_writable_tarball()), dest)
    finally:
        os.umask(old)

    def mode(*parts: str) -> int:
        return stat.S_IMODE(dest.joinpath(*parts).lstat().st_mode)

    assert mode("bin", "tool") == tool  # 04777 in the tarball: no setuid, no write for others
    assert mode("bin", "data") == data  # never more than the tarball's mode
    assert mode("bin") == bin_dir
    assert not any(
        p.lstat().st_mode & stat.S_IWOTH for p in [dest, *dest.rglob("*")] if not p.is_symlink()
    )


# ---- 9. damaged, full or shared state -------------------------------------------------------


def test_a_bad_store_row_is_skipped_by_name_and_doctor_repairs_the_state(
    signed_demo: DemoMirror, http_mirror: ServeFn, run: Run, home: Path
) -> None:
    import json
    import sqlite3

    _add(run, http_mirror(signed_demo.path).url)
    assert run("install", "demo-tool", "demo-scripts", "--yes")[0] == 0
    nodes = installed(run)
    assert run("doctor")[1].startswith("everything is consistent")
    with sqlite3.connect(home / "store.sqlite") as db:  # one row damaged on disk
        db.execute("UPDATE installs SET spec = x'00ff' WHERE name = 'libdemo-base'")
    code, out, err = run("find", "--json")
    assert code == 0, err
    assert "libdemo-base" not in {r["name"] for r in json.loads(out)}
    assert "damaged record for libdemo-base/" in err and "spackcache doctor" in err
    assert "Traceback" not in err
    # uninstall still works (and never removes what the damaged row's dependents need)
    assert run("uninstall", "demo-scripts", "--yes")[0] == 0
    # a prefix gone behind our back, and a spec file lost
    import shutil as sh

    sh.rmtree(nodes["demo-scripts"]["prefix"], ignore_errors=True)  # already gone: no-op
    spec_json = Path(nodes["demo-tool"]["prefix"]) / ".spack" / "spec.json"
    spec_json.unlink()
    code, out, _ = run("doctor")
    assert code == 1
    assert "problem: libdemo-base/" in out and "cannot be read" in out
    assert "problem: demo-tool@" in out and "spec.json is missing" in out
    code, out, err = run("doctor", "--repair")
    assert code == 0, out + err
    assert "repaired: libdemo-base/" in out
    assert "registered again, as explicit" in out  # from the prefix's own spec file
    assert spec_json.is_file()
    assert run("doctor")[1].startswith("everything is consistent")
    assert set(installed(run)) == {"libdemo-base", "libdemo-mid", "demo-tool"}


def test_a_damaged_index_cache_is_rebuilt(
    signed_demo: DemoMirror, http_mirror: ServeFn, run: Run, home: Path
) -> None:
    import sqlite3

    _add(run, http_mirror(signed_demo.path).url)
    assert "demo-tool" in run("list")[1]
    (cache,) = (home / "cache" / "indices").glob("*.sqlite")
    with sqlite3.connect(cache) as db:  # valid SQLite, garbage content
        db.execute("UPDATE nodes SET edges = 'not json', variants = x'ff'")
    code, out, err = run("list")
    assert code == 0 and "demo-tool" in out, err
    assert "cached index of mirror 'demo' was damaged" in err and "Traceback" not in err
    code, out, err = run("list")
    assert code == 0 and "demo-tool" in out and err == ""


def test_a_full_spackcache_home_is_one_line(
    signed_demo: DemoMirror,
    http_mirror: ServeFn,
    run: Run,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import subprocess

    point = Path(tempfile.mkdtemp(prefix="fh", dir="/tmp"))
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(point)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        point.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        full = point / "home"
        monkeypatch.setenv("SPACKCACHE_HOME", str(full))
        _add(run, http_mirror(signed_demo.path).url)
        filler = point / "filler"
        with open(filler, "wb") as f:  # take every byte that is left
            try:
                while True:
                    f.write(bytes(1 << 16))
                    f.flush()
            except OSError:
                pass
        code, _, err = run("list")  # the mirror is skipped with a one-line warning
        assert err.startswith("warning: mirror 'demo' skipped: cannot cache the index"), err
        assert "disk is full" in err and len(err.splitlines()) == 1
        code, _, err = run("install", "demo-tool", "--yes")
        assert code == 1, err
        assert err.startswith(("error: ", "warning: ")) and "Traceback" not in err
        assert "OperationalError" not in err and "full" in err, err
    finally:
        subprocess.run(["umount", str(point)], check=False)
        shutil.rmtree(point, ignore_errors=True)


def test_limits_are_read_from_config_and_checked(run: Run, home: Path, tmp_path: Path) -> None:
    from jupyter_spackcache.config import load_config

    (home / "config.yaml").write_text("limits:\n  max_unpack_ratio: 20\n")
    limits = load_config().limits
    assert limits.max_unpack_ratio == 20 and limits.max_index_bytes == 4 << 30
    (home / "config.yaml").write_text("limits:\n  max_unpack_ratio: -1\n")
    code, _, err = run("find")
    assert code == 1
    _refused(err, "config.yaml:2", "limits.max_unpack_ratio", "must be a positive whole number")
    (home / "config.yaml").write_text("limits:\n  max_unpak_ratio: 5\n")
    _refused(run("find")[2], "unknown key 'limits.max_unpak_ratio'", "max_unpack_ratio")


def test_doctor_compares_the_spack_database_too(
    signed_demo: DemoMirror, http_mirror: ServeFn, run: Run, home: Path
) -> None:
    import json

    _add(run, http_mirror(signed_demo.path).url)
    assert run("install", "demo-tool", "--yes")[0] == 0
    assert run("spack-db")[0] == 0  # the root is made usable as an upstream
    index = home / "opt" / ".spack-db" / "index.json"
    assert run("doctor")[1].startswith("everything is consistent")
    data = json.loads(index.read_text())
    dropped = next(
        h
        for h, rec in data["database"]["installs"].items()
        if str(rec.get("path", "")).startswith(str(home / "opt"))
    )
    del data["database"]["installs"][dropped]
    index.write_text(json.dumps(data))
    code, out, _ = run("doctor")
    assert code == 1 and "the Spack database lists 0 package(s) not installed and misses 1" in out
    assert run("doctor", "--repair")[0] == 0
    assert dropped in json.loads(index.read_text())["database"]["installs"]
    assert run("doctor")[1].startswith("everything is consistent")
