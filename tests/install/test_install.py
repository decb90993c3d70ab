"""``spackcache install`` end to end: a real gcc-built, signed mirror served over HTTP.

The demo stack was built under a 200-character padded root; each test installs into a short
``$SPACKCACHE_HOME/opt``, so every binary, script and text file really has to be relocated, and
then runs the installed programs (no ``LD_LIBRARY_PATH``: the rpaths must be right).
Fault tests check the one-line message and that the store tree and database are unchanged.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_spackcache.commands import install as install_command
from jupyter_spackcache.commands.progress import BarProgress, LineProgress
from jupyter_spackcache.demo import broken
from jupyter_spackcache.demo.build import DemoMirror
from jupyter_spackcache.errors import InstallCancelled
from jupyter_spackcache.install.extract import read_buildinfo
from jupyter_spackcache.install.progress import ProgressEvent, Stage
from jupyter_spackcache.install.threadpool import default_jobs
from jupyter_spackcache.ops.install import InstallRequest, plan_install, run_plan
from jupyter_spackcache.session import Session
from jupyter_spackcache.store.recipes import description_at
from tests.support.homes import isolated_home
from tests.support.openapi import check_response
from tests.support.servers import V2_UNSIGNED, V3_UNSIGNED, StaticServer

Run = Callable[..., tuple[int, str, str]]
ServeFn = Callable[[str | Path], StaticServer]
DEMO = ("demo-tool", "demo-scripts")
ALL_DEMO = {"libdemo-base", "libdemo-mid", "demo-tool", "demo-scripts"}


@pytest.fixture
def demo(signed_demo: DemoMirror) -> DemoMirror:
    return signed_demo


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield from isolated_home(tmp_path, monkeypatch, "si")


def _copy_mirror(demo: DemoMirror, tmp_path: Path) -> Path:
    dest = tmp_path / "mirror-copy"
    shutil.copytree(demo.path, dest)
    return dest


def _add_demo(run: Run, url: str) -> None:
    code, _, err = run("mirror", "add", "demo", url)
    assert code == 0, err
    code, _, err = run("keys", "trust", "--mirror", "demo", "--yes")
    assert code == 0, err


def snapshot(home: Path, root: Path | None = None) -> dict[str, object]:
    """The install tree (names, link targets, file bytes) and every database row."""
    tree: dict[str, object] = {}
    root = root or home / "opt"
    if root.exists():
        for path in sorted(root.rglob("*")):
            rel = str(path.relative_to(root))
            if rel.startswith(".spackcache"):
                continue  # private scratch space (locks, staging, partial downloads)
            if path.is_symlink():
                tree[rel] = ("link", os.readlink(path))
            elif path.is_file():
                tree[rel] = path.read_bytes()
            else:
                tree[rel] = "dir"
    db_path = home / "store.sqlite"
    rows: list[tuple[object, ...]] = []
    if db_path.exists():
        with sqlite3.connect(db_path) as db:
            query = "SELECT hash, prefix, explicit FROM installs ORDER BY hash"
            rows = db.execute(query).fetchall()
    return {"tree": tree, "rows": rows}


def installed(run: Run) -> dict[str, dict[str, Any]]:
    code, out, _ = run("find", "--json")
    assert code == 0
    return {r["name"]: r for r in json.loads(out)}


def _tool_output(prefix: str, *args: str, env: dict[str, str] | None = None) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    result = subprocess.run(
        [f"{prefix}/bin/demo-tool", *args],
        capture_output=True,
        text=True,
        env=env or clean,
        check=True,
    )
    # strings inside binaries are padded with leading slashes to keep their length, as Spack does
    return re.sub("/{2,}", "/", result.stdout)


# ---- happy path ---------------------------------------------------------------------------------


def test_install_relocates_and_runs(
    demo: DemoMirror, http_mirror: ServeFn, run: Run, home: Path
) -> None:
    server = http_mirror(demo.path)
    _add_demo(run, server.url)
    code, out, err = run("install", *DEMO, "--yes")
    assert code == 0, err
    assert "install root: " + str(home / "opt") in out
    assert "check prefix-length: ok" in out
    nodes = installed(run)
    assert set(nodes) == ALL_DEMO
    assert nodes["demo-tool"]["explicit"] and nodes["demo-scripts"]["explicit"]
    assert not nodes["libdemo-mid"]["explicit"]
    build_root = demo.specs[0].store_root
    tool = str(nodes["demo-tool"]["prefix"])
    assert tool.startswith(str(home / "opt") + "/") and len(tool) < len(build_root)

    out = _tool_output(tool, "5")
    assert f"demo-tool prefix: {tool}\n" in out
    assert f"libdemo-mid prefix: {nodes['libdemo-mid']['prefix']}\n" in out
    assert "value: 41\n" in out  # 5*5 + 3*5 + 1

    scripts = Path(str(nodes["demo-scripts"]["prefix"]))
    hello = subprocess.run(
        [scripts / "bin" / "demo-hello", "2"], capture_output=True, text=True, check=True
    )
    assert f"demo-scripts prefix: {scripts}" in hello.stdout and "value: 11" in hello.stdout
    assert (scripts / "bin" / "demo-hello").read_text().startswith(f"#!{scripts}/bin/demo-sh\n")
    conf = (scripts / "etc" / "demo-scripts.conf").read_text()
    assert f"prefix = {scripts}\n" in conf and f"tool = {tool}/bin/demo-tool" in conf
    assert os.readlink(scripts / "bin" / "demo-hello-abs") == f"{scripts}/bin/demo-hello"
    spec = json.loads((scripts / ".spack" / "spec.json").read_text())
    assert spec["spec"]["nodes"][0]["name"] == "demo-scripts"
    base = Path(str(nodes["libdemo-base"]["prefix"]))
    assert f"prefix={base}" in (base / "lib" / "pkgconfig" / "demo-base.pc").read_text()
    staging = home / "opt" / ".spackcache" / "staging"
    assert [p.name for p in staging.iterdir() if p.name != "downloads"] == []
    assert list((staging / "downloads").iterdir()) == []

    # a second install reuses everything and downloads nothing
    before = len(server.requests)
    code, out, err = run("install", "demo-tool", "--yes")
    assert code == 0, err
    assert "download: 0 package(s)" in out
    assert not [r for r in server.requests[before:] if "blobs" in r.path]


def _unpacker_children() -> list[int]:
    """This process's children that run the unpacking worker."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and b"install.procpool import _serve" in command:
            found.append(int(stat.parent.name))
    return found


def test_the_cli_starts_unpackers_early_and_leaves_none_behind(
    demo: DemoMirror, http_mirror: ServeFn, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    _add_demo(run, http_mirror(demo.path).url)
    seen: list[list[int]] = []
    real_plan = install_command.plan_install

    def planning(*args: Any, **kwargs: Any) -> Any:
        seen.append(_unpacker_children())  # already started while the plan is made
        return real_plan(*args, **kwargs)

    monkeypatch.setattr(install_command, "plan_install", planning)
    assert run("install", "demo-tool", "--yes")[0] == 0
    assert _unpacker_children() == []
    assert run("install", "no-such-package", "--yes")[0] == 1  # fails after they started
    assert _unpacker_children() == []
    assert run("install", "libdemo-base", "--dry-run")[0] == 0  # never starts them
    assert [len(s) for s in seen] == [default_jobs(), default_jobs(), 0]


def test_install_unpacks_in_threads_when_no_worker_process_can_run(
    demo: DemoMirror,
    http_mirror: ServeFn,
    run: Run,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An embedding application as ``sys.executable``: its "workers" never greet, so the
    install gives them up and unpacks in its own threads, with the same result."""
    from jupyter_spackcache.install import procpool as unpacker

    _add_demo(run, http_mirror(demo.path).url)
    not_python = tmp_path / "embedding-app"
    not_python.write_text("#!/bin/sh\nexec sleep 60\n")
    not_python.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(not_python))
    monkeypatch.setattr(unpacker, "READY_TIMEOUT", 0.5)
    code, _, err = run("install", "demo-tool", "--yes")
    assert code == 0, err
    prefix = installed(run)["demo-tool"]["prefix"]
    assert f"demo-tool prefix: {prefix}" in _tool_output(prefix)
    assert _unpacker_children() == []


def test_long_shebang_runs_through_sbang(
    demo: DemoMirror, http_mirror: ServeFn, run: Run, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = home / ("r" * (110 - len(str(home))))  # prefixes fit, but shebangs exceed 127
    monkeypatch.setenv("SPACKCACHE_INSTALL_ROOT", str(root))
    _add_demo(run, http_mirror(demo.path).url)
    code, _, err = run("install", "demo-scripts", "--yes")
    assert code == 0, err
    scripts = Path(str(installed(run)["demo-scripts"]["prefix"]))
    text = (scripts / "bin" / "demo-hello").read_text()
    assert text.startswith(f"#!/bin/sh {root}/bin/sbang\n#!{scripts}/bin/demo-sh\n")
    assert len(f"#!{scripts}/bin/demo-sh") > 127
    hello = subprocess.run(
        [scripts / "bin" / "demo-hello", "4"], capture_output=True, text=True, check=True
    )
    assert f"demo-scripts prefix: {scripts}" in hello.stdout and "value: 29" in hello.stdout


def test_dry_run_changes_nothing(
    demo: DemoMirror, http_mirror: ServeFn, run: Run, home: Path
) -> None:
    server = http_mirror(demo.path)
    _add_demo(run, server.url)
    code, out, err = run("install", "demo-scripts", "--dry-run")
    assert code == 0, err
    for name in ALL_DEMO:
        assert name in out
    assert "download: 4 package(s)" in out and "external" in out
    assert installed(run) == {}
    assert snapshot(home)["tree"] == {}
    code, out, _ = run("install", "demo-tool", "--dry-run", "--json")
    plan = json.loads(out)
    assert {n["name"]: n["action"] for n in plan["nodes"]}["libdemo-base"] == "download"
    assert all(c["ok"] for c in plan["checks"])
    check_response("POST", "/plan", 200, plan)  # the same document POST /plan answers
    external = next(n for n in plan["nodes"] if n["action"] == "external")
    assert external["prefix"]  # where the system provides it


def test_find_load_uninstall_gc(
    demo: DemoMirror, http_mirror: ServeFn, run: Run, home: Path
) -> None:
    _add_demo(run, http_mirror(demo.path).url)
    assert run("install", *DEMO, "--yes")[0] == 0
    code, out, _ = run("find")
    lines = out.splitlines()
    assert lines[1].split()[0] in DEMO and "dependency" in out
    assert [ln.split()[0] for ln in lines[1:3]] == sorted(DEMO)  # explicit ones first

    code, out, _ = run("load", "demo-scripts", "--sh")
    assert code == 0 and out.startswith("export ")
    script = f'{out}\ndemo-hello 3 && demo-tool 1 && echo "$PKG_CONFIG_PATH"'
    shell = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(home)},
    )
    assert "value: 19" in shell.stdout and "value: 5" in shell.stdout
    assert "libdemo-base" in shell.stdout.splitlines()[-1]
    code, out, _ = run("load", "demo-tool", "--json")
    env = json.loads(out)
    assert env["PATH"].split(":")[0].endswith("/bin") and "demo-tool" in env["PATH"]
    assert "CMAKE_PREFIX_PATH" in env
    code, out, _ = run("load", "demo-tool", "--fish")
    assert out.startswith("set -gx ")
    code, out, _ = run("load", "demo-tool", "--csh")
    assert out.startswith("setenv ")

    before = snapshot(home)
    code, _, err = run("uninstall", "libdemo-mid", "--yes")
    assert code == 1
    assert "error: cannot uninstall libdemo-mid@2.0.1/" in err
    assert "needed by demo-tool@1.0.0" in err
    assert "--dependents" in err
    assert snapshot(home) == before

    code, out, err = run("uninstall", "demo-scripts", "--yes")
    assert code == 0, err
    nodes = installed(run)
    assert set(nodes) == ALL_DEMO - {"demo-scripts"}
    tool_prefix = Path(str(installed(run)["demo-tool"]["prefix"]))
    code, out, err = run("uninstall", "demo-tool", "--yes")
    assert code == 0, err
    assert not tool_prefix.exists()
    code, out, err = run("gc", "--yes")
    assert code == 0 and "removed 2 package(s)" in out
    assert installed(run) == {}
    code, out, _ = run("gc", "--yes")
    assert "nothing to remove" in out

    assert run("install", "demo-scripts", "--yes")[0] == 0
    code, out, err = run("uninstall", "libdemo-base", "--yes", "--dependents")
    assert code == 0, err
    assert "uninstalled 4 package(s)" in out
    assert installed(run) == {}
    assert snapshot(home) == {"tree": {}, "rows": []}  # prefixes, arch dir and sbang all gone


def test_explicit_flag_flips_on_reinstall(demo: DemoMirror, http_mirror: ServeFn, run: Run) -> None:
    _add_demo(run, http_mirror(demo.path).url)
    assert run("install", "demo-tool", "--yes")[0] == 0
    assert not installed(run)["libdemo-mid"]["explicit"]
    code, out, _ = run("install", "libdemo-mid", "--yes")
    assert code == 0 and "reuse" in out
    assert installed(run)["libdemo-mid"]["explicit"]


# ---- real Spack-made fixtures -----------------------------------------------------------

#: the docstrings of the fixtures' recipes (Spack's mock libdwarf and libelf have none)
SPACK_DOCSTRINGS = {"gcc-runtime": "Package for GCC compiler runtime libraries"}


@pytest.mark.parametrize("fixture", [V3_UNSIGNED, V2_UNSIGNED], ids=["v3", "v2"])
def test_install_spack_fixtures(
    fixture: Path, http_mirror: ServeFn, run: Run, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPACKCACHE_PLATFORM", "test")
    monkeypatch.setenv("SPACKCACHE_OS", "debian6")
    monkeypatch.setenv("SPACKCACHE_TARGET", "m1")
    monkeypatch.setenv("SPACKCACHE_LIBC", "none")
    code, _, err = run("mirror", "add", "fx", http_mirror(fixture).url, "--unsigned")
    assert code == 0, err
    code, _out, err = run("install", "libdwarf", "--yes")
    assert code == 0, err
    nodes = installed(run)
    # compiler-wrapper (build-only) and gcc (external) are never installed; gcc-runtime is
    assert set(nodes) == {"libdwarf", "libelf", "gcc-runtime"}
    for name, record in nodes.items():
        prefix = Path(str(record["prefix"]))
        assert prefix.parent == home / "opt" / "test-m1"
        assert prefix.name == f"{name}-{record['version']}-{record['hash']}"
        spec = json.loads((prefix / ".spack" / "spec.json").read_text())
        assert spec["spec"]["nodes"][0]["hash"] == record["hash"]
        info = (prefix / ".spack" / "binary_distribution").read_text()
        assert f"relative_prefix: test-m1/{prefix.name}" in info
        assert (prefix / ".spack" / "repos").is_dir()
    deps = {d["name"] for d in nodes["libdwarf"]["dependencies"]}
    assert {"libelf", "gcc-runtime"} <= deps
    # what the package is, from the recipe snapshot Spack put in the binary: package API v1,
    # under repos/builtin.mock/ while the specs say namespace builtin_mock; a recipe without
    # a docstring says nothing
    for name, record in nodes.items():
        assert record["namespace"] == "builtin_mock"
        assert (Path(str(record["prefix"])) / ".spack/repos/builtin.mock/packages" / name).is_dir()
        found = description_at(str(record["prefix"]), name, str(record["namespace"]))
        assert found == SPACK_DOCSTRINGS.get(name), name
    code, out, err = run("info", "gcc-runtime")
    assert code == 0, err
    assert out.splitlines()[1] == "  Package for GCC compiler runtime libraries"


# ---- faults -----------------------------------------------------------------------------


def test_tampered_tarball_changes_nothing(
    demo: DemoMirror, http_mirror: ServeFn, run: Run, home: Path, tmp_path: Path
) -> None:
    mirror = _copy_mirror(demo, tmp_path)
    broken.tamper_tarball(mirror, "demo-tool")
    _add_demo(run, http_mirror(mirror).url)
    before = snapshot(home)
    code, _, err = run("install", *DEMO, "--yes")
    assert code == 1
    assert err.startswith("error: ") and len(err.splitlines()) <= 3  # error, hint, see
    assert "checksum" in err.lower() or "sha256" in err.lower()
    assert snapshot(home) == before
    assert installed(run) == {}


def test_http_errors_change_nothing_then_resume(
    demo: DemoMirror, http_mirror: ServeFn, run: Run, home: Path
) -> None:
    server = http_mirror(demo.path)
    _add_demo(run, server.url)
    before = snapshot(home)
    tarball = str(broken.blob_path(demo.path, "libdemo-mid").relative_to(demo.path))
    server.fault(tarball, status=500)
    code, _, err = run("install", "demo-tool", "--yes")
    assert code == 1 and err.startswith("error: ") and "500" in err
    assert snapshot(home) == before
    server.clear_faults()
    server.fault(tarball, drop_after=0)  # a cut with nothing to resume from, every time
    code, _, err = run("install", "demo-tool", "--yes")
    assert code == 1 and err.startswith("error: ") and "gave up after 5 attempts" in err
    assert snapshot(home) == before
    server.clear_faults()
    code, _, err = run("install", "demo-tool", "--yes")
    assert code == 0, err
    assert "value: 71" in _tool_output(str(installed(run)["demo-tool"]["prefix"]))


def test_prefix_too_long_refused_before_download(
    demo: DemoMirror, http_mirror: ServeFn, run: Run, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = http_mirror(demo.path)
    _add_demo(run, server.url)
    long_root = home / ("x" * 220)
    monkeypatch.setenv("SPACKCACHE_INSTALL_ROOT", str(long_root))
    code, _out, err = run("install", "demo-tool", "--yes")
    assert code == 1
    assert "error: install prefix of libdemo-base@1.2.0/" in err
    assert "longer than its build prefix" in err and "hint: choose an install_root" in err
    tarballs = {"/" + str(broken.blob_path(demo.path, n).relative_to(demo.path)) for n in ALL_DEMO}
    assert not [r for r in server.requests if r.path in tarballs and r.status == 200]
    assert snapshot(home, long_root)["tree"] == {}
    assert installed(run) == {}


def _cli(home: Path, *argv: str, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SPACKCACHE_FAULT"}
    if fault:
        env["SPACKCACHE_FAULT"] = fault
    return subprocess.run(
        [sys.executable, "-m", "jupyter_spackcache.cli", *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).parents[2],
        timeout=300,
    )


@pytest.mark.parametrize("stage", ["extract", "relocate", "rename", "db"])
def test_kill_9_then_install_finishes(
    stage: str, demo: DemoMirror, http_mirror: ServeFn, run: Run, home: Path
) -> None:
    _add_demo(run, http_mirror(demo.path).url)
    before = snapshot(home)
    killed = _cli(home, "install", "libdemo-base", "--yes", fault=f"kill@{stage}:libdemo-base")
    assert killed.returncode == -9, killed.stderr
    staging = home / "opt" / ".spackcache" / "staging"
    left = [p for p in staging.iterdir() if p.name != "downloads"]
    if stage == "db":  # renamed into place but never registered: not installed
        assert installed(run) == {} and left == []
    else:
        assert snapshot(home) == before
        assert len(left) == 1 and any(left[0].rglob("*"))  # really died half-way
    if stage == "relocate":  # killed between two files: the staging copy is half relocated
        info = read_buildinfo(left[0])
        texts = [(left[0] / name).read_bytes() for name in info.relocate_textfiles]
        binaries = [(left[0] / name).read_bytes() for name in info.relocate_binaries]
        assert any(str(home / "opt").encode() in text for text in texts)
        assert any(info.buildpath.encode() in binary for binary in binaries)
    done = _cli(home, "install", "demo-tool", "--yes")
    assert done.returncode == 0, done.stderr
    nodes = installed(run)
    assert set(nodes) == {"libdemo-base", "libdemo-mid", "demo-tool"}
    assert "value: 71" in _tool_output(str(nodes["demo-tool"]["prefix"]))
    assert [p.name for p in staging.iterdir() if p.name != "downloads"] == []


def test_concurrent_installs_install_each_node_once(
    demo: DemoMirror, http_mirror: ServeFn, run: Run, home: Path
) -> None:
    server = http_mirror(demo.path)
    _add_demo(run, server.url)
    run("list")  # warm the index cache once
    specs = [("demo-tool",), ("demo-scripts",), ("libdemo-mid",), ("demo-scripts", "demo-tool")]
    env = dict(os.environ)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter_spackcache.cli",
                "install",
                *specs[i % 4],
                "--yes",
                "-j",
                "2",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=Path(__file__).parents[2],
        )
        for i in range(8)
    ]
    results = [(*p.communicate(timeout=300), p.returncode) for p in procs]
    for _out, err, code in results:
        assert code == 0, err
    nodes = installed(run)
    assert set(nodes) == ALL_DEMO
    for name in ALL_DEMO:  # each tarball downloaded in full once (the rest are 64 KiB peeks)
        path = "/" + str(broken.blob_path(demo.path, name).relative_to(demo.path))
        full = [r for r in server.requests if r.path == path and r.status == 200]
        assert len(full) == 1, name
    installs = sum(out.count(": installed") for out, _, _ in results)
    assert installs == len(ALL_DEMO)
    assert "value: 71" in _tool_output(str(nodes["demo-tool"]["prefix"]))


def test_untrusted_signature_changes_nothing(
    demo: DemoMirror, http_mirror: ServeFn, run: Run, home: Path
) -> None:
    code, _, err = run("mirror", "add", "demo", http_mirror(demo.path).url)
    assert code == 0, err
    before = snapshot(home)
    code, _, err = run("install", "demo-tool", "--yes")  # keys never trusted
    assert code == 1 and err.startswith("error: ") and "hint: " in err
    assert "key" in err.lower() or "signature" in err.lower() or "trust" in err.lower()
    assert snapshot(home) == before


@pytest.mark.parametrize(
    "fault", [{"lie_length": 500}, {"corrupt": True}], ids=["lying-length", "corrupt"]
)
def test_bad_bytes_over_http_change_nothing(
    fault: dict[str, object], demo: DemoMirror, http_mirror: ServeFn, run: Run, home: Path
) -> None:
    server = http_mirror(demo.path)
    _add_demo(run, server.url)
    before = snapshot(home)
    server.fault(str(broken.blob_path(demo.path, "demo-tool").relative_to(demo.path)), **fault)
    code, _, err = run("install", *DEMO, "--yes", "-j", "1")
    assert code == 1 and err.startswith("error: ") and len(err.splitlines()) <= 3
    assert snapshot(home) == before


@pytest.fixture
def small_disk(home: Path) -> Iterator[Callable[[str], Path]]:
    """A tiny tmpfs for the install root (needs root; skipped otherwise)."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        point = Path(tempfile.mkdtemp(prefix="fs", dir="/tmp"))
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            point.rmdir()
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", str(point)], check=False)
        shutil.rmtree(point, ignore_errors=True)


def test_disk_full_refused_by_precheck(
    demo: DemoMirror,
    http_mirror: ServeFn,
    run: Run,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    small_disk: Callable[[str], Path],
) -> None:
    root = small_disk("8k") / "opt"
    monkeypatch.setenv("SPACKCACHE_INSTALL_ROOT", str(root))
    _add_demo(run, http_mirror(demo.path).url)
    code, out, err = run("install", *DEMO, "--yes")
    assert code == 1
    assert "error: not enough free space on " in err and "hint: " in err
    assert "check space: FAILED" in out
    assert snapshot(home, root)["tree"] == {} and installed(run) == {}


def test_disk_full_while_unpacking_changes_nothing(
    demo: DemoMirror,
    http_mirror: ServeFn,
    run: Run,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    small_disk: Callable[[str], Path],
) -> None:
    root = small_disk("64k") / "opt"  # passes the estimate, but unpacked files need more
    monkeypatch.setenv("SPACKCACHE_INSTALL_ROOT", str(root))
    _add_demo(run, http_mirror(demo.path).url)
    code, out, err = run("install", *DEMO, "--yes", "-j", "1")
    assert code == 1
    assert "check space: ok" in out
    # refused as the tarball's headers announce more than the free space, or when a write fails
    assert err.startswith("error: ")
    assert "No space left on device" in err or "the free space of the install root" in err
    assert len(err.splitlines()) <= 3  # error, hint, see
    assert snapshot(home, root) == {"tree": {}, "rows": []}


def test_progress_events_and_cancel_through_the_api(
    demo: DemoMirror, http_mirror: ServeFn, run: Run, home: Path
) -> None:
    _add_demo(run, http_mirror(demo.path).url)
    with Session() as session:
        request = InstallRequest(("demo-tool",), session.config.store_root)
        plan = plan_install(
            request, catalog=session.catalog, store=session.store, host=session.host
        )
        assert [p.node.name for p in plan.downloads] == ["libdemo-base", "libdemo-mid", "demo-tool"]
        cancel = threading.Event()

        def stop_at_first_extract(event: ProgressEvent) -> None:
            if event.stage is Stage.EXTRACT:
                cancel.set()

        before = snapshot(home)
        with pytest.raises(InstallCancelled, match="install cancelled"):
            run_plan(
                plan,
                catalog=session.catalog,
                store=session.store,
                config=session.config,
                jobs=4,
                progress=stop_at_first_extract,
                cancel=cancel,
            )
        assert snapshot(home) == before

        events: list[ProgressEvent] = []
        result = run_plan(
            plan,
            catalog=session.catalog,
            store=session.store,
            config=session.config,
            jobs=2,
            progress=events.append,
        )
        assert [r.name for r in result.installed] == ["libdemo-base", "libdemo-mid", "demo-tool"]
        stages = [e.stage for e in events if e.name == "libdemo-mid"]
        assert stages[0] is Stage.QUEUED and stages[-1] is Stage.DONE
        working = (Stage.VERIFY, Stage.EXTRACT, Stage.UNPACKED, Stage.RELOCATE)
        assert [s for s in stages if s in working] == list(working)
        (unpacked,) = [e for e in events if e.name == "libdemo-mid" and e.stage is Stage.UNPACKED]
        assert unpacked.done == unpacked.total > 0
        # unpacking waits for nothing; relocation, and so the prefix, waits for the deps
        done_at = {e.name: e.time for e in events if e.stage is Stage.DONE}
        relocate_at = {e.name: e.time for e in events if e.stage is Stage.RELOCATE}
        assert done_at["libdemo-base"] <= relocate_at["libdemo-mid"]
        assert done_at["libdemo-mid"] <= relocate_at["demo-tool"]


def test_terminal_renderers() -> None:
    events = [
        ProgressEvent("a" * 32, "zlib", "1.3", Stage.DOWNLOAD, 10, 100),
        ProgressEvent("a" * 32, "zlib", "1.3", Stage.DOWNLOAD, 100, 100),
        ProgressEvent("a" * 32, "zlib", "1.3", Stage.DONE),
        ProgressEvent("b" * 32, "cmake", "3.30", Stage.FAILED, message="checksum mismatch"),
    ]
    lines = io.StringIO()
    plain = LineProgress(lines)
    for e in events:
        plain(e)
    assert lines.getvalue().splitlines() == [
        "==> zlib@1.3/aaaaaaa: downloading (100 B)",
        "==> zlib@1.3/aaaaaaa: installed",
        "==> cmake@3.30/bbbbbbb: FAILED: checksum mismatch",
    ]
    bars_out = io.StringIO()
    bars = BarProgress(2, bars_out)
    for e in events:
        bars(e)
    bars.close()
    text = bars_out.getvalue()
    assert "zlib@1.3" in text and "cmake@3.30" in text and "overall" in text and "2/2" in text


def test_cgroup_cpu_quota_bounds_the_default_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pod limited to 1.5 CPUs on a 64-core host gets 2 workers, not 8."""
    from jupyter_spackcache.install import threadpool as workers
    from jupyter_spackcache.install.threadpool import cgroup_cpu_quota, default_jobs

    monkeypatch.setattr(workers.os, "sched_getaffinity", lambda pid: set(range(64)))
    monkeypatch.setattr(workers, "cgroup_cpu_quota", lambda root: None)
    assert default_jobs() == 8
    monkeypatch.setattr(workers, "cgroup_cpu_quota", lambda root: 1.5)
    assert default_jobs() == 2
    monkeypatch.setattr(workers, "cgroup_cpu_quota", lambda root: 4.5)
    assert default_jobs() == 5

    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "cpu.max").write_text("150000 100000\n")
    assert cgroup_cpu_quota(v2) == 1.5
    (v2 / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_quota(v2) is None
    v1 = tmp_path / "v1" / "cpu,cpuacct"
    v1.mkdir(parents=True)
    (v1 / "cpu.cfs_quota_us").write_text("400000\n")
    (v1 / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_cpu_quota(v1.parent) == 4.0
    (v1 / "cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_cpu_quota(v1.parent) is None
    assert cgroup_cpu_quota(tmp_path / "none") is None
