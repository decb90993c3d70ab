"""Spack environments in and out, end to end: real signed mirrors, real installs.

In: a ``spack.lock`` built (as Spack's ``_to_lockfile_dict`` does) from spec files Spack itself
wrote is installed by hash from the Spack-made fixture mirrors; one missing hash stops it before
anything is installed. Out: the gcc-built demo stack, installed from its signed mirror, is
exported as a ``spack.lock`` whose nodes are the signed ones, read back by us and by Spack's own
code to the same hashes, and installed again from it into a fresh store.
"""

# ruff: noqa: F811  (pytest fixtures imported from other test modules)
from __future__ import annotations

import copy
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_spackcache.formats.spack_env import parse_spack_lock
from jupyter_spackcache.ops.environments import lock_from_documents, signed_documents
from jupyter_spackcache.ops.query import resolve_specs
from jupyter_spackcache.session import Session
from tests.formats.test_spack_env import (
    CORE2_LIBDWARF,
    M1_LIBDWARF,
    lock_like_spack,
    spack_lib,  # noqa: F401
    spack_view,
    spack_written,
)
from tests.magics.test_lock_metadata import save_notebook
from tests.magics.test_magics import Run, demo, home, mirror, rendered, spack  # noqa: F401
from tests.mirrors.test_mirror_readers import V3_KEY
from tests.support.servers import V2_UNSIGNED, V3_SIGNED

pytestmark = pytest.mark.slow


def installed(run: Run) -> dict[str, str]:
    """hash -> name of everything installed."""
    return {r["hash"]: r["name"] for r in json.loads(run("find", "--json")[1])}


def pose_as(monkeypatch: pytest.MonkeyPatch, target: str) -> None:
    """Be the host the upstream fixtures were built for (platform test, os debian6)."""
    for var, value in (
        ("PLATFORM", "test"),
        ("OS", "debian6"),
        ("TARGET", target),
        ("LIBC", "none"),
    ):
        monkeypatch.setenv(f"SPACKCACHE_{var}", value)


def write(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(json.dumps(doc))
    return path


# ---- in: spack.lock from Spack-written spec files ------------------------------------------------


def test_install_a_v6_spack_lock_exactly_by_hash(
    home: Path,
    run: Run,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pose_as(monkeypatch, "m1")
    assert run("mirror", "add", "fx", str(V3_SIGNED))[0] == 0
    assert run("keys", "trust", "--mirror", "fx", V3_KEY)[0] == 0
    doc = lock_like_spack([spack_written(M1_LIBDWARF)], 6)
    lockfile = write(tmp_path / "spack.lock", doc)

    code, out, err = run("install", "--from", str(lockfile), "--yes")
    assert code == 0, err
    assert f"installing the spack.lock {lockfile} (exactly, by hash)" in out
    # the runtime DAG of the root, by the lock's hashes; build-only and external nodes are not
    assert installed(run) == {
        "u5uz3dcch5if4eve4sef67o2rf2lbfgh": "libdwarf",
        "jr3yipyxyjulcdvckwwwjrrumis7glpa": "libelf",
        "izgzpzeljwairalfjm3k6fntbb64nt6n": "gcc-runtime",
    }
    explicit = {r["name"] for r in json.loads(run("find", "--json")[1]) if r["explicit"]}
    assert explicit == {"libdwarf"}


def test_install_a_v5_spack_lock_of_spack_0_22_nodes(
    home: Path,
    run: Run,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pose_as(monkeypatch, "core2")
    assert run("mirror", "add", "fx", str(V2_UNSIGNED), "--unsigned")[0] == 0
    lockfile = write(tmp_path / "v5.lock", lock_like_spack([spack_written(CORE2_LIBDWARF)], 5))
    code, _out, err = run("install", "--from", str(lockfile), "--yes")
    assert code == 0, err
    assert installed(run) == {
        "sk2gqqz4n5njmvktycnd25wq25jxiqkr": "libdwarf",
        "rqh2vuf6fqwkmipzgi2wjx352mq7y7ez": "libelf",
    }


def test_a_hash_in_no_mirror_is_named_and_nothing_is_installed(
    home: Path,
    run: Run,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pose_as(monkeypatch, "m1")
    assert run("mirror", "add", "fx", str(V3_SIGNED))[0] == 0
    assert run("keys", "trust", "--mirror", "fx", V3_KEY)[0] == 0
    doc = lock_like_spack([spack_written(M1_LIBDWARF)], 6)
    # the team rebuilt libelf: the lock names a libelf build this mirror never had
    libelf = doc["concrete_specs"].pop("jr3yipyxyjulcdvckwwwjrrumis7glpa")
    libelf = {**libelf, "hash": "q" * 32}
    doc["concrete_specs"]["q" * 32] = libelf
    for node in doc["concrete_specs"].values():
        for dep in node.get("dependencies", ()):
            if dep["name"] == "libelf":
                dep["hash"] = "q" * 32
    lockfile = write(tmp_path / "spack.lock", doc)
    before = sorted(p.name for p in home.rglob("*") if "opt" in p.parts)

    code, _out, err = run("install", "--from", str(lockfile), "--yes")
    assert code == 1
    first = err.splitlines()[0]
    assert first == (
        f"error: 1 locked build(s) of {lockfile} in no configured mirror: libelf@0.8.13/{'q' * 32}"
    )
    assert err.splitlines()[-1] == "  see: docs/troubleshooting.md#locked-build-missing"
    assert installed(run) == {}
    assert sorted(p.name for p in home.rglob("*") if "opt" in p.parts) == before


def test_a_lock_for_another_host_says_why(
    home: Path,
    run: Run,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pose_as(monkeypatch, "m1")
    assert run("mirror", "add", "fx", str(V2_UNSIGNED), "--unsigned")[0] == 0
    lockfile = write(tmp_path / "v5.lock", lock_like_spack([spack_written(CORE2_LIBDWARF)], 5))
    code, _, err = run("install", "--from", str(lockfile), "--yes")
    assert code == 1
    assert err.startswith("error: cannot install the locked libdwarf@20130729/sk2gqqz")
    assert "need target core2" in err
    assert installed(run) == {}


# ---- out and back in: the demo stack -------------------------------------------------------------


@pytest.fixture
def fresh_home(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A second, empty SPACKCACHE_HOME to switch to (a colleague's machine)."""
    where = Path(tempfile.mkdtemp(prefix="f", dir="/tmp"))
    yield where
    shutil.rmtree(where, ignore_errors=True)


def use_home(monkeypatch: pytest.MonkeyPatch, run: Run, where: Path, demo_path: Path) -> None:
    monkeypatch.setenv("SPACKCACHE_HOME", str(where))
    for argv in (
        ("mirror", "add", "demo", str(demo_path)),
        ("keys", "trust", "--mirror", "demo", "--yes"),
    ):
        code, _, err = run(*argv)
        assert code == 0, err


def test_export_holds_the_signed_nodes_and_installs_the_same_hashes_elsewhere(
    mirror: Path,
    run: Run,
    tmp_path: Path,
    fresh_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    spack_lib: Path,
) -> None:
    assert run("install", "demo-tool", "--yes")[0] == 0
    before = installed(run)
    out_file = tmp_path / "spack.lock"
    code, out, err = run("lock", "export", str(out_file))
    assert code == 0, err
    assert f"wrote {out_file}; use it with `spack env create NAME {out_file}`" in out
    doc = json.loads(out_file.read_text())
    assert doc["_meta"] == {
        "file-type": "spack-lockfile",
        "lockfile-version": 6,
        "specfile-version": 5,
    }
    root = next(h for h, n in before.items() if n == "demo-tool")
    assert doc["roots"] == [{"hash": root, "spec": "demo-tool@1.0.0"}]

    # every node is the one the mirror signed, byte for byte as JSON values: fetch and verify
    # the root's spec file again from the mirror and compare
    with Session() as session:
        (resolution,) = resolve_specs(f"/{root}", catalog=session.catalog, host=session.host)
        chosen = resolution.raise_if_unresolved()
        reader = session.catalog.reader(session.config.mirror("demo"))
        signed = reader.fetch_spec(chosen.root, chosen.dag).document
    signed_nodes = {n["hash"]: n for n in signed["spec"]["nodes"]}
    assert doc["concrete_specs"] == signed_nodes
    assert list(doc["concrete_specs"][root]) == list(signed_nodes[root])  # key order too

    # our reader: the same hashes; Spack's reader: the same hashes
    back = parse_spack_lock(doc, "spack.lock")
    assert [r.hash for r in back.roots] == [root]
    assert set(back.closure([root], deptypes=frozenset({"link", "run"}))) - {
        h for h, n in back.nodes.items() if n.get("external")
    } == set(before)
    seen = spack_view(spack_lib, out_file.read_text(), tmp_path)
    assert seen["roots"] == [root] and set(seen["nodes"]) == set(signed_nodes)

    # a colleague with an empty store installs exactly the same builds from the file
    use_home(monkeypatch, run, fresh_home, mirror)
    assert installed(run) == {}
    code, _, err = run("install", "--from", str(out_file), "--yes")
    assert code == 0, err
    assert installed(run) == before

    # a version-5 lock of the same nodes (Spack 0.22's reader) installs the same too
    with Session() as session:
        v5 = lock_from_documents(
            [(root, "demo-tool")],
            signed_documents(catalog=session.catalog, store=session.store, host=session.host),
            version=5,
        )
    assert json.loads(v5)["_meta"]["lockfile-version"] == 5
    shutil.rmtree(fresh_home / "opt", ignore_errors=True)
    (fresh_home / "store.sqlite").unlink()
    v5_file = tmp_path / "v5.lock"
    v5_file.write_text(v5)
    code, _, err = run("install", "--from", str(v5_file), "--yes")
    assert code == 0, err
    assert installed(run) == before


def test_spack_yaml_is_resolved_and_other_sections_noted(
    mirror: Path,
    run: Run,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    manifest = tmp_path / "spack.yaml"
    manifest.write_text("spack:\n  specs:\n  - demo-tool\n  view: true\n")
    code, out, err = run("install", "--from", str(manifest), "--yes")
    assert code == 0, err
    assert (
        f"note: {manifest}: ignored section 'view' (line 4); a binary install only uses 'specs'"
    ) in out
    assert f"installing the spack.yaml {manifest} (resolved from its specs)" in out
    assert set(installed(run).values()) == {"demo-tool", "libdemo-mid", "libdemo-base"}
    with pytest.raises(SystemExit):  # argparse: "--from: not allowed with argument spec"
        run("install", "demo-tool", "--from", str(manifest))
    # the magic takes the same option; everything is installed already, so it only reuses
    capsys.readouterr()
    spack(f"install --from {manifest}")
    out = capsys.readouterr().out
    assert f"installing the spack.yaml {manifest} (resolved from its specs)" in out
    assert "installed 0 package(s), 3 already installed" in out
    # a malformed spec in it: the caret, and which file it came from
    manifest.write_text("spack:\n  specs:\n  - demo-tool@@1\n")
    code, _, err = run("install", "--from", str(manifest), "--yes")
    assert code == 1
    assert err.splitlines()[0] == "error: expected a version after '@' at column 10"
    assert f"  hint: a spec under 'specs:' in {manifest}" in err.splitlines()


def test_notebook_lock_exports_and_magics_offer_both_directions(
    mirror: Path,
    run: Run,
    tmp_path: Path,
    fresh_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run("install", "demo-tool", "--yes")[0] == 0
    before = installed(run)
    own, spack_lock = tmp_path / "nb.spack-lock.json", tmp_path / "from-magic.lock"
    # outside a notebook (IPython, nbclient: no JPY_SESSION_NAME) --spack-lock alone is enough
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    alone = tmp_path / "alone.lock"
    spack(f"lock demo-tool --spack-lock {alone}")
    assert f"wrote the Spack lockfile {alone}" in capsys.readouterr().out
    spack(f"lock demo-tool --file {own} --spack-lock {spack_lock}")
    assert f"wrote the Spack lockfile {spack_lock}" in capsys.readouterr().out
    assert alone.read_text() == spack_lock.read_text()
    assert sorted(p.name for p in tmp_path.glob("*.spack-lock.json")) == [own.name]

    # the CLI exports the notebook lock (also when it lives in a notebook's metadata)
    notebook = tmp_path / "analysis.ipynb"
    save_notebook(notebook, {"spackcache": {"lock": json.loads(own.read_text())}})
    for source in (own, notebook):
        out_file = tmp_path / f"cli-{source.suffix}.lock"
        assert run("lock", "export", "--from", str(source), str(out_file))[0] == 0
        assert json.loads(out_file.read_text()) == json.loads(spack_lock.read_text())

    # where nothing is installed, the export takes the signed spec files from the mirror
    use_home(monkeypatch, run, fresh_home, mirror)
    elsewhere = tmp_path / "elsewhere.lock"
    assert run("lock", "export", "--from", str(own), str(elsewhere))[0] == 0
    assert json.loads(elsewhere.read_text()) == json.loads(spack_lock.read_text())
    code, _, err = run("lock", "export", "--from", str(spack_lock), str(elsewhere))
    assert code == 1 and "is a spack.lock, not a notebook lock" in err

    # %spack restore --file takes a spack.lock too, and installs exactly its hashes
    capsys.readouterr()
    spack(f"restore --file {spack_lock}")
    out = capsys.readouterr().out
    assert f"installing the spack.lock {spack_lock} (exactly, by hash)" in out
    assert "demo-tool@1.0.0 usable in this kernel now" in out
    assert installed(run) == before


def test_export_with_nothing_installed_is_a_clear_error(
    mirror: Path,
    run: Run,
    tmp_path: Path,
) -> None:
    code, _, err = run("lock", "export", str(tmp_path / "x.lock"))
    assert code == 1
    assert err.splitlines()[0] == "error: nothing to export: no installed roots"
    assert not (tmp_path / "x.lock").exists()
    assert rendered(f"restore --file {tmp_path / 'none.lock'}")[0] == (
        f"error: no lock file at {tmp_path / 'none.lock'}"
    )
    manifest = tmp_path / "spack.yaml"
    manifest.write_text("spack:\n  specs: demo-tool\n")
    assert rendered(f"restore --file {manifest}")[0] == (
        f"error: {manifest}, line 2: 'specs' must be a list of spec strings"
    )


def test_damaged_spack_lock_names_the_file(
    mirror: Path,
    run: Run,
    tmp_path: Path,
) -> None:
    doc = lock_like_spack([spack_written(M1_LIBDWARF)], 6)
    broken = copy.deepcopy(doc)
    broken["_meta"]["lockfile-version"] = 3
    lockfile = write(tmp_path / "old.lock", broken)
    code, _, err = run("install", "--from", str(lockfile))
    assert code == 1
    assert err.splitlines()[0] == (
        f"error: {lockfile} is a version 3 Spack lockfile; this "
        "reads versions 5 and 6 (Spack 0.22 to 1.x)"
    )
    assert err.splitlines()[-1] == "  see: docs/troubleshooting.md#env-file"
