"""The install store: layout, the SQLite record of installs, and per-node file locks.

The concurrency tests use real processes (spawned, not forked) on one real database file.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_spackcache.config import Config, HostOverrides
from jupyter_spackcache.errors import InstallError
from jupyter_spackcache.formats.specfile import decode_specfile
from jupyter_spackcache.host import detect_host
from jupyter_spackcache.resolve import resolve
from jupyter_spackcache.spec.concrete import ConcreteNode
from jupyter_spackcache.spec.parser import parse_spec
from jupyter_spackcache.store import (
    InstalledRecord,
    NodeLock,
    StoreDB,
    StoreLayout,
    StoreLock,
    default_db_path,
    projection,
)
from jupyter_spackcache.store import db as dbmod
from tests.support.synth import N, closure, glibc, runtime

HOST = detect_host(
    HostOverrides(platform="linux", os="debian12", target="haswell", libc="glibc@2.36:/usr")
)
WORKERS = 8


# ---------------------------------------------------------------------------- fixtures
def pool() -> dict[str, N]:
    """20 installable nodes: gcc-runtime, 6 libraries, 8 mid-level libs, 5 tools (+ glibc)."""
    rt = runtime(glibc("2.36"))
    libs = [N(f"lib{i}", "1.0", deps=[(rt, ("link",), ())]) for i in range(6)]
    mids = [
        N(
            f"mid{j}",
            "2.0",
            deps=[
                (libs[j % 6], ("build", "link"), ()),
                (libs[(j + 1) % 6], ("run",), ()),
                (rt, ("link",), ()),
            ],
        )
        for j in range(8)
    ]
    tools = [
        N("tool", f"3.{k}", deps=[(mids[k], ("build", "link"), ()), (mids[k + 1], ("build",), ())])
        for k in range(5)
    ]
    everything = [rt, *libs, *mids, *tools]
    return {n.name if n.name != "tool" else f"tool{n.version}": n for n in everything}


def spec_doc(root: N) -> dict[str, Any]:
    return {"spec": {"_meta": {"version": 5}, "nodes": [n.to_dict() for n in closure([root])]}}


def record(layout: StoreLayout, n: N, *, explicit: bool = False) -> InstalledRecord:
    doc = spec_doc(n)
    node = decode_specfile(doc).root
    return InstalledRecord.create(
        doc, prefix=layout.prefix(node), root=layout.root, mirror="demo", explicit=explicit
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[StoreDB, StoreLayout]]:
    db = StoreDB(tmp_path / "state" / "store.sqlite")
    yield db, StoreLayout(tmp_path / "opt")
    db.close()


# ---------------------------------------------------------------------------- layout
def test_projection_is_spack_default_and_sanitised(tmp_path: Path) -> None:
    node = ConcreteNode("zlib-ng", "2.2.1", "a" * 32, "linux", "debian12", "x86_64_v3")
    assert projection(node) == f"linux-x86_64_v3/zlib-ng-2.2.1-{'a' * 32}"
    odd = ConcreteNode("py-x", "git.ab/c=1.0", "b" * 32, "linux", "debian12", "zen3")
    assert projection(odd) == f"linux-zen3/py-x-git.ab_c_1.0-{'b' * 32}"
    layout = StoreLayout(tmp_path / "opt")
    assert layout.prefix(node) == tmp_path / "opt" / projection(node)
    assert layout.spec_file(node) == layout.prefix(node) / ".spack" / "spec.json"
    assert layout.sbang() == tmp_path / "opt" / "bin" / "sbang"
    assert not (tmp_path / "opt").exists()
    assert layout.staging().is_dir() and layout.locks().is_dir()
    assert layout.locks() == tmp_path / "opt" / ".spackcache" / "locks"


# ---------------------------------------------------------------------------- database
def test_add_get_roundtrip_and_idempotence(store: tuple[StoreDB, StoreLayout]) -> None:
    db, layout = store
    nodes = pool()
    rec = record(layout, nodes["tool3.1"])
    assert db.get(rec.hash) is None and not db.has(rec.hash)
    assert db.add(rec) is True
    got = db.get(rec.hash)
    assert got == rec
    assert got.node.edges == rec.node.edges and got.spec == rec.spec
    assert got.prefix.endswith(f"/tool-3.1-{rec.hash}") and got.mirror == "demo"
    # same hash again: nothing changes, except that explicit can only go up
    assert db.add(rec) is False
    assert db.get(rec.hash) == rec
    assert db.add(record(layout, nodes["tool3.1"], explicit=True)) is False
    assert db.get(rec.hash).explicit is True  # type: ignore[union-attr]
    db.set_explicit(rec.hash, False)
    assert db.get(rec.hash).explicit is False  # type: ignore[union-attr]
    db.remove(rec.hash)
    assert db.get(rec.hash) is None and db.installed() == []
    db.remove(rec.hash)  # removing what is not there is a no-op


def test_unknown_hash_and_bad_files_give_one_line_errors(tmp_path: Path) -> None:
    db = StoreDB(tmp_path / "s.sqlite")
    with pytest.raises(InstallError, match=r"^no installed package has the hash abc$"):
        db.set_explicit("abc", True)
    db.close()
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(InstallError) as err:
        StoreDB(bad)
    assert str(err.value) == f"the install database {bad} cannot be used: file is not a database"
    assert "\n" not in str(err.value) and err.value.hint
    assert bad.read_bytes() == b"this is not sqlite" * 100


def test_a_full_disk_fails_the_write_cleanly(store: tuple[StoreDB, StoreLayout]) -> None:
    db, layout = store
    nodes = pool()
    db.add(record(layout, nodes["lib0"]))
    before = db.installed()
    raw = db._connection()  # cap the file at its current size: SQLite reports "disk is full"
    pages = raw.execute("PRAGMA page_count").fetchone()[0]
    raw.execute(f"PRAGMA max_page_count = {pages}")
    big = record(layout, nodes["tool3.0"])
    big.spec["padding"] = os.urandom(64 * 1024).hex()  # incompressible
    with pytest.raises(InstallError) as err:
        db.add(big)
    assert str(err.value) == (
        f"the install database {db.path} cannot be used: database or disk is full"
    )
    assert db.installed() == before and db.dependents(nodes["mid0"].hash) == []
    raw.execute("PRAGMA max_page_count = 1073741823")
    assert db.add(big) is True


def test_installed_filters_by_root_and_sorts(store: tuple[StoreDB, StoreLayout]) -> None:
    db, layout = store
    other = StoreLayout(layout.root.parent / "other")
    nodes = pool()
    for key in ["mid3", "lib2", "tool3.0"]:
        db.add(record(layout, nodes[key]))
    db.add(record(other, nodes["lib5"]))
    assert [r.name for r in db.installed()] == ["lib2", "lib5", "mid3", "tool"]
    assert [r.name for r in db.installed(layout.root)] == ["lib2", "mid3", "tool"]
    assert [r.name for r in db.installed(other.root)] == ["lib5"]


def test_dependents_follow_link_and_run_edges_only(store: tuple[StoreDB, StoreLayout]) -> None:
    db, layout = store
    nodes = pool()
    for n in nodes.values():
        db.add(record(layout, n))

    def names(recs: list[InstalledRecord]) -> list[str]:
        return sorted(f"{r.name}@{r.version}" for r in recs)

    # mid1 is a link dep of tool@3.1 but only a build dep of tool@3.0
    assert names(db.dependents(nodes["mid1"].hash)) == ["tool@3.1"]
    # lib1 is linked by mid1 and mid7, run by mid0 and mid6
    assert names(db.dependents(nodes["lib1"].hash)) == [f"mid{j}@2.0" for j in (0, 1, 6, 7)]
    rt_users = names(db.dependents(nodes["gcc-runtime"].hash))
    assert len(rt_users) == 14 and "tool@3.0" not in rt_users
    db.remove(nodes["mid1"].hash)
    assert names(db.dependents(nodes["lib1"].hash)) == [f"mid{j}@2.0" for j in (0, 6, 7)]
    assert db.dependents(nodes["tool3.4"].hash) == []


def test_schema_is_versioned_and_a_later_migration_adds_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.sqlite"
    layout = StoreLayout(tmp_path / "opt")
    rec = record(layout, pool()["lib0"])
    db = StoreDB(path)
    db.add(rec)
    db.close()
    StoreDB(path).close()  # reopening is idempotent
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)

    later = (*dbmod.MIGRATIONS, ("CREATE TABLE tasks (id TEXT PRIMARY KEY, state TEXT)",))
    monkeypatch.setattr(dbmod, "MIGRATIONS", later)
    monkeypatch.setattr(dbmod, "SCHEMA_VERSION", len(later))
    db = StoreDB(path)
    assert db.get(rec.hash) == rec
    db.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version FROM schema_version").fetchall() == [(2,)]
        assert raw.execute("SELECT count(*) FROM tasks").fetchone() == (0,)
    monkeypatch.undo()
    with pytest.raises(InstallError) as err:
        StoreDB(path)
    assert str(err.value) == (
        f"the install database {path} has schema 2; this jupyter-spackcache knows up to 1"
    )
    assert err.value.hint == "upgrade jupyter-spackcache"


def test_default_db_path(tmp_path: Path) -> None:
    assert default_db_path(Config(home=tmp_path)) == tmp_path / "store.sqlite"


def test_node_source_lets_the_resolver_reuse_installed_nodes(
    store: tuple[StoreDB, StoreLayout],
) -> None:
    db, layout = store
    nodes = pool()
    wanted = nodes["tool3.2"]
    for n in closure([wanted]):
        if n.external is None:
            db.add(record(layout, n, explicit=n is wanted))
    source = db.node_source()
    assert source.name == "installed"
    assert source.names() == ["gcc-runtime", "lib2", "lib3", "lib4", "mid2", "mid3", "tool"]
    assert source.hashes_with_prefix(wanted.hash[:7]) == [wanted.hash]
    assert source.in_buildcache(wanted.hash) and not source.in_buildcache("nope")

    result = resolve(parse_spec("tool"), [source], HOST, installed=db.has)
    chosen = result.raise_if_unresolved()
    assert chosen.source == "installed" and chosen.root.hash == wanted.hash
    assert chosen.to_download == ()
    assert [n.name for n in chosen.runtime] == [
        "glibc",
        "gcc-runtime",
        "lib2",
        "lib3",
        "mid2",
        "tool",
    ]
    # a removed runtime dependency makes the installed tool unusable, and the reason says so
    db.remove(nodes["lib3"].hash)
    result = resolve(parse_spec("tool"), [db.node_source()], HOST, installed=db.has)
    assert result.chosen is None
    assert result.explain() == "1 build of tool: 1 need lib3, which is not in the build cache"


# ---------------------------------------------------------------------------- locks
def test_lock_excludes_threads_of_one_process_and_times_out(tmp_path: Path) -> None:
    first, second = NodeLock(tmp_path / "locks", "h1"), NodeLock(tmp_path / "locks", "h1")
    assert first.acquire(timeout=0)
    start = time.monotonic()
    assert second.acquire(timeout=0.2) is False
    assert time.monotonic() - start >= 0.2
    with pytest.raises(InstallError) as err:
        second.hold(0.05)
    assert str(err.value) == f"timed out after 0.05s waiting for the lock {tmp_path}/locks/h1.lock"
    assert NodeLock(tmp_path / "locks", "h2").acquire(timeout=0)  # other hashes are independent
    first.release()
    states = []
    with second.hold(1):
        states.append(second.held)
    states.append(second.held)
    assert states == [True, False]
    with pytest.raises(RuntimeError):
        second.release()
    with StoreLock(tmp_path / "locks") as whole:
        assert whole.path == tmp_path / "locks" / "store.lock"


_HOLDER = """
import sys, time
from pathlib import Path
from jupyter_spackcache.store import NodeLock
lock = NodeLock(Path(sys.argv[1]), sys.argv[2])
assert lock.acquire(timeout=5)
print("held", flush=True)
time.sleep(60)
"""


def test_kill_9_releases_the_lock(tmp_path: Path) -> None:
    locks = tmp_path / "locks"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(locks), "abc"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        mine = NodeLock(locks, "abc")
        assert mine.acquire(timeout=0.3) is False
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(5)
        assert mine.acquire(timeout=5) is True
        mine.release()
    finally:
        holder.kill()
        holder.wait()


# ---------------------------------------------------------------------------- many processes
def _install_worker(base: str, worker: int, start: Any, results: Any) -> None:
    """Install an overlapping subset of the pool the way the pipeline does: lock, check, act."""
    try:
        layout = StoreLayout(Path(base) / "opt")
        start.wait(60)  # a barrier: everyone begins together
        db = StoreDB(Path(base) / "store.sqlite")  # all open a fresh file at once
        nodes = list(pool().values())
        mine = [nodes[(worker * 3 + i) % len(nodes)] for i in range(14)]
        added = 0
        for n in mine:
            rec = record(layout, n, explicit=n.name == "tool")
            with NodeLock(layout.locks(), rec.hash).hold(30):
                if not db.has(rec.hash):
                    prefix = Path(rec.prefix)
                    prefix.mkdir(parents=True, exist_ok=True)
                    with open(prefix / "installed-by", "a") as marker:
                        marker.write(f"{os.getpid()}\n")
                    time.sleep(0.03)  # "extracting"
                    added += db.add(rec)
            db.add(rec)  # unlocked repeat: the database alone must keep it single
        db.close()
        results.put(("ok", added))
    except BaseException as exc:
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def _reader(base: str, start: Any, stop: Any, results: Any) -> None:
    """Poll while the writers run; every record seen must be whole, edges included."""
    try:
        layout = StoreLayout(Path(base) / "opt")
        start.wait(60)  # a barrier: everyone begins together
        db = StoreDB(Path(base) / "store.sqlite")
        polls, partial_counts, problems = 0, set(), []
        while not stop.is_set():
            with db.snapshot():
                seen = db.installed()
                edges = {
                    (d.hash, e.hash)
                    for r in seen
                    for e in r.node.runtime_edges()
                    for d in db.dependents(e.hash)
                }
            polls += 1
            partial_counts.add(len(seen))
            for rec in seen:
                if decode_specfile(rec.spec).root != rec.node or rec.prefix != str(
                    layout.prefix(rec.node)
                ):
                    problems.append(f"inconsistent {rec.name}")
                for edge in rec.node.runtime_edges():
                    if (rec.hash, edge.hash) not in edges:
                        problems.append(f"{rec.name} without its edge to {edge.name}")
        db.close()
        results.put(("reader", polls, sorted(partial_counts), problems[:5]))
    except BaseException as exc:
        results.put(("error", f"{type(exc).__name__}: {exc}"))


@pytest.mark.slow
def test_eight_processes_install_overlapping_nodes_exactly_once(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    start, stop, results = ctx.Barrier(WORKERS + 2), ctx.Event(), ctx.Queue()
    writers = [
        ctx.Process(target=_install_worker, args=(str(tmp_path), w, start, results))
        for w in range(WORKERS)
    ]
    reader = ctx.Process(target=_reader, args=(str(tmp_path), start, stop, results))
    for proc in [*writers, reader]:
        proc.start()
    start.wait(60)
    outcomes = [results.get(timeout=60) for _ in writers]
    stop.set()
    reader_outcome = results.get(timeout=60)
    for proc in [*writers, reader]:
        proc.join(10)
    assert [o for o in [*outcomes, reader_outcome] if o[0] == "error"] == []
    assert sum(added for _, added in outcomes) == 20

    db = StoreDB(tmp_path / "store.sqlite")
    installed = db.installed()
    assert sorted(r.hash for r in installed) == sorted(n.hash for n in pool().values())
    for rec in installed:
        assert len((Path(rec.prefix) / "installed-by").read_text().splitlines()) == 1, rec.name
        assert rec.explicit == (rec.name == "tool")
    db.close()

    _, polls, counts, problems = reader_outcome
    assert problems == []
    assert polls > 0 and any(0 < c < 20 for c in counts), counts  # it did watch writes happen
