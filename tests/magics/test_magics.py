"""``%spack`` magics: real notebooks run by nbclient in real kernels, plus in-process checks.

The demo stack (gcc-built, signed) is served from a file mirror; every kernel gets temporary
HOME, Jupyter and SPACKCACHE_HOME directories through the environment it inherits.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from jupyter_spackcache.demo.build import DemoMirror
from jupyter_spackcache.env import EnvChange
from jupyter_spackcache.install.plan import PlannedNode
from jupyter_spackcache.install.progress import ProgressEvent, Stage
from jupyter_spackcache.magics import SpackMagicError, spack_line
from jupyter_spackcache.magics.hotattach import apply_attachment, plan_attachment
from jupyter_spackcache.magics.line import KernelState
from jupyter_spackcache.magics.lockfile import lock_path_for
from jupyter_spackcache.magics.widgets import WidgetProgress, widgets_wanted
from jupyter_spackcache.spec.concrete import ConcreteDAG, ConcreteNode

Run = Callable[..., tuple[int, str, str]]
PY = (sys.version_info[0], sys.version_info[1])


@pytest.fixture
def demo(signed_demo: DemoMirror) -> DemoMirror:
    return signed_demo


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Fresh SPACKCACHE_HOME (short: GnuPG sockets), HOME and Jupyter dirs; the process's
    environment and sys.path are restored afterwards (in-process magics attach to them)."""
    environ, path = dict(os.environ), list(sys.path)
    home = Path(tempfile.mkdtemp(prefix="m", dir="/tmp"))
    (tmp_path / "user").mkdir()
    monkeypatch.setenv("SPACKCACHE_HOME", str(home))
    monkeypatch.setenv("SPACKCACHE_SITE_CONFIG", str(tmp_path / "site.yaml"))
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter-data"))
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "jupyter-config"))
    for var in (
        "SPACKCACHE_PLATFORM",
        "SPACKCACHE_OS",
        "SPACKCACHE_TARGET",
        "SPACKCACHE_LIBC",
        "SPACKCACHE_INSTALL_ROOT",
        "SPACKCACHE_FAULT",
        "JPY_SESSION_NAME",
        "SPACKCACHE_PROGRESS",
    ):
        monkeypatch.delenv(var, raising=False)
    yield home
    os.environ.clear()
    os.environ.update(environ)
    sys.path[:] = path
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def mirror(demo: DemoMirror, run: Run) -> Path:
    for argv in (
        ("mirror", "add", "demo", str(demo.path)),
        ("keys", "trust", "--mirror", "demo", "--yes"),
    ):
        code, _, err = run(*argv)
        assert code == 0, err
    return demo.path


def notebook(*sources: str) -> Any:
    nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]  # type: ignore[no-untyped-call]
    return nb


def execute(nb: Any, cwd: Path, *, allow_errors: bool = False) -> Any:
    NotebookClient(
        nb,
        kernel_name="python3",
        timeout=90,
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(cwd)}},
    ).execute()
    return nb


def text(cell: Any) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")


def error(cell: Any) -> list[str]:
    return [
        line for o in cell.outputs if o.get("output_type") == "error" for line in o["traceback"]
    ]


def clean(output: str) -> str:
    """The demo binaries pad prefix strings with slashes, as Spack does."""
    return re.sub("/{2,}", "/", output)


# ---- real notebooks --------------------------------------------------------------------------


def test_install_then_use_in_the_same_kernel(
    mirror: Path, run: Run, home: Path, tmp_path: Path
) -> None:
    nb = execute(
        notebook(
            "%load_ext jupyter_spackcache",
            "%spack install demo-tool",
            "!demo-tool 5",
            "import subprocess\n"
            "print(subprocess.run(['demo-tool', '2'], capture_output=True, text=True).stdout)",
            "%spack install no-such-package",
            "%spack install --bogus demo-tool",
            "%spack find",
        ),
        tmp_path,
        allow_errors=True,
    )
    code, out, _ = run("find", "--json")
    prefix = {r["name"]: r["prefix"] for r in json.loads(out)}["demo-tool"]

    install = text(nb.cells[1])
    assert "download: 3 package(s)" in install  # the CLI's plan
    assert re.search(r"==> demo-tool@1\.0\.0/\w{7}: installed", install)  # plain-text progress
    assert "installed 3 package(s), 0 already installed" in install
    assert (
        "demo-tool@1.0.0 usable in this kernel now (no restart): updated "
        "CMAKE_PREFIX_PATH, PATH, PKG_CONFIG_PATH"
    ) in install
    shell = clean(text(nb.cells[2]))
    assert f"demo-tool prefix: {prefix}" in shell and "value: 41" in shell
    assert "value: 11" in clean(text(nb.cells[3]))  # subprocess sees the new PATH

    # errors: the CLI's exact lines, no Python traceback
    code, _, cli_err = run("install", "no-such-package")
    assert code == 1
    assert error(nb.cells[4]) == cli_err.rstrip("\n").split("\n")
    assert error(nb.cells[5])[0] == "error: %spack: unrecognized arguments: --bogus"
    assert error(nb.cells[5])[1].startswith("  hint: usage: %spack [-h]")
    assert "demo-tool" in text(nb.cells[6])  # the kernel is still fine


def test_lock_then_restore_in_a_fresh_store(
    mirror: Path, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook_path = tmp_path / "analysis.ipynb"
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook_path))  # as Jupyter sets it
    fresh = Path(tempfile.mkdtemp(prefix="f", dir="/tmp"))
    try:
        nb = execute(
            notebook(
                "%load_ext jupyter_spackcache",
                "%spack install demo-tool",
                "%spack lock",
                f"import os; os.environ['SPACKCACHE_HOME'] = {str(fresh)!r}",
                f"%spack mirror add demo {mirror}",
                "%spack keys trust --mirror demo --yes",
                "%spack restore",
                "!demo-tool 3",
            ),
            tmp_path,
        )
        lock_file = lock_path_for(notebook_path)
        assert lock_file == tmp_path / "analysis.spack-lock.json"
        lock = json.loads(lock_file.read_text())
        assert f"in {lock_file}" in text(nb.cells[2])
        names = {n["name"]: n for n in lock["nodes"]}
        assert set(names) == {"demo-tool", "libdemo-mid", "libdemo-base"}
        assert [n["name"] for n in lock["nodes"] if n["root"]] == ["demo-tool"]
        assert lock["mirrors"] == [{"name": "demo", "url": mirror.as_uri()}]

        # with a frontend (JPY_SESSION_NAME) the progress is widgets: bars plus overall
        views = [
            o
            for o in nb.cells[1].outputs
            if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
        ]
        assert len(views) == 1
        states = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
        bars = [s["state"] for s in states.values() if s["model_name"] == "FloatProgressModel"]
        assert len(bars) == 6 and all(b["bar_style"] == "success" for b in bars)  # 2 installs

        restored = text(nb.cells[6])
        assert "restoring exactly the 3 locked build(s)" in restored
        assert "installed 3 package(s)" in restored
        tool = clean(text(nb.cells[7]))
        demo_hash = names["demo-tool"]["hash"]
        assert re.search(rf"demo-tool prefix: {fresh}/opt/\S+-{demo_hash}\s", tool), tool
        new_db = fresh / "store.sqlite"
        assert new_db.exists()
    finally:
        shutil.rmtree(fresh, ignore_errors=True)


# ---- in-process: the magic functions themselves ------------------------------------------------


def spack(line: str, state: KernelState | None = None) -> None:
    spack_line(line, state or KernelState())


def rendered(line: str, state: KernelState | None = None) -> list[str]:
    with pytest.raises(SpackMagicError) as info:
        spack(line, state)
    return info.value._render_traceback_()


def test_parser_is_the_clis(mirror: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spack("--help")
    out = capsys.readouterr().out
    for command in (
        "install",
        "uninstall",
        "find",
        "list",
        "info",
        "load",
        "mirror",
        "keys",
        "kernel",
        "lock",
        "restore",
    ):
        assert command in out
    spack("mirror list")
    assert "demo" in capsys.readouterr().out
    assert rendered("install") == [
        "error: %spack install: one of the arguments spec --from is required",
        "  hint: usage: %spack install [-h] [--from FILE] [--dry-run] [-j JOBS] [-y] [--json]",
        "                      [--root DIR]",
        "                      [spec ...]",
        "  see: docs/troubleshooting.md#error",
    ]
    assert rendered("info demo-tool@9")[0].startswith("error: nothing installable matches")


def test_load_attaches_and_kernel_add(
    mirror: Path, run: Run, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("install", "demo-tool", "--yes")[0] == 0
    state = KernelState()
    spack("load demo-tool", state)
    out = capsys.readouterr().out
    assert out.startswith("demo-tool@1.0.0 usable in this kernel now (no restart)")
    assert out.endswith("\nin a terminal or a batch job: module load demo-tool/1.0.0\n")
    prefix = json.loads(run("find", "--json", "demo-tool")[1])[0]["prefix"]
    assert os.environ["PATH"].split(":")[0] == f"{prefix}/bin"
    spack("load demo-tool", state)
    assert capsys.readouterr().out == (
        "demo-tool@1.0.0 already usable in this kernel\n"
        "in a terminal or a batch job: module load demo-tool/1.0.0\n"
    )
    spack("load --json demo-tool", state)  # explicit shell output: like the CLI
    assert json.loads(capsys.readouterr().out)["PATH"].startswith(f"{prefix}/bin")
    assert list(state.used.values()) == ["demo-tool@1.0.0"]
    spack("module use --format tcl")  # the CLI's module commands, in the kernel too
    assert capsys.readouterr().out == f"module use {home}/modules/tcl\n"

    spack("kernel add demo-tool --name nbtools")
    assert "kernel 'nbtools' ready" in capsys.readouterr().out
    assert (Path(os.environ["JUPYTER_DATA_DIR"]) / "kernels" / "nbtools" / "kernel.json").exists()


def test_lock_and_restore_errors(mirror: Path, run: Run, tmp_path: Path) -> None:
    assert rendered("lock --file x.json") == [
        "error: this notebook has not installed or loaded anything with %spack yet",
        "  hint: run `%spack install SPEC` or `%spack load SPEC` first, or name them: "
        "`%spack lock SPEC...`",
        "  see: docs/troubleshooting.md#config",
    ]
    assert rendered("restore")[0] == "error: cannot tell which notebook this kernel belongs to"
    missing = tmp_path / "none.spack-lock.json"
    assert rendered(f"restore --file {missing}")[0] == f"error: no lock file at {missing}"
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something-else"}')
    assert rendered(f"restore --file {bad}") == [
        f"error: {bad} is not a jupyter-spackcache lock",
        "  see: docs/troubleshooting.md#config",
    ]
    bad.write_text("{")
    assert rendered(f"restore --file {bad}") == [
        f"error: {bad} is not valid JSON",
        "  see: docs/troubleshooting.md#config",
    ]
    assert json.loads(run("find", "--json")[1]) == []  # nothing was installed


def foreign_lock(tmp_path: Path, run: Run) -> Path:
    """A lock made on a zen4 host whose builds no configured mirror has."""
    listing = {n["name"]: n for n in json.loads(run("list", "--json")[1])}
    nodes = [
        {
            "name": name,
            "version": listing[name]["version"],
            "hash": char * 32,
            "target": "zen4",
            "mirror": "elsewhere",
            "root": name == "demo-tool",
        }
        for name, char in (("demo-tool", "z"), ("libdemo-mid", "y"), ("libdemo-base", "x"))
    ]
    path = tmp_path / "other.spack-lock.json"
    path.write_text(
        json.dumps(
            {
                "format": "jupyter-spackcache-lock",
                "version": 1,
                "created": 0.0,
                "host": "linux-rocky9-zen4",
                "nodes": nodes,
                "mirrors": [{"name": "elsewhere", "url": "https://cache.example.org/spack"}],
            }
        )
    )
    return path


def test_restore_substitutes_closest_builds_and_says_so(
    mirror: Path, run: Run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = foreign_lock(tmp_path, run)
    spack(f"restore --file {lock}")
    out = capsys.readouterr().out
    found = {r["name"]: r for r in json.loads(run("find", "--json")[1])}
    tool, mid, base = found["demo-tool"], found["libdemo-mid"], found["libdemo-base"]
    assert (
        "note: mirror 'elsewhere' (https://cache.example.org/spack) of the lock is not "
        "configured here"
    ) in out
    assert (
        f"substituted demo-tool@1.0.0: locked /zzzzzzz (zen4) -> /{tool['hash'][:7]} "
        f"({tool['target']}): not in any configured mirror\n"
    ) in out
    assert (
        f"substituted libdemo-mid@2.0.1: locked /yyyyyyy (zen4) -> /{mid['hash'][:7]} "
        f"({mid['target']}): dependency of demo-tool\n"
    ) in out
    assert f"-> /{base['hash'][:7]}" in out
    assert "installed 3 package(s)" in out


def test_restore_refuses_when_nothing_runs_here(
    mirror: Path, run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = foreign_lock(tmp_path, run)
    monkeypatch.setenv("SPACKCACHE_TARGET", "aarch64")  # no build in the mirror runs there
    lines = rendered(f"restore --file {lock}")
    assert lines[0].startswith("error: cannot restore demo-tool@1.0.0/zzzzzzz: no package ")
    assert "no other build of it runs here: 1 build of demo-tool: 1 need target" in lines[0]
    assert json.loads(run("find", "--json")[1]) == []


# ---- widgets and hot-attach, pure ---------------------------------------------------------------


def planned(name: str, size: int) -> PlannedNode:
    node = ConcreteNode(name, "1.0", (name + "h" * 32)[:32], "linux", "debian12", "zen3")
    return PlannedNode(
        node,
        "download",
        Path("/x") / name,
        size,
        "m",
        True,
        ConcreteDAG(node.hash, {node.hash: node}),
    )


def event(p: PlannedNode, stage: Stage, done: int = 0, message: str | None = None) -> ProgressEvent:
    return ProgressEvent(p.hash, p.node.name, p.node.version, stage, done, p.size, message)


def test_widget_progress_bars() -> None:
    a, b = planned("alpha", 1000), planned("beta", 50)
    progress = WidgetProgress([a, b])
    progress(event(a, Stage.DOWNLOAD, 400))
    assert progress.bars[a.hash].value == 400
    progress(event(a, Stage.DOWNLOAD, 500))  # throttled: too soon after the last update
    assert progress.bars[a.hash].value == 400
    progress(event(a, Stage.DOWNLOAD, 1000))  # the last byte always shows
    assert progress.bars[a.hash].value == 1000
    progress(event(a, Stage.DONE))
    assert (progress.overall.value, progress.bars[a.hash].bar_style) == (1, "success")
    assert progress.labels[a.hash].value == "1.0 · installed"
    progress(event(b, Stage.FAILED, message="checksum mismatch"))
    assert progress.labels[b.hash].value == "1.0 · failed: checksum mismatch"
    assert progress.overall.bar_style == "danger" and progress.overall.value == 2
    assert progress.overall_label.value == "2 of 2 package(s)"


def test_widgets_only_where_a_frontend_draws_them() -> None:
    assert not widgets_wanted({"SPACKCACHE_PROGRESS": "text", "JPY_SESSION_NAME": "a.ipynb"})
    # not inside a kernel (like nbconvert's own process or a plain interpreter): text
    assert not widgets_wanted({"JPY_SESSION_NAME": "a.ipynb"})
    assert not widgets_wanted({})


def test_hot_attach_says_what_needs_more_than_this_kernel(tmp_path: Path) -> None:
    own = tmp_path / "py-a-1.0-aaaaaaa" / "lib" / f"python{PY[0]}.{PY[1]}" / "site-packages"
    other = tmp_path / "py-b-2.0-bbbbbbb" / "lib" / "python3.99" / "site-packages"
    (own / "json").mkdir(parents=True)
    (own / "json" / "__init__.py").write_text("")
    (own / "fresh_mod.py").write_text("VALUE = 1\n")
    other.mkdir(parents=True)
    changes = {
        "PATH": EnvChange("PATH", ("/p/bin",)),
        "PYTHONPATH": EnvChange("PYTHONPATH", (str(own), str(other))),
    }
    environ = {"PATH": "/usr/bin"}
    attachment = plan_attachment(
        changes, environ, python=PY, sys_path=["/site"], modules=sys.modules
    )
    assert attachment.env == {"PATH": "/p/bin:/usr/bin", "PYTHONPATH": str(own)}
    assert attachment.sys_path == (str(own),)
    assert attachment.notes[0].startswith(
        f"py-b-2.0-bbbbbbb is built for Python 3.99 but this kernel runs {PY[0]}.{PY[1]}"
    )
    assert attachment.notes[1].startswith("module 'json' is already imported from ")
    assert attachment.notes[1].endswith("restart the kernel to use the one from py-a-1.0-aaaaaaa")
    assert len(attachment.notes) == 2  # fresh_mod is new: it imports without a restart

    path = ["/site", str(own)]
    apply_attachment(attachment, environ, path)
    assert environ["PATH"] == "/p/bin:/usr/bin" and path == [str(own), "/site"]
