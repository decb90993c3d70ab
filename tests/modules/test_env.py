"""``load_environment`` and its shell renderings: which directories, in which order, quoted how."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from jupyter_spackcache.env import (
    EnvChange,
    apply,
    closure,
    csh_quote,
    environment_for,
    fish_quote,
    load_environment,
    render,
)
from jupyter_spackcache.spec.concrete import ConcreteNode, Edge
from jupyter_spackcache.store.db import InstalledRecord, StoreDB


def _prefix(root: Path, name: str, *dirs: str) -> Path:
    prefix = root / name
    for d in dirs:
        (prefix / d).mkdir(parents=True)
    prefix.mkdir(exist_ok=True)
    return prefix


def test_only_existing_directories_in_order(tmp_path: Path) -> None:
    app = _prefix(
        tmp_path, "app", "bin", "share/man", "lib/pkgconfig", "lib/python3.11/site-packages"
    )
    lib = _prefix(tmp_path, "lib", "lib64/pkgconfig", "man", "share/pkgconfig")
    changes = environment_for([app, lib])
    assert changes["PATH"] == EnvChange("PATH", (f"{app}/bin",))
    assert changes["MANPATH"].prepend == (f"{app}/share/man", f"{lib}/man")
    assert changes["PKG_CONFIG_PATH"].prepend == (
        f"{app}/lib/pkgconfig",
        f"{lib}/lib64/pkgconfig",
        f"{lib}/share/pkgconfig",
    )
    assert changes["CMAKE_PREFIX_PATH"].prepend == (str(app), str(lib))
    assert changes["PYTHONPATH"].prepend == (f"{app}/lib/python3.11/site-packages",)


def test_nothing_for_an_empty_prefix(tmp_path: Path) -> None:
    empty = _prefix(tmp_path, "empty")
    assert environment_for([empty]) == {
        "CMAKE_PREFIX_PATH": EnvChange("CMAKE_PREFIX_PATH", (str(empty),))
    }


def test_apply_prepends_moves_duplicates_and_keeps_man_default() -> None:
    changes = {
        "PATH": EnvChange("PATH", ("/a/bin", "/b/bin")),
        "MANPATH": EnvChange("MANPATH", ("/a/man",)),
        "PKG_CONFIG_PATH": EnvChange("PKG_CONFIG_PATH", ("/a/pc",)),
    }
    out = apply(changes, {"PATH": "/usr/bin:/b/bin:/bin"})
    assert out["PATH"] == "/a/bin:/b/bin:/usr/bin:/bin"
    assert out["MANPATH"] == "/a/man:"  # unset MANPATH: keep man's built-in search path
    assert out["PKG_CONFIG_PATH"] == "/a/pc"
    assert apply(changes, {**out})["PATH"] == out["PATH"]  # loading twice changes nothing


NASTY = '/opt/it\'s $HOME/"q"/back\\slash/!bang'


def test_sh_rendering_round_trips_through_bash() -> None:
    text = render({"PATH": f"{NASTY}:/usr/bin:/bin", "FOO_PATH": "plain"}, "sh")
    assert text.splitlines()[1] == "export FOO_PATH=plain;"
    shown = subprocess.run(
        ["bash", "-c", f'{text}\nprintf "%s" "$PATH"'], capture_output=True, text=True, check=True
    )
    assert shown.stdout == f"{NASTY}:/usr/bin:/bin"


def test_csh_and_fish_quoting() -> None:
    assert csh_quote("/a/b:/c") == "/a/b:/c"
    assert csh_quote("it's") == "'it'\\''s'"
    assert csh_quote("a!b") == "'a\\!b'"
    assert fish_quote("it's \\x") == "'it\\'s \\\\x'"
    assert render({"PATH": "/x"}, "csh") == "setenv PATH /x;"
    assert render({"PATH": "/x y"}, "fish") == "set -gx PATH '/x y';"


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_rendering_round_trips() -> None:  # pragma: no cover - needs fish
    text = render({"FOO": NASTY}, "fish")
    shown = subprocess.run(
        ["fish", "-c", f'{text}; printf "%s" "$FOO"'], capture_output=True, text=True, check=True
    )
    assert shown.stdout == NASTY


def test_json_rendering() -> None:
    assert json.loads(render({"PATH": NASTY}, "json")) == {"PATH": NASTY}
    with pytest.raises(ValueError, match="unknown shell"):
        render({}, "zsh-ish")


def _record(store_root: Path, name: str, deps: dict[str, set[str]]) -> InstalledRecord:
    node = ConcreteNode(
        name=name,
        version="1.0",
        hash=name.ljust(32, "x")[:32],
        platform="linux",
        os="debian12",
        target="x86_64",
        edges=tuple(Edge(d, d.ljust(32, "x")[:32], frozenset(t)) for d, t in deps.items()),
    )
    spec = {
        "spec": {
            "_meta": {"version": 5},
            "nodes": [
                {
                    "name": name,
                    "version": "1.0",
                    "hash": node.hash,
                    "arch": {"platform": "linux", "platform_os": "debian12", "target": "x86_64"},
                    "namespace": "builtin",
                    "parameters": {},
                    "dependencies": [
                        {
                            "name": e.name,
                            "hash": e.hash,
                            "parameters": {"deptypes": sorted(e.deptypes), "virtuals": []},
                        }
                        for e in node.edges
                    ],
                }
            ],
        }
    }
    prefix = _prefix(store_root, name, "bin")
    return InstalledRecord(
        node.hash, name, "1.0", str(prefix), str(store_root), spec, node, None, True, 0.0
    )


def test_load_environment_follows_link_and_run_deps_only(tmp_path: Path) -> None:
    store = StoreDB(tmp_path / "db.sqlite")
    try:
        base = _record(tmp_path, "base", {})
        tool = _record(tmp_path, "tool", {})
        cmake = _record(tmp_path, "cmake", {})
        app = _record(
            tmp_path,
            "app",
            {"base": {"link"}, "tool": {"run"}, "cmake": {"build"}, "glibc": {"link"}},
        )
        for r in (base, tool, cmake, app):
            store.add(r)
        assert [r.name for r in closure([app], store=store)] == ["app", "base", "tool"]
        changes = load_environment([app], store=store)
        assert changes["PATH"].prepend == tuple(
            f"{tmp_path}/{n}/bin" for n in ("app", "base", "tool")
        )
    finally:
        store.close()
