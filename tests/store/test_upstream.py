"""A site's read-only Spack store as an upstream: reused by the resolver, never written."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from jupyter_spackcache.config import HostOverrides
from jupyter_spackcache.errors import ConfigError
from jupyter_spackcache.host import detect_host
from jupyter_spackcache.resolve import resolve
from jupyter_spackcache.spec.parser import parse_spec
from jupyter_spackcache.store.upstream import UpstreamStore
from tests.support.fixtures import FIXTURES

DB = FIXTURES / "spack-upstream" / "database" / "index.json.v7_v8.json.gz"
ICELAKE = detect_host(
    HostOverrides(platform="linux", os="ubuntu20.04", target="icelake", libc="glibc@2.31:/usr")
)


@pytest.fixture
def upstream(tmp_path: Path) -> UpstreamStore:
    (tmp_path / ".spack-db").mkdir()
    (tmp_path / ".spack-db" / "index.json").write_bytes(gzip.decompress(DB.read_bytes()))
    return UpstreamStore(tmp_path)


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def test_reads_a_real_spack_database(upstream: UpstreamStore) -> None:
    assert "hdf5" in upstream.names() and "glibc" not in upstream.names()  # externals excluded
    (hdf5,) = upstream.hashes_named("hdf5")
    assert hdf5.startswith("v2fykvu") and upstream.has(hdf5)
    assert upstream.prefix(hdf5).endswith(f"hdf5-1.14.5-{hdf5}")  # type: ignore[union-attr]
    assert upstream.prefix("nope") is None and not upstream.has("nope")
    dag = upstream.dag(hdf5)
    assert {"hdf5", "zlib-ng", "gcc-runtime"} <= {n.name for n in dag.nodes.values()}


def test_resolver_reuses_upstream_builds_without_downloads(
    upstream: UpstreamStore, tmp_path: Path
) -> None:
    before = _tree_digest(tmp_path)
    result = resolve(parse_spec("hdf5@1.14"), [upstream], ICELAKE, installed=upstream.has)
    chosen = result.raise_if_unresolved()
    assert chosen.source == upstream.name and chosen.to_download == ()
    assert _tree_digest(tmp_path) == before  # reading never writes


def test_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no readable Spack database") as err:
        UpstreamStore(tmp_path / "nowhere").names()
    assert "\n" not in str(err.value) and ".spack-db" in (err.value.hint or "")


def test_install_reuses_an_upstream_tree_and_never_writes_it(
    signed_demo, http_mirror, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    import subprocess
    import tempfile

    from jupyter_spackcache.cli import main

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    for var in (
        "SPACKCACHE_PLATFORM",
        "SPACKCACHE_OS",
        "SPACKCACHE_TARGET",
        "SPACKCACHE_LIBC",
        "SPACKCACHE_INSTALL_ROOT",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SPACKCACHE_SITE_CONFIG", str(tmp_path / "none.yaml"))
    url = http_mirror(signed_demo.path).url

    site = Path(tempfile.mkdtemp(prefix="up", dir="/tmp"))  # the "site" installs demo-tool
    monkeypatch.setenv("SPACKCACHE_HOME", str(site))
    assert run("mirror", "add", "demo", url)[0] == 0
    assert run("keys", "trust", "--mirror", "demo", "--yes")[0] == 0
    # the admin builds the tree with --root, which makes it an upstream at once
    code, _, err = run("install", "demo-tool", "--yes", "--root", str(site / "opt"))
    assert code == 0, err
    index = site / "opt" / ".spack-db" / "index.json"
    assert_like_spacks_database(index, site / "opt")
    verifier = (index.parent / "index_verifier").read_text()
    code, _, err = run("install", "demo-tool", "--yes", "--root", str(site / "opt"))
    assert code == 0, err  # nothing new, but the database is rewritten after every install
    assert (index.parent / "index_verifier").read_text() != verifier
    code, out, err = run("spack-db", "--root", str(site / "opt"))  # the explicit command
    assert code == 0 and str(index) in out, err
    assert_like_spacks_database(index, site / "opt")
    assert_spack_reads_it(site / "opt")
    before = _tree_digest(site / "opt")

    user = Path(tempfile.mkdtemp(prefix="us", dir="/tmp"))  # a user with the site as upstream
    monkeypatch.setenv("SPACKCACHE_HOME", str(user))
    (user / "config.yaml").write_text(f"upstreams: [{site / 'opt'}]\n")
    assert run("mirror", "add", "demo", url)[0] == 0
    assert run("keys", "trust", "--mirror", "demo", "--yes")[0] == 0
    code, out, err = run("install", "demo-scripts", "--dry-run", "--json")
    assert code == 0, err
    actions = {n["name"]: n["action"] for n in json.loads(out)["nodes"]}
    assert actions["demo-tool"] == actions["libdemo-mid"] == "reuse"
    assert actions["demo-scripts"] == "download"
    upstream = {n["name"]: n["upstream"] for n in json.loads(out)["nodes"]}
    assert upstream["demo-tool"] == str(site / "opt") and upstream["demo-scripts"] is None
    code, out, err = run("install", "demo-scripts", "--dry-run")  # the text says so too
    assert code == 0, err
    shared = f"reused from the upstream tree {site / 'opt'}: "
    assert shared + "libdemo-base, libdemo-mid, demo-tool" in out
    code, out, err = run("install", "demo-scripts", "--yes")
    assert code == 0, err
    code, out, _ = run("find", "--json")
    assert [r["name"] for r in json.loads(out)] == ["demo-scripts"]  # only what was downloaded
    # again, on top of the upstream: nothing to do, and success (issue 12)
    code, out, err = run("install", "demo-scripts", "--dry-run", "--json")
    assert code == 0, err
    assert {n["action"] for n in json.loads(out)["nodes"]} <= {"reuse", "external"}
    code, out, err = run("install", "demo-scripts", "--yes")
    assert code == 0, err

    (scripts,) = (user / "opt").glob("*/demo-scripts-*")
    hello = subprocess.run(
        [scripts / "bin" / "demo-hello", "3"], capture_output=True, text=True, check=True
    )
    (tool,) = (site / "opt").glob("*/demo-tool-*")
    printed = re.sub("/+", "/", hello.stdout)  # embedded paths keep Spack's '/' padding
    assert f"demo-tool prefix: {tool}" in printed  # it runs the upstream's demo-tool
    assert _tree_digest(site / "opt") == before  # the upstream tree was never written


def test_a_missing_upstream_is_a_warning_and_is_skipped(
    upstream: UpstreamStore,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import logging

    from jupyter_spackcache.config import Config
    from jupyter_spackcache.session import Session

    # CLI and server tests earlier in this process route our logger to stderr; undo that here
    logger = logging.getLogger("jupyter_spackcache")
    monkeypatch.setattr(logger, "handlers", [])
    monkeypatch.setattr(logger, "propagate", True)
    monkeypatch.setattr(logger, "parent", logging.getLogger())

    gone = tmp_path / "unmounted"
    config = Config(home=tmp_path / "home", upstreams=(gone, upstream.root))
    with Session(config) as session:
        assert [u.root for u in session.upstreams] == [upstream.root]
        (warning,) = session.warnings
    assert str(gone) in warning and warning.endswith("; skipped") and "\n" not in warning
    assert capsys.readouterr().err == ""  # the library itself prints nothing


def assert_like_spacks_database(index: Path, root: Path) -> None:
    """Same shape as the database real Spack wrote (fixture): keys, types, rules of §8."""
    real = json.loads(gzip.decompress(DB.read_bytes()))["database"]
    ours = json.loads(index.read_text())["database"]
    assert set(ours) == set(real) and ours["version"] == real["version"] == "8"
    real_record = next(iter(real["installs"].values()))
    installs = ours["installs"]
    for dag_hash, record in installs.items():
        assert list(record) == list(real_record)  # same fields, same order
        for key in ("ref_count", "installed", "explicit", "installation_time"):
            assert type(record[key]) is type(real_record[key]), key
        node = record["spec"]
        assert node["hash"] == dag_hash and {"name", "version", "arch"} <= set(node)
        if "external" in node:
            assert record["installed"] and record["path"] == node["external"]["path"]
        elif record["installed"]:
            prefix = Path(record["path"])
            assert prefix.parent.parent == root and (prefix / ".spack").is_dir()
        for dep in node.get("dependencies", []):
            assert dep["hash"] in installs  # every dependency has its record
    dependents = {h: 0 for h in installs}
    for record in installs.values():
        for dep in {d["hash"] for d in record["spec"].get("dependencies", [])}:
            dependents[dep] += 1
    assert {h: r["ref_count"] for h, r in installs.items()} == dependents
    assert [r["spec"]["name"] for r in installs.values() if r["explicit"]] == ["demo-tool"]
    assert (index.parent / "index_verifier").read_text().strip()
    assert not list(index.parent.glob("*.temp"))


def test_build_only_dependencies_are_recorded_not_installed() -> None:
    from jupyter_spackcache.formats.spackdb import Installed, database_records

    def node(name: str, *deps: tuple[str, str], external: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"name": name, "version": "1", "hash": name * 4}
        if deps:
            out["dependencies"] = [
                {"name": d, "hash": d * 4, "parameters": {"deptypes": [t], "virtuals": []}}
                for d, t in deps
            ]
        if external:
            out["external"] = {"path": external, "module": None, "extra_attributes": {}}
        return out

    nodes = [
        node("app", ("lib", "link"), ("make", "build"), ("libc", "link")),
        node("lib", ("libc", "link")),
        node("make"),
        node("libc", external="/usr"),
    ]
    spec = {"spec": {"_meta": {"version": 5}, "nodes": nodes}}
    records = database_records(
        [
            Installed(spec, "app" * 4, "/t/app", True, 2.0),
            Installed(spec, "lib" * 4, "/t/lib", False, 1.0),
        ],
        path_for=lambda n: f"/t/{n['name']}",
    )
    state = {
        r["spec"]["name"]: (r["installed"], r["path"], r["ref_count"], r["explicit"])
        for r in records.values()
    }
    assert state == {
        "app": (True, "/t/app", 0, True),
        "lib": (True, "/t/lib", 1, False),
        "make": (False, "/t/make", 1, False),  # never installed, but Spack records it
        "libc": (True, "/usr", 2, False),
    }
    assert records["make" * 4]["installation_time"] == 2.0


SPACK_GIT = Path("/work/.mirror/vjranagit+spack/repo")
_SPACK_READER = """
import json, sys
sys.path[:0] = [sys.argv[1] + "/lib/spack", sys.argv[1] + "/lib/spack/external",
                sys.argv[1] + "/lib/spack/external/_vendoring"]
import spack.database
db = spack.database.Database(sys.argv[2], is_upstream=True)
db._read()  # how Spack reads an upstream: no lock, the file as it is
print(json.dumps({h: [r.spec.name, r.installed, r.path, r.ref_count, r.explicit]
                  for h, r in db._data.items()}))
"""


def assert_spack_reads_it(root: Path) -> None:
    """Spack 1.1's own Database class reads the tree as an upstream, without a warning."""
    import subprocess
    import sys
    import tarfile
    import tempfile

    if not SPACK_GIT.is_dir():
        return  # the Spack sources are not on this machine; the shape check above still ran
    with tempfile.TemporaryDirectory() as checkout:
        archive = subprocess.run(
            ["git", "-C", str(SPACK_GIT), "archive", "v1.1.0", "lib"],
            capture_output=True,
            check=True,
        ).stdout
        with tarfile.open(fileobj=__import__("io").BytesIO(archive)) as tar:
            tar.extractall(checkout, filter="data")
        read = subprocess.run(
            [sys.executable, "-c", _SPACK_READER, checkout, str(root)],
            capture_output=True,
            text=True,
            env={"HOME": checkout, "PATH": "/usr/bin:/bin"},
        )
    assert read.returncode == 0, read.stderr
    assert "Warning" not in read.stderr and "Error" not in read.stderr, read.stderr
    seen = json.loads(read.stdout)
    ours = json.loads((root / ".spack-db" / "index.json").read_text())["database"]["installs"]
    assert set(seen) == set(ours)
    for dag_hash, (name, installed, path, refs, explicit) in seen.items():
        record = ours[dag_hash]
        assert (name, installed, path, refs, explicit) == (
            record["spec"]["name"],
            record["installed"],
            record["path"],
            record["ref_count"],
            record["explicit"],
        )
