"""Hostile mirrors and damaged state (issue #16): each test builds its hostile input.

Every refusal must be one ``error:`` line (plus hint and see), and leave the install tree and
database exactly as before.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_spackcache.demo.build import DemoMirror
from tests.install.test_install import installed, snapshot
from tests.support import hostile
from tests.support.homes import isolated_home
from tests.support.servers import StaticServer

Run = Callable[..., tuple[int, str, str]]
ServeFn = Callable[[str | Path], StaticServer]

pytestmark = pytest.mark.slow


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield from isolated_home(tmp_path, monkeypatch, "sh")


def _mirror(demo: DemoMirror, tmp_path: Path) -> Path:
    dest = tmp_path / "hostile-mirror"
    shutil.copytree(demo.path, dest)
    return dest


def _add(run: Run, url: str) -> None:
    assert run("mirror", "add", "demo", url)[0] == 0
    code, _, err = run("keys", "trust", "--mirror", "demo", "--yes")
    assert code == 0, err


def _refused(err: str, *needles: str) -> None:
    lines = err.splitlines()
    assert lines and lines[0].startswith("error: "), err
    assert len(lines) <= 3, err  # error, hint, see
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err


# ---- 1. only signed data decides what is installed -----------------------------------------


@pytest.mark.parametrize(
    ("label", "request_spec", "needle"),
    [
        ({"new_version": "9.9"}, "libdemo-base@9.9", "version '1.2.0', not '9.9'"),
        ({"new_name": "pwned"}, "pwned", "name 'libdemo-base', not 'pwned'"),
    ],
)
def test_index_cannot_relabel_a_signed_binary(
    label: dict[str, Any],
    request_spec: str,
    needle: str,
    signed_demo: DemoMirror,
    http_mirror: ServeFn,
    run: Run,
    home: Path,
    tmp_path: Path,
) -> None:
    mirror = _mirror(signed_demo, tmp_path)
    hostile.relabel(mirror, "libdemo-base", **label)
    _add(run, http_mirror(mirror).url)
    before = snapshot(home)
    code, _, err = run("install", request_spec, "--yes")
    assert code == 1
    _refused(err, needle, "signed spec", "hint:")
    assert snapshot(home) == before
    assert installed(run) == {}


def test_index_cannot_change_variants_or_dependencies(
    signed_demo: DemoMirror, http_mirror: ServeFn, run: Run, home: Path, tmp_path: Path
) -> None:
    mirror = _mirror(signed_demo, tmp_path)

    def edit(installs: dict[str, Any]) -> None:
        _, spec = hostile.spec_of(installs, "libdemo-mid")
        spec["parameters"]["hostile"] = True

    hostile.edit_index(mirror, edit)
    _add(run, http_mirror(mirror).url)
    before = snapshot(home)
    code, _, err = run("install", "libdemo-mid+hostile", "--yes")
    assert code == 1
    _refused(err, "other variants (hostile)")
    assert snapshot(home) == before


# ---- 3. index decompression bomb ------------------------------------------------------------


def test_index_bomb_is_refused_and_other_mirrors_still_work(
    signed_demo: DemoMirror, http_mirror: ServeFn, run: Run, home: Path, tmp_path: Path
) -> None:
    import gzip
    import resource

    (home / "config.yaml").write_text("limits:\n  max_index_bytes: 20000000\n")
    bomb = _mirror(signed_demo, tmp_path)
    head = b'{"database": {"version": "8", "installs": {}}, "padding": "'
    compressed = gzip.compress(head + b"0" * 400_000_000 + b'"}', compresslevel=9)
    assert len(compressed) < 1_000_000  # a small file that inflates to 400 MB
    hostile.write_index_bytes(bomb, compressed, compression="gzip")
    _add(run, http_mirror(signed_demo.path).url)
    assert run("mirror", "add", "bomb", http_mirror(bomb).url)[0] == 0
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _, out, err = run("list")
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert "demo-tool" in out  # the good mirror is listed
    assert "bomb" in err and "expands to more than 19 MB" in err, err
    assert "Traceback" not in err
    assert grown_mb < 100, grown_mb


# ---- 2 and 6. cycles and depth in the DAG ---------------------------------------------------


def _chain_index(tmp: Path, depth: int, *, loop_to: int | None = None) -> Any:
    """An index of ``p0 -> p1 -> ... -> p{depth-1}`` (link edges); with ``loop_to``, the last
    node links back to that one (a cycle; a self-loop when it is the last)."""
    import hashlib
    import io
    import json

    from jupyter_spackcache.config import MirrorConfig
    from jupyter_spackcache.mirrors.indexcache import IndexCache

    hashes = [hashlib.sha1(f"p{i}".encode()).hexdigest()[:32] for i in range(depth)]
    installs = {}
    for i, h in enumerate(hashes):
        nxt = i + 1 if i + 1 < depth else loop_to
        spec: dict[str, Any] = {
            "name": f"p{i}",
            "version": "1.0",
            "hash": h,
            "namespace": "builtin",
            "arch": {"platform": "linux", "platform_os": "debian12", "target": "x86_64"},
            "parameters": {"build_system": "generic"},
        }
        if nxt is not None:
            spec["dependencies"] = [
                {
                    "name": f"p{nxt}",
                    "hash": hashes[nxt],
                    "parameters": {"deptypes": ["link"], "virtuals": []},
                }
            ]
        installs[h] = {"spec": spec, "ref_count": 0, "in_buildcache": True}
    data = json.dumps({"database": {"version": "8", "installs": installs}}).encode()
    mirror = MirrorConfig(name="chain", url="file:///synthetic/chain", unsigned=True)
    return IndexCache(tmp).store_stream(
        mirror, "v3", io.BytesIO(data), index_hash=hashlib.sha256(data).hexdigest(), etag=None
    )


def _host() -> Any:
    from jupyter_spackcache.config import HostOverrides
    from jupyter_spackcache.host import detect_host

    return detect_host(HostOverrides(platform="linux", os="debian12", target="x86_64", libc="none"))


def test_a_600_deep_chain_resolves_without_recursion(tmp_path: Path) -> None:
    import sys

    from jupyter_spackcache.resolve import resolve
    from jupyter_spackcache.spec.parser import parse_spec

    assert sys.getrecursionlimit() <= 1000 * 5
    index = _chain_index(tmp_path, 3000)
    chosen = resolve(parse_spec("p0"), [index], _host()).raise_if_unresolved()
    assert [n.name for n in chosen.runtime][:2] == ["p2999", "p2998"]
    assert len(chosen.runtime) == 3000


@pytest.mark.parametrize("loop_to", [0, 4])  # a cycle through the root; a self-loop
def test_dependency_cycles_are_refused_at_plan_time(tmp_path: Path, loop_to: int) -> None:
    from jupyter_spackcache.errors import ResolveError
    from jupyter_spackcache.resolve import resolve
    from jupyter_spackcache.spec.parser import parse_spec

    index = _chain_index(tmp_path, 5, loop_to=loop_to)
    resolution = resolve(parse_spec("p0"), [index], _host())
    with pytest.raises(ResolveError, match="dependency cycle") as info:
        resolution.raise_if_unresolved()
    assert "p4 -> p" in str(info.value) and len(str(info.value).splitlines()) == 1


def test_the_plan_refuses_a_cycle_that_reaches_it(tmp_path: Path) -> None:
    """Defence in depth: a cyclic DAG handed to the planner (not through resolve) is refused
    before any metadata is fetched, so the pipeline can never wait on itself."""
    from jupyter_spackcache.errors import DependencyCycle
    from jupyter_spackcache.install.plan import plan_nodes
    from jupyter_spackcache.resolve import Candidate, Resolution
    from jupyter_spackcache.spec.parser import parse_spec
    from jupyter_spackcache.store.db import StoreDB
    from jupyter_spackcache.store.layout import StoreLayout

    index = _chain_index(tmp_path, 3, loop_to=0)
    root = index.hashes_named("p0")[0]
    dag = index.dag(root)
    runtime = tuple(dag.nodes.values())
    chosen = Candidate("chain", dag, runtime, runtime, 0)
    fetched: list[str] = []

    def reader_for(name: str) -> Any:
        fetched.append(name)
        raise AssertionError("nothing may be fetched")

    with pytest.raises(DependencyCycle, match="p0 -> p1 -> p2 -> p0"):
        plan_nodes(
            [Resolution(parse_spec("p0"), chosen, (chosen,))],
            store=StoreDB(tmp_path / "store.sqlite"),
            layout=StoreLayout(tmp_path / "opt"),
            reader_for=reader_for,
            peek=None,
        )
    assert fetched == []


def test_a_cycle_in_a_real_mirror_fails_fast_in_the_cli(
    signed_demo: DemoMirror, http_mirror: ServeFn, run: Run, home: Path, tmp_path: Path
) -> None:
    mirror = _mirror(signed_demo, tmp_path)

    def edit(installs: dict[str, Any]) -> None:
        tool_hash, _ = hostile.spec_of(installs, "demo-tool")
        _, base = hostile.spec_of(installs, "libdemo-base")
        base.setdefault("dependencies", []).append(
            {
                "name": "demo-tool",
                "hash": tool_hash,
                "parameters": {"deptypes": ["link"], "virtuals": []},
            }
        )

    hostile.edit_index(mirror, edit)
    _add(run, http_mirror(mirror).url)
    before = snapshot(home)
    code, _, err = run("install", "demo-tool", "--yes")
    assert code == 1
    _refused(err, "dependency cycle")
    assert snapshot(home) == before


def test_a_1000_deep_tarball_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    import io

    from jupyter_spackcache.errors import TooLarge
    from jupyter_spackcache.install.extract import safe_extract

    dest = tmp_path / "staging"
    dest.mkdir()
    with pytest.raises(TooLarge, match="nested more than 256 directories deep") as info:
        safe_extract(io.BytesIO(hostile.deep_tarball(1000)), dest)
    assert len(str(info.value).splitlines()) == 1
    assert list(dest.iterdir()) == []
    # a tree just under the bound unpacks (iteratively)
    safe_extract(io.BytesIO(hostile.deep_tarball(250)), dest)
    assert (dest / "d" / "d").is_dir()


def test_deep_leftovers_in_staging_are_removed(tmp_path: Path) -> None:
    """A staging directory left by an older version (1000 levels, read-only) is cleaned."""
    import os

    from jupyter_spackcache.install.staging import clean_staging
    from jupyter_spackcache.store.layout import StoreLayout

    layout = StoreLayout(tmp_path / "opt")
    leftover = layout.staging() / ("a" * 32 + "-x")
    leftover.mkdir(parents=True)
    fd = os.open(leftover, os.O_RDONLY)
    for _ in range(1000):
        os.mkdir("d", dir_fd=fd)
        child = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.fchmod(fd, 0o500)
        os.close(fd)
        fd = child
    os.close(fd)
    clean_staging(layout)
    assert not leftover.exists()


# ---- 8. gc and uninstall during an install --------------------------------------------------


def test_gc_and_uninstall_wait_for_a_running_install(
    signed_demo: DemoMirror, http_mirror: ServeFn, run: Run, home: Path
) -> None:
    import os
    import subprocess
    import sys
    import time

    from jupyter_spackcache.demo import broken

    server = http_mirror(signed_demo.path)
    _add(run, server.url)
    run("list")  # warm the index cache
    tool = "/" + str(broken.blob_path(signed_demo.path, "demo-tool").relative_to(signed_demo.path))
    server.fault(tool.lstrip("/"), delay=2.0)  # the root arrives last, its dependencies first
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_spackcache.cli", "install", "demo-tool", "--yes"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
        cwd=Path(__file__).parents[2],
    )
    deadline = time.monotonic() + 120
    while "libdemo-mid" not in installed(run):  # committed, not yet needed by a registered root
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    code, _, err = run("gc", "--yes")
    assert code == 0, err
    code, _, err = run("uninstall", "libdemo-base", "--yes")
    assert code == 1 and "needed by" in err  # decided after the install finished
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert set(installed(run)) == {"libdemo-base", "libdemo-mid", "demo-tool"}


# ---- 4. tarball bombs -----------------------------------------------------------------------


@pytest.mark.parametrize("in_worker", [False, True])
def test_a_tarball_bomb_is_refused_mid_stream(tmp_path: Path, in_worker: bool) -> None:
    import io

    from jupyter_spackcache.errors import TooLarge
    from jupyter_spackcache.install.extract import safe_extract
    from jupyter_spackcache.install.procpool import UnpackerProcess
    from jupyter_spackcache.limits import Limits

    data = hostile.bomb_tarball(64 << 20)
    assert len(data) < 1 << 20  # 64 MB from well under 1 MB
    budget = Limits(min_unpack_allowance=1 << 20).unpack_budget(len(data), None)
    dest = tmp_path / "staging"
    dest.mkdir()
    with pytest.raises(TooLarge, match="tarball unpacks to more than") as info:
        if in_worker:
            (tmp_path / "bomb.tar.gz").write_bytes(data)
            worker = UnpackerProcess()
            assert worker.ready(30)
            try:
                worker.unpack(tmp_path / "bomb.tar.gz", dest, "pkg", budget)
            finally:
                worker.close()
        else:
            safe_extract(io.BytesIO(data), dest, budget=budget, package="pkg")
    assert "100 times its download" in str(info.value) and info.value.hint
    assert list(dest.iterdir()) == []
    # the free space is a bound too, and a fitting budget unpacks
    budget = Limits().unpack_budget(len(data), (64 << 20) - 1)
    with pytest.raises(TooLarge, match="free space of the install root"):
        safe_extract(io.BytesIO(data), dest, budget=budget, package="pkg")
    safe_extract(io.BytesIO(data), dest, budget=Limits().unpack_budget(len(data), None))
    assert (dest / "share" / "zeros").stat().st_size == 64 << 20


# ---- 5. downloads without a signed size -----------------------------------------------------


def test_an_endless_unsigned_download_is_capped_and_leaves_no_part(tmp_path: Path) -> None:
    import hashlib
    import http.server
    import threading

    from jupyter_spackcache.config import MirrorConfig
    from jupyter_spackcache.errors import TooLarge
    from jupyter_spackcache.install.fetch import DownloadJob, download_blocking
    from jupyter_spackcache.mirrors.base import TarballRef
    from jupyter_spackcache.mirrors.transport import open_transport
    from jupyter_spackcache.mirrors.v2 import V2Reader

    sent = {"bytes": 0}

    class Endless(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # no length: the body ends when the server closes

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            chunk = bytes(1 << 16)
            try:
                while sent["bytes"] < 1 << 31:  # 2 GB, "endless" for this test
                    self.wfile.write(chunk)
                    sent["bytes"] += len(chunk)
            except OSError:
                pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Endless)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        reader = V2Reader(
            open_transport(url), MirrorConfig(name="v2", url=url, unsigned=True), None
        )
        ref = TarballRef("build_cache/x.spack", hashlib.sha256(b"x").hexdigest(), None)
        job = DownloadJob(
            "k", reader, ref, tmp_path / "dl" / "x.tar.gz", max_unsigned_bytes=5 << 20
        )
        with pytest.raises(TooLarge, match="larger than 5242880 bytes and its size is not signed"):
            download_blocking([job], progress=lambda *a: None)
        assert sent["bytes"] < 64 << 20  # stopped early, not at the end of the body
        assert list((tmp_path / "dl").iterdir()) == []  # no .part left
    finally:
        server.shutdown()
        server.server_close()


def test_duplicate_hashes_with_other_content_are_refused(
    signed_demo: DemoMirror, http_mirror: ServeFn, run: Run, home: Path, tmp_path: Path
) -> None:
    import json

    from jupyter_spackcache.errors import DuplicateHash
    from jupyter_spackcache.formats.specfile import decode_specfile
    from jupyter_spackcache.install.signedcheck import check_signed_node

    # an index whose JSON repeats a hash (the later copy relabelled): not "last wins"
    mirror = _mirror(signed_demo, tmp_path)
    index = hostile.read_index(mirror)
    installs = index["database"]["installs"]
    dag_hash, spec = hostile.spec_of(installs, "libdemo-base")
    relabelled = json.dumps({"spec": {**spec, "version": "9.9"}, "in_buildcache": True})
    text = json.dumps(index)
    marker = '"installs": {'
    text = text.replace(marker, f'{marker}"{dag_hash}": {relabelled}, ', 1)
    hostile.write_index_bytes(mirror, text.encode())
    _add(run, http_mirror(mirror).url)
    _, _, err = run("list")
    assert f"lists {dag_hash} twice with different content" in err, err
    assert run("install", "libdemo-base", "--yes")[0] == 1
    assert installed(run) == {}
    # identical repeats are harmless
    text = json.dumps(hostile.read_index(signed_demo.path))
    same = json.dumps({"spec": spec, "ref_count": 1, "in_buildcache": True})
    hostile.write_index_bytes(
        mirror, text.replace(marker, f'{marker}"{dag_hash}": {same}, ', 1).encode()
    )
    assert run("list", "libdemo-base")[0] == 0

    # a spec document listing a node twice with different content
    doc = {
        "spec": {
            "_meta": {"version": 5},
            "nodes": [{**spec, "dependencies": []}, {**spec, "version": "0.1"}],
        }
    }
    doc["spec"]["nodes"][0].pop("dependencies")
    node = decode_specfile({"spec": {"_meta": {"version": 5}, "nodes": [spec]}}).root
    with pytest.raises(DuplicateHash, match="twice with different content"):
        check_signed_node(node, doc)


def test_v2_index_cannot_relabel_a_spec_json(
    http_mirror: ServeFn, run: Run, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same rule on a Spack-written v2 mirror: the index says libelf is 9.9, and the
    spec file is copied to the name that label points at."""
    import json

    from tests.support.servers import V2_UNSIGNED

    for var, value in (
        ("SPACKCACHE_PLATFORM", "test"),
        ("SPACKCACHE_OS", "debian6"),
        ("SPACKCACHE_TARGET", "m1"),
        ("SPACKCACHE_LIBC", "none"),
    ):
        monkeypatch.setenv(var, value)
    mirror = tmp_path / "v2"
    shutil.copytree(V2_UNSIGNED, mirror)
    index_path = mirror / "build_cache" / "index.json"
    index = json.loads(index_path.read_text())
    target = "jr3yipyxyjulcdvckwwwjrrumis7glpa"  # libelf 0.8.13 for m1
    index["database"]["installs"][target]["spec"]["version"] = "9.9"
    index_path.write_text(json.dumps(index))
    (mirror / "build_cache" / "index.json.hash").unlink()
    (spec_file,) = (mirror / "build_cache").glob(f"*-libelf-0.8.13-{target}.spec.json")
    forged = spec_file.name.replace("libelf-0.8.13", "libelf-9.9")
    shutil.copy(spec_file, spec_file.with_name(forged))
    assert run("mirror", "add", "fx", http_mirror(mirror).url, "--unsigned")[0] == 0
    before = snapshot(home)
    code, _, err = run("install", "libelf@9.9", "--yes")
    assert code == 1
    _refused(err, "version '0.8.13', not '9.9'", "signed spec")
    assert snapshot(home) == before


def test_an_unsized_download_cut_off_leaves_no_part(http_mirror: ServeFn, tmp_path: Path) -> None:
    """A v2 download (no signed size) that fails for good keeps nothing for later."""
    import hashlib

    from jupyter_spackcache.config import MirrorConfig
    from jupyter_spackcache.errors import MirrorError
    from jupyter_spackcache.install.fetch import DownloadJob, download_blocking
    from jupyter_spackcache.mirrors.base import TarballRef
    from jupyter_spackcache.mirrors.transport import open_transport
    from jupyter_spackcache.mirrors.v2 import V2Reader

    root = tmp_path / "m"
    (root / "build_cache").mkdir(parents=True)
    data = bytes(range(256)) * 4096
    (root / "build_cache" / "x.spack").write_bytes(data)
    server = http_mirror(root)
    server.fault("build_cache/x.spack", drop_after=100_000)
    reader = V2Reader(
        open_transport(server.url), MirrorConfig(name="v2", url=server.url, unsigned=True), None
    )
    ref = TarballRef("build_cache/x.spack", hashlib.sha256(data).hexdigest(), None)
    job = DownloadJob("k", reader, ref, tmp_path / "dl" / "x.tar.gz", max_unsigned_bytes=1 << 30)
    with pytest.raises(MirrorError):
        download_blocking([job], progress=lambda *a: None, retries=1)
    assert list((tmp_path / "dl").iterdir()) == []


def test_oci_index_cannot_relabel_an_image(
    oci_registry: Any, run: Run, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same rule on an OCI cache: its index says libelf is 9.9, and the image is tagged
    again under that label (the tag is all an attacker with push rights needs)."""
    import json
    import uuid

    from jupyter_spackcache.mirrors import oci
    from tests.support import ocicache

    for var, value in (
        ("SPACKCACHE_PLATFORM", "test"),
        ("SPACKCACHE_OS", "debian6"),
        ("SPACKCACHE_TARGET", "m1"),
        ("SPACKCACHE_LIBC", "none"),
    ):
        monkeypatch.setenv(var, value)
    target = "jr3yipyxyjulcdvckwwwjrrumis7glpa"  # libelf 0.8.13 for m1
    entries = ocicache.v2_entries()
    index = json.loads(ocicache._index_json(entries))
    index["database"]["installs"][target]["spec"]["version"] = "9.9"
    url = oci_registry.repo_url(f"hostile/relabel-{uuid.uuid4().hex}")  # a valid repo name
    ocicache.push_spack_oci_cache(url, entries, index=json.dumps(index).encode())
    with oci.OciClient(url) as client:
        manifest, _ = client.get_manifest(oci.oci_tag("libelf", "0.8.13", target))
        client.put_manifest(oci.oci_tag("libelf", "9.9", target), manifest)
    assert run("mirror", "add", "reg", url, "--unsigned")[0] == 0
    before = snapshot(home)
    code, _, err = run("install", "libelf@9.9", "--yes")
    assert code == 1
    _refused(err, "version '0.8.13', not '9.9'", "signed spec")
    assert snapshot(home) == before


def test_a_tarball_bomb_from_a_mirror_changes_nothing(
    http_mirror: ServeFn, run: Run, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var, value in (
        ("SPACKCACHE_PLATFORM", "linux"),
        ("SPACKCACHE_OS", "debian12"),
        ("SPACKCACHE_TARGET", "x86_64"),
        ("SPACKCACHE_LIBC", "none"),
    ):
        monkeypatch.setenv(var, value)
    (home / "config.yaml").write_text("limits:\n  min_unpack_allowance: 1048576\n")
    mirror = tmp_path / "bomb-mirror"
    hostile.bomb_mirror(mirror, 200 << 20)  # 200 MB from a few hundred KB
    assert run("mirror", "add", "bomb", http_mirror(mirror).url, "--unsigned")[0] == 0
    before = snapshot(home)
    code, out, err = run("install", "bomb", "--yes")
    assert code == 1, out
    _refused(err, "bomb's tarball unpacks to more than", "100 times its download", "hint:")
    assert snapshot(home) == before
    staging = home / "opt" / ".spackcache" / "staging"
    assert [p.name for p in staging.iterdir() if p.name != "downloads"] == []
