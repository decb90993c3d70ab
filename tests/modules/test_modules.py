"""Modulefiles without a module system: names, rendering (checked by real Lua and Tcl
interpreters), the settings, and the writer's sync against a real store."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from jupyter_spackcache.config import Config, ModulesConfig, load_config
from jupyter_spackcache.env import root_variable
from jupyter_spackcache.errors import ConfigError
from jupyter_spackcache.modules import lmod, tcl
from jupyter_spackcache.modules.content import ModuleFile, module_files
from jupyter_spackcache.modules.names import module_names
from jupyter_spackcache.modules.writer import sync_after_change, sync_modules
from jupyter_spackcache.spec.concrete import ConcreteNode, Edge
from jupyter_spackcache.store.db import InstalledRecord, StoreDB

NASTY = 'a "quoted" $HOME [x] {y} \\ back\nnew;line'


def _node(name: str, version: str = "1.0", target: str = "x86_64", h: str = "",
          deps: tuple[str, ...] = ()) -> ConcreteNode:  # fmt: skip
    return ConcreteNode(
        name=name, version=version, hash=(h or name).ljust(32, "x")[:32], platform="linux",
        os="debian12", target=target,
        edges=tuple(Edge(d, d.ljust(32, "x")[:32], frozenset({"link"})) for d in deps),
    )  # fmt: skip


def _record(root: Path, node: ConcreteNode, *, explicit: bool = True) -> InstalledRecord:
    prefix = root / f"{node.name}-{node.hash[:7]}"
    (prefix / "bin").mkdir(parents=True, exist_ok=True)
    spec = {"spec": {"_meta": {"version": 5}, "nodes": [{
        "name": node.name, "version": node.version, "hash": node.hash,
        "arch": {"platform": "linux", "platform_os": "debian12", "target": node.target},
        "namespace": "builtin", "parameters": {},
        "dependencies": [{"name": e.name, "hash": e.hash,
                          "parameters": {"deptypes": ["link"], "virtuals": []}}
                         for e in node.edges],
    }]}}  # fmt: skip
    return InstalledRecord(node.hash, node.name, node.version, str(prefix), str(root), spec,
                           node, "demo", explicit, 0.0)  # fmt: skip


# ---- names -----------------------------------------------------------------------------------


def test_names_are_name_slash_version_made_unique_like_spack_projections() -> None:
    a = _node("zlib", "1.3", h="aaaaaaa1")
    b = _node("zlib", "1.2", h="bbbbbbb1")
    assert module_names([a, b]) == {a.hash: "zlib/1.3", b.hash: "zlib/1.2"}
    zen = _node("fftw", "3.3", target="zen3", h="ccccccc1")
    sky = _node("fftw", "3.3", target="skylake", h="ddddddd1")
    assert module_names([zen, sky]) == {zen.hash: "fftw/3.3-zen3", sky.hash: "fftw/3.3-skylake"}
    one = _node("hdf5", "1.14", h="eeeeeee1")
    two = _node("hdf5", "1.14", h="fffffff1")  # same target: only the hash tells them apart
    assert module_names([one, two]) == {
        one.hash: "hdf5/1.14-eeeeeee",
        two.hash: "hdf5/1.14-fffffff",
    }
    odd = _node("x", "1.0/../2 3")
    assert module_names([odd])[odd.hash] == "x/1.0_.._2_3"


def test_root_variable_follows_spack() -> None:
    assert root_variable("py-numpy") == "PY_NUMPY_ROOT"
    assert root_variable("libdemo-base") == "LIBDEMO_BASE_ROOT"


# ---- rendering: quoting checked by the real interpreters -------------------------------------


@pytest.mark.skipif(
    shutil.which("lua") is None, reason="lua is not installed (apt-get install lua5.3)"
)
def test_lua_strings_survive_a_real_lua() -> None:
    out = subprocess.run(["lua", "-e", f"io.write({lmod.lua_string(NASTY + chr(1))})"],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert out == NASTY + "\x01"


@pytest.mark.skipif(
    shutil.which("tclsh") is None, reason="tcl is not installed (apt-get install tcl)"
)
def test_tcl_words_survive_a_real_tclsh() -> None:
    script = f"set x {tcl.tcl_word(NASTY + chr(1))}\nputs -nonewline $x\n"
    out = subprocess.run(["tclsh"], input=script, capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    assert out == NASTY + "\x01"


def _module(**kw: object) -> ModuleFile:
    base = dict(name="app/1.0", package="app", version="1.0", target="zen3", hash="h" * 32,
                variants="+mpi ~debug", mirror="site", prefix="/p/app",
                prepend=(("PATH", ("/p/app/bin", "/p/lib/bin")), ("MANPATH", ("/p/app/man",))),
                setenv=(("APP_ROOT", "/p/app"),), depends_on=("mpi/4.1",))  # fmt: skip
    base.update(kw)
    return ModuleFile(**base)  # type: ignore[arg-type]


def test_lmod_file_says_what_spack_modules_say() -> None:
    text = lmod.render(_module())
    lines = text.splitlines()
    assert lmod.MARKER in lines[1]
    assert 'whatis("Version : 1.0")' in lines and 'whatis("Target : zen3")' in lines
    assert "Variants: +mpi ~debug" in text and "Mirror  : site" in text and "h" * 32 in text
    # the dependency first, then the foremost directory last (each prepend goes in front)
    order = [lines.index(x) for x in ('depends_on("mpi/4.1")', 'prepend_path("PATH", "/p/lib/bin")',
                                      'prepend_path("PATH", "/p/app/bin")')]  # fmt: skip
    assert order == sorted(order)
    assert 'append_path("MANPATH", "")' in lines
    assert 'setenv("APP_ROOT", "/p/app")' in lines


def test_tcl_file_loads_dependencies_both_ways() -> None:
    text = tcl.render(_module())
    assert text.startswith("#%Module1.0\n")
    assert '    module load "mpi/4.1"' in text and '    depends-on "mpi/4.1"' in text
    assert 'prepend-path "PATH" "/p/app/bin"' in text
    assert "module-whatis \"app 1.0 for zen3, installed from mirror 'site'\"" in text
    assert "depends" not in tcl.render(_module(depends_on=()))


def test_dependencies_without_modules_are_folded_in(tmp_path: Path) -> None:
    base = _record(tmp_path, _node("base"), explicit=False)
    lib = _record(tmp_path, _node("lib", deps=("base",)), explicit=True)
    app = _record(tmp_path, _node("app", deps=("lib", "glibc")), explicit=True)
    by_hash = {r.hash: r for r in (base, lib, app)}
    names = module_names([lib.node, app.node])
    files = {m.package: m for m in module_files([base, lib, app], names, by_hash.get)}
    assert set(files) == {"lib", "app"}
    assert files["app"].depends_on == ("lib/1.0",)
    assert dict(files["app"].prepend)["PATH"] == (f"{app.prefix}/bin",)
    assert dict(files["lib"].prepend)["PATH"] == (f"{lib.prefix}/bin", f"{base.prefix}/bin")
    assert dict(files["lib"].setenv) == {"LIB_ROOT": lib.prefix}


# ---- settings ----------------------------------------------------------------------------------


def _config(tmp_path: Path, site: str = "", user: str = "") -> Config:
    (tmp_path / "home").mkdir(exist_ok=True)
    (tmp_path / "site.yaml").write_text(site)
    (tmp_path / "home" / "config.yaml").write_text(user)
    return load_config({"SPACKCACHE_HOME": str(tmp_path / "home"),
                        "SPACKCACHE_SITE_CONFIG": str(tmp_path / "site.yaml")})  # fmt: skip


def test_settings_default_site_and_user(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert config.modules == ModulesConfig(enable=("lmod", "tcl"))
    assert config.module_root("tcl") == tmp_path / "home" / "modules" / "tcl"
    config = _config(tmp_path, site="modules:\n  enable: [lmod]\n  roots: {lmod: /srv/m}\n")
    assert config.modules.enable == ("lmod",) and config.module_root("lmod") == Path("/srv/m")
    config = _config(tmp_path, site="modules: {enable: [lmod]}\n", user="modules:\n  enable: []\n")
    assert config.modules.enable == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("modules: {enable: [lua]}\n", "'modules.enable' must list formats"),
        ("modules: {roots: {lmod: relative/dir}}\n", "'relative/dir' is a relative path"),
        ("modules: {roots: {conda: /x}}\n", "'modules.roots' must map"),
        ("modules: {all_nodes: maybe}\n", "'modules.all_nodes' must be true or false"),
        ("modules: {colour: blue}\n", "unknown key 'modules.colour'"),
        ("modules: [lmod]\n", "'modules' must be a mapping"),
    ],
)
def test_bad_settings_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        _config(tmp_path, site=text)
    assert message in str(err.value) and str(tmp_path / "site.yaml") in str(err.value)


# ---- the writer ------------------------------------------------------------------------------


def test_sync_follows_the_store_and_leaves_other_files_alone(tmp_path: Path) -> None:
    config = _config(tmp_path, site="modules: {enable: [lmod]}\n")
    store = StoreDB(tmp_path / "db.sqlite")
    try:
        first = _record(tmp_path / "opt", _node("tool", "2.0", h="aaaaaaa2"))
        store.add(first)
        root = config.module_root("lmod")
        foreign = root / "tool" / "site.lua"
        foreign.parent.mkdir(parents=True)
        foreign.write_text("-- a site's own module\n")
        result = sync_modules(config, store)
        assert result.written == (root / "tool" / "2.0.lua",)
        assert sync_modules(config, store).written == ()  # unchanged: nothing rewritten
        # a second build of the same version renames both, and the old name goes
        second = _record(tmp_path / "opt", _node("tool", "2.0", h="bbbbbbb2"))
        store.add(second)
        result = sync_modules(config, store)
        assert sorted(p.name for p in result.written) == ["2.0-aaaaaaa.lua", "2.0-bbbbbbb.lua"]
        assert result.removed == (root / "tool" / "2.0.lua",)
        store.remove(second.hash)
        sync_modules(config, store)
        assert sorted(p.name for p in (root / "tool").iterdir()) == ["2.0.lua", "site.lua"]
        # turning modules off removes ours, never the site's
        off = _config(tmp_path, site="modules: {enable: []}\n")
        assert sync_modules(off, store).removed == (root / "tool" / "2.0.lua",)
        assert foreign.read_text() == "-- a site's own module\n"
    finally:
        store.close()


def test_a_failing_sync_is_a_warning(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    config = _config(tmp_path, site=f"modules: {{roots: {{lmod: {blocker}/lmod}}}}\n")
    store = StoreDB(tmp_path / "db.sqlite")
    try:
        store.add(_record(tmp_path / "opt", _node("tool")))
        warning = sync_after_change(config, store)
        assert warning is not None and "modulefiles not updated" in warning
        assert "spackcache module refresh" in warning
    finally:
        store.close()


def test_a_sync_waits_for_a_posix_lock_held_by_another_host(tmp_path: Path) -> None:
    """Homes are on NFS: the sync lock must be a POSIX record lock (lockf), which NFS shares
    between login nodes, not flock. Another process holding lockf stands in for the other node."""
    config = _config(tmp_path, site="modules: {enable: [lmod]}\n")
    config.home.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT);"
            "fcntl.lockf(fd, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.read()",
            str(config.home / "modules.lock"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    store = StoreDB(tmp_path / "db.sqlite")
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        store.add(_record(tmp_path / "opt", _node("tool")))
        done = threading.Event()
        worker = threading.Thread(target=lambda: (sync_modules(config, store), done.set()))
        worker.start()
        assert not done.wait(0.5)  # blocked by the other holder's record lock
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(10)
        worker.join(10)
        assert done.is_set()
        assert (config.module_root("lmod") / "tool" / "1.0.lua").is_file()
    finally:
        holder.kill()
        holder.wait()
        store.close()


def test_module_roots_inside_an_upstream_are_refused(tmp_path: Path) -> None:
    upstream = tmp_path / "site-store"
    site = f"upstreams: [{upstream}]\nmodules: {{roots: {{tcl: {upstream}/modules}}}}\n"
    config = _config(tmp_path, site=site)
    store = StoreDB(tmp_path / "db.sqlite")
    try:
        with pytest.raises(ConfigError, match="inside the upstream store"):
            sync_modules(config, store)
        assert not upstream.exists()
    finally:
        store.close()


# ---- which root a shell or jupyter-lmod uses ---------------------------------------------------


def test_preferred_format_and_modulepath(tmp_path: Path) -> None:
    from jupyter_spackcache.modules.use import preferred_format, prepend_modulepath
    from jupyter_spackcache.ops.modules import use_line

    config = _config(tmp_path)
    assert preferred_format(config, {"LMOD_CMD": "/x/lmod"}) == "lmod"
    assert preferred_format(config, {"MODULES_CMD": "/x/modulecmd.tcl"}) == "tcl"
    lmod_only = _config(tmp_path, site="modules: {enable: [lmod]}\n")
    assert preferred_format(lmod_only, {}) == "lmod"  # Lmod reads it; nothing else to offer
    assert use_line({}, "lmod", config=lmod_only) == f"module use {lmod_only.module_root('lmod')}"
    with pytest.raises(
        ConfigError, match=r"tcl modules are not written here \(modules.enable: lmod\)"
    ):
        use_line({}, "tcl", config=lmod_only)  # an empty or stale tree would only mislead
    env = {"LMOD_CMD": "/x/lmod", "MODULEPATH": "/site/modules"}
    root = prepend_modulepath(config, env)
    assert root == config.module_root("lmod") and root.is_dir()
    assert env["MODULEPATH"] == f"{root}:/site/modules"
    assert prepend_modulepath(config, env) == root and env["MODULEPATH"].count(str(root)) == 1
    off = _config(tmp_path, site="modules: {enable: []}\n")
    assert prepend_modulepath(off, env) is None
    with pytest.raises(ConfigError, match="turned off"):
        preferred_format(off, {})


def test_jupyter_lmod_setting_turns_the_modulepath_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import logging

    from jupyter_spackcache.server.routes import _modules_for_jupyter_lmod

    pytest.importorskip("jupyterlmod", reason="pip install jupyterlmod")
    monkeypatch.setenv("MODULEPATH", "/site/modules")
    for var in ("LMOD_CMD", "LMOD_VERSION"):  # a login shell under Debian's lmod sets them
        monkeypatch.delenv(var, raising=False)

    class App:
        log = logging.getLogger("test")

    _modules_for_jupyter_lmod(App(), _config(tmp_path, site="modules: {jupyter_lmod: false}\n"))
    assert os.environ["MODULEPATH"] == "/site/modules"
    config = _config(tmp_path)
    _modules_for_jupyter_lmod(App(), config)
    assert os.environ["MODULEPATH"].split(":")[0] == str(config.module_root("tcl"))


def test_python_and_r_libraries_and_man_pages_are_in_the_module(tmp_path: Path) -> None:
    app = _record(tmp_path, _node("py-app"))
    prefix = Path(app.prefix)
    for sub in ("lib/python3.12/site-packages", "rlib/R/library", "share/man", "lib/pkgconfig"):
        (prefix / sub).mkdir(parents=True)
    names = module_names([app.node])
    (module,) = module_files([app], names, {app.hash: app}.get)
    prepend = dict(module.prepend)
    assert prepend["PYTHONPATH"] == (f"{prefix}/lib/python3.12/site-packages",)
    assert prepend["R_LIBS"] == (f"{prefix}/rlib/R/library",)
    assert prepend["MANPATH"] == (f"{prefix}/share/man",)
    assert prepend["PKG_CONFIG_PATH"] == (f"{prefix}/lib/pkgconfig",)
    assert prepend["CMAKE_PREFIX_PATH"] == (str(prefix),)
    assert dict(module.setenv) == {"PY_APP_ROOT": str(prefix)}
