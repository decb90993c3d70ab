"""Modulefiles with real module systems: install from the demo mirror, then in a clean shell
``module use``, ``module load``, run the tools, ``module unload`` and find the environment as it
was; ``module avail``/``spider``/``whatis`` list the stacks with their descriptions; uninstalling
takes the modules away.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from jupyter_spackcache.config import load_config
from jupyter_spackcache.demo.build import DemoMirror
from jupyter_spackcache.env import load_environment
from jupyter_spackcache.install.installed import one_installed
from jupyter_spackcache.store import StoreDB, default_db_path
from tests.support.modtools import clean_shell, module_init

pytestmark = pytest.mark.slow

Run = Callable[..., tuple[int, str, str]]
DUMP_ENV = "python3 -c 'import json, os; print(json.dumps(dict(os.environ)))'"
#: bash's own bookkeeping, which differs between any two moments of a shell
_NOISE = {"_", "SHLVL", "OLDPWD"}


def _user_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` without bookkeeping: bash's, Lmod's path reference counts, and chunks of Lmod's
    saved module table beyond the count it reads (Lmod 8.6 leaves a longer table's old tail
    behind; ``_ModuleTable_Sz_`` says how many chunks are live)."""
    live = int(env.get("_ModuleTable_Sz_", "0"))
    out = {}
    for key, value in env.items():
        chunk = re.fullmatch(r"_ModuleTable(\d+)_", key)
        if key in _NOISE or key.startswith("__LMOD_REF_COUNT_") or (chunk and int(chunk[1]) > live):
            continue
        out[key] = value
    return out


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = Path(tempfile.mkdtemp(prefix="sm", dir="/tmp"))
    monkeypatch.setenv("SPACKCACHE_HOME", str(home))
    monkeypatch.setenv("SPACKCACHE_SITE_CONFIG", str(tmp_path / "site.yaml"))
    for var in ("SPACKCACHE_PLATFORM", "SPACKCACHE_OS", "SPACKCACHE_TARGET", "SPACKCACHE_LIBC",
                "SPACKCACHE_INSTALL_ROOT", "SPACKCACHE_FAULT"):  # fmt: skip
        monkeypatch.delenv(var, raising=False)
    yield home
    shutil.rmtree(home, ignore_errors=True)


def _install(run: Run, demo: DemoMirror, *specs: str) -> None:
    for argv in (("mirror", "add", "demo", str(demo.path)),
                 ("keys", "trust", "--mirror", "demo", "--yes"),
                 ("install", *specs, "--yes")):  # fmt: skip
        code, _, err = run(*argv)
        assert code == 0, err


def _system(name: str) -> str:
    init = module_init(name)
    if init is None:
        pytest.skip(f"{name} is not available (lmod: apt-get install lmod; tcl: tclsh and "
                    "scripts/fetch-environment-modules.sh)")  # fmt: skip
    return init


def _expected_prepends(spec: str) -> dict[str, tuple[str, ...]]:
    """What ``spackcache load`` puts in front of each variable for ``spec``."""
    config = load_config()
    store = StoreDB(default_db_path(config))
    try:
        changes = load_environment([one_installed(store, spec)], store=store)
    finally:
        store.close()
    return {name: change.prepend for name, change in changes.items()}


@pytest.mark.parametrize(
    ("system", "fmt"),
    [("lmod", "lmod"), ("tcl", "tcl"), ("lmod", "tcl")],  # Lmod reads Tcl modulefiles too
    ids=["lmod", "tcl", "lmod-reads-tcl"],
)
def test_load_run_unload_in_a_clean_shell(
    system: str, fmt: str, signed_demo: DemoMirror, run: Run, home: Path, tmp_path: Path
) -> None:
    init = _system(system)
    _install(run, signed_demo, "demo-tool", "demo-scripts")
    root = home / "modules" / fmt
    suffix = ".lua" if fmt == "lmod" else ""
    assert (root / "demo-scripts" / f"0.3.0{suffix}").is_file()
    assert (root / "demo-tool" / f"1.0.0{suffix}").is_file()
    assert not (root / "libdemo-mid").exists()  # only roots, by default
    code, use_line, _ = run("module", "use", "--format", fmt)
    assert code == 0 and use_line.strip() == f"module use {root}"

    work = tmp_path / "w"
    work.mkdir()
    lister = "module spider demo-scripts" if fmt == "lmod" else "module whatis demo-scripts"
    clean_shell(
        f"""{init}
        {use_line.strip()}
        {DUMP_ENV} > {work}/before.json
        module load demo-scripts
        {DUMP_ENV} > {work}/loaded.json
        demo-hello 4 > {work}/hello.txt
        demo-tool 4 > {work}/tool.txt
        module list > {work}/list.txt 2>&1
        module unload demo-scripts
        {DUMP_ENV} > {work}/after.json
        module avail > {work}/avail.txt 2>&1
        {lister} > {work}/describe.txt 2>&1
        """,
        home=tmp_path,
    )
    before = json.loads((work / "before.json").read_text())
    loaded = json.loads((work / "loaded.json").read_text())
    after = json.loads((work / "after.json").read_text())

    # the same environment as `spackcache load demo-scripts`, dependencies' modules included
    for name, dirs in _expected_prepends("demo-scripts").items():
        value = loaded[name].split(":")
        assert value[: len(dirs)] == list(dirs), name
    assert loaded["PATH"].endswith(":/usr/bin:/bin")
    prefixes = {r["name"]: r["prefix"] for r in json.loads(run("find", "--json")[1])}
    assert loaded["DEMO_SCRIPTS_ROOT"] == prefixes["demo-scripts"]
    assert loaded["DEMO_TOOL_ROOT"] == prefixes["demo-tool"]  # loaded through depends_on
    assert f"{prefixes['libdemo-base']}/lib/pkgconfig" in loaded["PKG_CONFIG_PATH"].split(":")
    assert "demo-tool/1.0.0" in (work / "list.txt").read_text()
    load = json.loads(run("load", "--json", "demo-scripts")[1])  # `spackcache load` sets it too
    assert load["DEMO_SCRIPTS_ROOT"] == loaded["DEMO_SCRIPTS_ROOT"]

    # the tools run from PATH alone (demo-hello runs demo-tool from its own dependency)
    assert "demo-scripts prefix: " in (work / "hello.txt").read_text()
    assert (work / "tool.txt").read_text().strip()

    # unloading the root unloads the dependency it loaded and restores everything
    assert _user_env(after) == _user_env(before)

    avail = (work / "avail.txt").read_text()
    assert "demo-scripts/0.3.0" in avail and "demo-tool/1.0.0" in avail
    describe = (work / "describe.txt").read_text()
    assert "demo-scripts 0.3.0" in describe and "from mirror 'demo'" in describe

    # uninstalling takes the module away, and `module avail` no longer shows it
    code, _, err = run("uninstall", "demo-scripts", "--yes")
    assert code == 0, err
    assert not (root / "demo-scripts").exists()
    avail = clean_shell(f"{init}\n{use_line.strip()}\nmodule avail 2>&1", home=tmp_path)
    assert "demo-scripts" not in avail and "demo-tool/1.0.0" in avail


def test_lmod_spider_and_every_node_with_depends_on(
    signed_demo: DemoMirror, run: Run, home: Path, tmp_path: Path
) -> None:
    init = _system("lmod")
    Path(os.environ["SPACKCACHE_SITE_CONFIG"]).write_text(
        "modules:\n  enable: [lmod]\n  all_nodes: true\n"
    )
    _install(run, signed_demo, "demo-tool")
    root = home / "modules" / "lmod"
    assert not (home / "modules" / "tcl").exists()  # the site chose Lmod only
    assert sorted(p.parent.name for p in root.glob("*/*.lua")) == [
        "demo-tool", "libdemo-base", "libdemo-mid",
    ]  # fmt: skip
    script = f"""{init}
    module use {shlex.quote(str(root))}
    {DUMP_ENV} > {tmp_path}/before.json
    module load demo-tool
    module list 2>&1
    module unload demo-tool
    module list 2>&1
    {DUMP_ENV} > {tmp_path}/after.json
    module spider libdemo-base 2>&1
    """
    out = clean_shell(script, home=tmp_path)
    loaded_part, unloaded_part = out.split("No modules loaded")
    # loading the root loaded its dependencies' modules first, and unloading took them away
    assert "1) libdemo-base/1.2.0   2) libdemo-mid/2.0.1   3) demo-tool/1.0.0" in loaded_part
    assert "libdemo-base 1.2.0 for" in unloaded_part  # spider shows the description
    before = json.loads((tmp_path / "before.json").read_text())
    after = json.loads((tmp_path / "after.json").read_text())
    assert _user_env(after) == _user_env(before)


def test_refresh_follows_a_settings_change(signed_demo: DemoMirror, run: Run, home: Path) -> None:
    site = Path(os.environ["SPACKCACHE_SITE_CONFIG"])
    site.write_text("modules:\n  enable: [lmod]\n")
    _install(run, signed_demo, "demo-tool")
    lmod_file = home / "modules" / "lmod" / "demo-tool" / "1.0.0.lua"
    assert lmod_file.is_file()
    code, out, err = run("module", "use")
    assert code == 0 and out.strip() == f"module use {home}/modules/lmod", err
    site.write_text("modules:\n  enable: [tcl]\n  all_nodes: true\n")  # the site switches
    code, out, err = run("module", "refresh", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["formats"] == {"tcl": str(home / "modules" / "tcl")}
    assert result["modules"] == ["demo-tool/1.0.0", "libdemo-base/1.2.0", "libdemo-mid/2.0.1"]
    assert result["removed"] == [str(lmod_file)] and not lmod_file.parent.exists()
    assert len(result["written"]) == 3
    site.write_text("modules:\n  enable: []\n")
    code, out, _ = run("module", "refresh")
    assert out.splitlines()[0] == "modules are turned off (modules.enable is empty)"
    assert not list((home / "modules").rglob("*/*/*"))
    code, _, err = run("module", "use")
    assert code == 1 and "modules are turned off" in err


def test_unwritable_modules_warn_but_install_and_uninstall_succeed(
    signed_demo: DemoMirror, run: Run, home: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    Path(os.environ["SPACKCACHE_SITE_CONFIG"]).write_text(
        f"modules:\n  roots: {{lmod: {blocker}/lmod}}\n"
    )
    for argv in (("mirror", "add", "demo", str(signed_demo.path)),
                 ("keys", "trust", "--mirror", "demo", "--yes")):  # fmt: skip
        assert run(*argv)[0] == 0
    code, out, err = run("install", "demo-tool", "demo-scripts", "--yes", "--json")
    assert code == 0, err
    warnings = json.loads(out)["result"]["warnings"]
    assert len(warnings) == 1 and warnings[0].startswith("modulefiles not updated: ")
    assert warnings[0].endswith("(run `spackcache module refresh`)")
    # the other format was still written, and the install is complete
    assert (home / "modules" / "tcl" / "demo-tool" / "1.0.0").is_file()
    assert {r["name"] for r in json.loads(run("find", "--json")[1])} >= {"demo-tool"}
    code, out, err = run("uninstall", "demo-scripts", "--yes")
    assert code == 0 and "uninstalled 1 package(s)" in out
    assert "warning: modulefiles not updated" in err  # demo-tool's Lmod file cannot be written
    assert not (home / "modules" / "tcl" / "demo-scripts").exists()
