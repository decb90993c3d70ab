"""``spackcache kernel``: real kernelspecs for installed stacks, started by real kernels.

The demo stack (gcc-built, signed) is installed from a file mirror into a short temporary
store; kernels are written into a temporary Jupyter data dir, started with nbclient, and read
back through a real Jupyter server's kernelspec API.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

from jupyter_spackcache.config import load_config
from jupyter_spackcache.demo.build import DemoMirror
from jupyter_spackcache.env import EnvChange
from jupyter_spackcache.install.installed import one_installed, removal_order, uninstall
from jupyter_spackcache.kernels import (
    add_kernel_dirs,
    choose_launcher,
    default_display_name,
    default_name,
    kernel_dirs,
    kernel_env,
    kernels_using,
    list_kernels,
    remove_kernel,
)
from jupyter_spackcache.session import Session
from jupyter_spackcache.spec.concrete import ConcreteNode
from jupyter_spackcache.store.db import InstalledRecord

pytest_plugins = ["pytest_jupyter.jupyter_server"]

Run = Callable[..., tuple[int, str, str]]
PY = (sys.version_info[0], sys.version_info[1])


@pytest.fixture
def demo(signed_demo: DemoMirror) -> DemoMirror:
    return signed_demo


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Fresh SPACKCACHE_HOME (short: GnuPG sockets), HOME and Jupyter dirs."""
    home = Path(tempfile.mkdtemp(prefix="k", dir="/tmp"))
    monkeypatch.setenv("SPACKCACHE_HOME", str(home))
    monkeypatch.setenv("SPACKCACHE_SITE_CONFIG", str(tmp_path / "site.yaml"))
    (tmp_path / "user").mkdir()
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
    ):
        monkeypatch.delenv(var, raising=False)
    yield home
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def installed(demo: DemoMirror, run: Run) -> dict[str, dict[str, Any]]:
    """demo-tool and its libraries installed from the signed demo mirror."""
    for argv in (
        ("mirror", "add", "demo", str(demo.path)),
        ("keys", "trust", "--mirror", "demo", "--yes"),
        ("install", "demo-tool", "--yes"),
    ):
        code, _, err = run(*argv)
        assert code == 0, err
    code, out, _ = run("find", "--json")
    return {r["name"]: r for r in json.loads(out)}


def data_kernels() -> Path:
    return Path(os.environ["JUPYTER_DATA_DIR"]) / "kernels"


def tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")) if path.exists() else []


# ---- kernel add: the kernelspec ---------------------------------------------------------------


def test_kernel_add_writes_a_real_kernelspec(
    installed: dict[str, dict[str, Any]], run: Run, home: Path
) -> None:
    tool = installed["demo-tool"]
    code, out, err = run("kernel", "add", "demo-tool")
    assert code == 0, err
    name = f"spack-demo-tool-1.0.0-{tool['hash'][:7]}"
    display = f"demo-tool 1.0.0 ({tool['target']})"
    assert f"kernel '{name}' ready: \"{display}\" (Jupyter's Python, python)" in out

    spec_dir = data_kernels() / name
    doc = json.loads((spec_dir / "kernel.json").read_text())
    assert doc["display_name"] == display
    assert doc["argv"] == [
        sys.executable,
        "-m",
        "ipykernel_launcher",
        "-f",
        "{connection_file}",
        "--ext=jupyter_spackcache",
    ]
    assert doc["env"]["PATH"] == f"{tool['prefix']}/bin:${{PATH}}"
    base = installed["libdemo-base"]["prefix"]
    assert f"{base}/lib/pkgconfig" in doc["env"]["PKG_CONFIG_PATH"].split(":")
    assert doc["env"]["CMAKE_PREFIX_PATH"].split(":")[0] == tool["prefix"]
    assert doc["env"]["SPACKCACHE_HOME"] == str(home)
    meta = doc["metadata"]["spackcache"]
    assert meta["hashes"] == sorted(r["hash"] for r in installed.values())
    assert [r["hash"] for r in meta["roots"]] == [tool["hash"]]

    # the link the server extension searches, and Jupyter's own discovery
    link = kernel_dirs(load_config())[0] / name
    assert link.is_symlink() and link.resolve() == spec_dir.resolve()
    assert KernelSpecManager().find_kernel_specs()[name] == str(spec_dir)

    # list shows it as complete; JSON carries the hashes
    code, out, _ = run("kernel", "list")
    assert name in out and display in out and "ok" in out
    code, out, _ = run("kernel", "list", "--json")
    assert json.loads(out)[0]["hashes"] == meta["hashes"]


def test_kernel_add_name_and_display_name(installed: dict[str, Any], run: Run) -> None:
    code, _, err = run(
        "kernel", "add", "demo-tool", "--name", "mytools", "--display-name", "My tools"
    )
    assert code == 0, err
    doc = json.loads((data_kernels() / "mytools" / "kernel.json").read_text())
    assert doc["display_name"] == "My tools"
    # adding again replaces our own kernel instead of failing
    code, _, err = run("kernel", "add", "demo-tool", "--name", "mytools")
    assert code == 0, err
    assert [k.name for k in list_kernels(load_config())] == ["mytools"]
    # by hash, as the server does for an install's roots
    code, _, err = run("kernel", "add", f"/{installed['demo-tool']['hash'][:7]}", "--name", "h")
    assert code == 0, err
    assert [k.name for k in list_kernels(load_config())] == ["h", "mytools"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ("demo-tool", "--name", "My Kernel!"),
            "error: invalid kernel name 'My Kernel!'\n"
            "  hint: use lower-case letters, digits, '.', '_' and '-' only\n"
            "  see: docs/troubleshooting.md#config\n",
        ),
        (
            ("demo-scripts",),
            "error: no installed package matches 'demo-scripts'\n"
            "  hint: see `spackcache find` for what is installed\n"
            "  see: docs/troubleshooting.md#resolve\n",
        ),
        (
            ("python3",),
            "error: a kernel named 'python3' already exists and was not made by "
            "spackcache\n  hint: choose another name with --name\n"
            "  see: docs/troubleshooting.md#config\n",
        ),
    ],
)
def test_kernel_add_bad_input_changes_nothing(
    installed: dict[str, Any], run: Run, argv: tuple[str, ...], message: str
) -> None:
    foreign = data_kernels() / "python3"
    foreign.mkdir(parents=True)
    (foreign / "kernel.json").write_text('{"argv": ["python"], "display_name": "P"}')
    before = tree(data_kernels())
    if argv == ("python3",):
        argv = ("demo-tool", "--name", "python3")
    code, out, err = run("kernel", "add", *argv)
    assert (code, out, err) == (1, "", message)
    assert tree(data_kernels()) == before


def test_kernel_remove(installed: dict[str, Any], run: Run, home: Path) -> None:
    assert run("kernel", "add", "demo-tool", "--name", "tools")[0] == 0
    foreign = data_kernels() / "other"
    foreign.mkdir()
    (foreign / "kernel.json").write_text('{"argv": ["python"], "display_name": "Other"}')

    code, _, err = run("kernel", "remove", "other")
    assert (code, err) == (
        1,
        "error: kernel 'other' was not made by spackcache; it is left "
        "alone\n  hint: remove it with `jupyter kernelspec remove other`\n"
        "  see: docs/troubleshooting.md#config\n",
    )
    assert foreign.is_dir()

    code, out, _ = run("kernel", "remove", "tools")
    assert (code, out) == (
        0,
        f"removed kernel 'tools' (\"demo-tool 1.0.0 ({installed['demo-tool']['target']})\")\n",
    )
    assert not (data_kernels() / "tools").exists()
    assert not (home / "kernels" / "tools").is_symlink()
    code, out, err = run("kernel", "remove", "tools")
    assert code == 1 and err.startswith("error: no kernel named 'tools'\n")
    assert run("kernel", "list")[1].startswith("no kernels made by spackcache")


def test_uninstall_finds_and_removes_dependent_kernels(
    installed: dict[str, dict[str, Any]], run: Run
) -> None:
    """What uninstall does: ask about kernels_using(the removal), then remove_kernel each."""
    assert run("kernel", "add", "demo-tool", "--name", "tools")[0] == 0
    config = load_config()
    base = installed["libdemo-base"]["hash"]
    assert [k.name for k in kernels_using([base], config)] == ["tools"]
    assert kernels_using(["0" * 32], config) == []
    with Session() as session:  # the store API directly: the CLI's uninstall asks about kernels
        store = session.store
        uninstall(
            store, removal_order(store, [one_installed(store, "libdemo-base")], dependents=True)
        )
    out = run("kernel", "list")[1]
    assert "3 package(s) missing" in out
    for kernel in kernels_using([base], config):
        remove_kernel(kernel.name, config)
    assert list_kernels(config) == []


# ---- the kernel really runs -------------------------------------------------------------------


def outputs(cell: Any) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")


def test_kernel_starts_with_the_stack(
    installed: dict[str, dict[str, Any]], run: Run, tmp_path: Path
) -> None:
    assert run("kernel", "add", "demo-tool", "--name", "tools")[0] == 0
    nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    nb.cells = [
        nbformat.v4.new_code_cell(source)  # type: ignore[no-untyped-call]
        for source in (
            "!demo-tool 5",
            "import os; print(os.environ['PATH'].split(':')[0])",
            "%spack find",
        )  # the kernel loaded the extension itself
    ]
    NotebookClient(
        nb, kernel_name="tools", timeout=60, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    tool = installed["demo-tool"]["prefix"]
    assert "value: 41" in outputs(nb.cells[0])
    assert outputs(nb.cells[1]).strip() == f"{tool}/bin"
    assert "libdemo-base" in outputs(nb.cells[2]) and "explicit" in outputs(nb.cells[2])


# ---- the server sees kernels even when the user's data dir is hidden --------------------------


async def test_server_kernelspec_api_with_user_config_disabled(
    installed: dict[str, dict[str, Any]],
    run: Run,
    jp_fetch: Any,
    jp_serverapp: Any,
    tmp_path: Path,
) -> None:
    assert run("kernel", "add", "demo-tool", "--name", "tools")[0] == 0
    # like JupyterHub's disable_user_config: directories under $HOME are not searched
    site = tmp_path / "site-kernels"
    site.mkdir()
    jp_serverapp.kernel_spec_manager.kernel_dirs = [str(site)]
    response = await jp_fetch("api", "kernelspecs")
    assert "tools" not in json.loads(response.body)["kernelspecs"]

    added = add_kernel_dirs(jp_serverapp.kernel_spec_manager, load_config())
    assert added == kernel_dirs(load_config())
    assert add_kernel_dirs(jp_serverapp.kernel_spec_manager, load_config()) == []
    response = await jp_fetch("api", "kernelspecs")
    spec = json.loads(response.body)["kernelspecs"]["tools"]["spec"]
    assert spec["display_name"].startswith("demo-tool 1.0.0")
    assert spec["metadata"]["spackcache"]["roots"][0]["hash"] == installed["demo-tool"]["hash"]


# ---- pure parts: which interpreter, which environment -----------------------------------------


def record(tmp_path: Path, name: str, version: str, target: str = "zen3") -> InstalledRecord:
    h = (name.replace("-", "") + "x" * 32)[:32]
    prefix = tmp_path / f"{name}-{version}-{h[:7]}"
    node = ConcreteNode(name, version, h, "linux", "debian12", target)
    return InstalledRecord(h, name, version, str(prefix), str(tmp_path), {}, node, "m", True, 0.0)


def executable(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_stack_interpreters_win_when_they_bring_a_kernel(tmp_path: Path) -> None:
    python = record(tmp_path, "python", "3.12.4")
    ipykernel = record(tmp_path, "py-ipykernel", "6.29.5")
    jupyter = choose_launcher([python], python="/jupyter/bin/python", python_version=(3, 11))
    assert (jupyter.interpreter, jupyter.python) == ("jupyter", (3, 11))
    assert jupyter.argv[0] == "/jupyter/bin/python"
    # python + py-ipykernel, but no interpreter on disk: still Jupyter's
    assert choose_launcher([python, ipykernel]).interpreter == "jupyter"
    executable(Path(python.prefix) / "bin" / "python3")
    stack = choose_launcher([python, ipykernel])
    assert stack.argv == (
        f"{python.prefix}/bin/python3",
        "-m",
        "ipykernel_launcher",
        "-f",
        "{connection_file}",
    )
    assert (stack.interpreter, stack.python, stack.language) == ("stack", (3, 12), "python")

    r, irkernel = record(tmp_path, "r", "4.4.1"), record(tmp_path, "r-irkernel", "1.3.2")
    executable(Path(r.prefix) / "bin" / "R")
    rk = choose_launcher([r, irkernel])
    assert rk.language == "R" and rk.argv[0] == f"{r.prefix}/bin/R"
    assert "IRkernel::main()" in rk.argv and rk.python is None


def test_kernel_env_keeps_only_matching_python_packages() -> None:
    changes = {
        "PATH": EnvChange("PATH", ("/a/bin", "/b/bin")),
        "MANPATH": EnvChange("MANPATH", ("/a/share/man",)),
        "PYTHONPATH": EnvChange(
            "PYTHONPATH", ("/a/lib/python3.11/site-packages", "/b/lib/python3.12/site-packages")
        ),
    }
    env = kernel_env(changes, (3, 11))
    assert env == {
        "PATH": "/a/bin:/b/bin:${PATH}",
        "MANPATH": "/a/share/man:",
        "PYTHONPATH": "/a/lib/python3.11/site-packages",
    }
    assert "PYTHONPATH" not in kernel_env(changes, (3, 10))


def test_default_names(tmp_path: Path) -> None:
    gromacs = record(tmp_path, "gromacs", "2023.1")
    fftw = record(tmp_path, "fftw", "3.3.10", target="x86_64_v3")
    assert default_display_name([gromacs]) == "gromacs 2023.1 (zen3)"
    assert default_display_name([gromacs, fftw]) == (
        "gromacs 2023.1 (zen3) + fftw 3.3.10 (x86_64_v3)"
    )
    assert default_name([gromacs]) == f"spack-gromacs-2023.1-{gromacs.hash[:7]}"
    assert default_name([gromacs, fftw]) == f"spack-gromacs-{gromacs.hash[:7]}-fftw-{fftw.hash[:7]}"


def test_uninstall_removes_the_kernels_it_breaks(installed: dict[str, Any], run: Run) -> None:
    assert run("kernel", "add", "demo-tool", "--name", "tools")[0] == 0
    code, out, err = run("uninstall", "libdemo-base", "--dependents", "--yes")
    assert code == 0, err
    target = installed["demo-tool"]["target"]
    assert f"  kernel 'tools' (\"demo-tool 1.0.0 ({target})\"), which needs them\n" in out
    assert out.endswith("uninstalled 3 package(s) and 1 kernel(s)\n")
    assert list_kernels(load_config()) == []
    assert not (data_kernels() / "tools").exists()
