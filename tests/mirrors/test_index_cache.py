"""The index: streamed parsing, the compact cache, and the one-small-request refresh."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
from pathlib import Path

import pytest

from jupyter_spackcache.config import Config, MirrorConfig
from jupyter_spackcache.errors import IntegrityError, MirrorError
from jupyter_spackcache.formats.indexstream import IndexHeader, iter_index_records
from jupyter_spackcache.mirrors.catalog import Catalog
from jupyter_spackcache.mirrors.indexcache import IndexCache
from tests.mirrors.test_mirror_readers import UPSTREAM, V3

V2_INDEX = UPSTREAM / "v2_layout/unsigned/build_cache/index.json"
DB_FIXTURE = UPSTREAM.parent / "database/index.json.v7_v8.json.gz"


def _stream(data: bytes, chunk: int) -> tuple[dict[str, object], IndexHeader]:
    header = IndexHeader()
    records = dict(iter_index_records(io.BytesIO(data), header, chunk=chunk))
    return records, header


@pytest.mark.parametrize("chunk", [1, 7, 64, 4096, 1 << 22])
@pytest.mark.parametrize("source", ["v2-index", "database"])
def test_streaming_equals_json_loads(source: str, chunk: int) -> None:
    data = (
        V2_INDEX.read_bytes() if source == "v2-index" else gzip.decompress(DB_FIXTURE.read_bytes())
    )
    records, header = _stream(data, chunk)
    expected = json.loads(data)["database"]
    assert records == expected["installs"]
    assert header.version == expected["version"] == "8"


def test_streaming_accepts_any_key_order_and_layout() -> None:
    doc = json.loads(V2_INDEX.read_bytes())
    reordered = {"database": {"installs": doc["database"]["installs"], "version": "7"}}
    pretty = json.dumps(reordered, indent=3).encode()
    records, header = _stream(pretty, 100)
    assert records == doc["database"]["installs"] and header.version == "7"


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        b"[]",
        b'{"database": {"version": "8", "installs": {"abc": {"spec": {}}',
        b'{"database": {"version": "8", "installs": {"abc": [1]}}}',
        b'{"database": {"version": "8", "installs": {}}} trailing',
        b'{"nothing": 1}',
    ],
)
def test_malformed_or_truncated_index_is_one_line_error(bad: bytes) -> None:
    with pytest.raises(MirrorError) as err:
        _stream(bad, 8)
    assert "\n" not in str(err.value) and "index" in str(err.value)


@pytest.mark.parametrize("version_first", [True, False])
@pytest.mark.parametrize("version", ["9", "10", "4"])
def test_cache_refuses_an_unreadable_database_version(
    tmp_path: Path, version: str, version_first: bool
) -> None:
    """One rule, wherever Spack put the version key (10 is newer than 8, not older)."""
    installs = json.loads(V2_INDEX.read_bytes())["database"]["installs"]
    parts = [("version", version), ("installs", installs)]
    doc = {"database": dict(parts if version_first else parts[::-1])}
    mirror = MirrorConfig(name="m", url=V2_INDEX.parent.parent.as_uri(), unsigned=True)
    cache = IndexCache(tmp_path / "cache")
    with pytest.raises(MirrorError, match=f"database version {version} is not supported") as err:
        cache.store_stream(
            mirror, "v2", io.BytesIO(json.dumps(doc).encode()), index_hash="x", etag=None
        )
    assert (err.value.hint == "upgrade jupyter-spackcache") == (version != "4")
    assert not list((tmp_path / "cache").iterdir())  # nothing half-built is left


def _config(tmp_path: Path, *mirrors: MirrorConfig) -> Config:
    return Config(home=tmp_path / "home", mirrors=tuple(mirrors))


def _mirror_copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "served"
    shutil.copytree(src, dst)
    return dst


@pytest.mark.parametrize("layout", ["v2", "v3"])
def test_unchanged_refresh_costs_one_small_request(
    layout: str, http_mirror, tmp_path: Path
) -> None:
    root = UPSTREAM / "v2_layout/unsigned" if layout == "v2" else V3 / "unsigned"
    server = http_mirror(root)
    mirror = MirrorConfig(name="m", url=server.url, unsigned=True)

    first = Catalog(_config(tmp_path, mirror), None)
    assert len(first.index(mirror)) == 7
    first.close()
    server.reset_log()

    again = Catalog(_config(tmp_path, mirror), None)  # a new process: only the cache on disk
    index = again.index(mirror)
    assert len(index) == 7 and sorted(index.names())[0] == "compiler-wrapper"
    assert len(server.requests) == 1, server.requests
    request = server.requests[0]
    big = "/build_cache/index.json" if layout == "v2" else "/blobs/"
    assert not (request.path.startswith(big) and request.status == 200)
    if layout == "v2":  # the server gives ETags: a conditional GET answered 304
        assert request.status == 304
    else:
        assert request.path == "/v3/manifests/index/index.manifest.json"
    again.close()


def test_unchanged_file_mirror_is_not_parsed_again(tmp_path: Path) -> None:
    root = _mirror_copy(UPSTREAM / "v2_layout/unsigned", tmp_path)
    mirror = MirrorConfig(name="m", url=root.as_uri(), unsigned=True)
    catalog = Catalog(_config(tmp_path, mirror), None)
    before = catalog.index(mirror).meta
    catalog.close()
    catalog = Catalog(_config(tmp_path, mirror), None)
    assert len(catalog.index(mirror)) == 7
    after = catalog.cache.meta(mirror)
    assert after is not None
    assert after.fetched_at == before.fetched_at and after.checked_at > before.checked_at
    catalog.close()


def test_changed_index_is_fetched_again(http_mirror, tmp_path: Path) -> None:
    root = _mirror_copy(UPSTREAM / "v2_layout/unsigned", tmp_path)
    server = http_mirror(root)
    mirror = MirrorConfig(name="m", url=server.url, unsigned=True)
    catalog = Catalog(_config(tmp_path, mirror), None)
    assert len(catalog.index(mirror)) == 7
    catalog.close()

    doc = json.loads((root / "build_cache/index.json").read_text())
    doc["database"]["installs"].pop("qeehcxyvluwnihsc2qxstmpomtxo3lrc")  # compiler-wrapper
    data = json.dumps(doc).encode()
    (root / "build_cache/index.json").write_bytes(data)
    (root / "build_cache/index.json.hash").write_text(hashlib.sha256(data).hexdigest())

    catalog = Catalog(_config(tmp_path, mirror), None)
    index = catalog.index(mirror)
    assert len(index) == 6 and "compiler-wrapper" not in index.names()
    catalog.close()


def test_broken_refresh_keeps_the_cached_index(http_mirror, tmp_path: Path) -> None:
    root = _mirror_copy(V3 / "unsigned", tmp_path)
    server = http_mirror(root)
    mirror = MirrorConfig(name="m", url=server.url, unsigned=True)
    catalog = Catalog(_config(tmp_path, mirror), None)
    catalog.index(mirror)
    catalog.close()
    cache_file = catalog.cache.path_for(mirror)
    before = cache_file.read_bytes()

    server.fault("v3/manifests/index/index.manifest.json", status=500)
    catalog = Catalog(_config(tmp_path, mirror), None)
    found, problems = catalog.indices()
    assert [len(i) for i in found] == [7]  # the stale copy is still usable
    assert len(problems) == 1 and problems[0].stale
    assert "500" in problems[0].error.message and "\n" not in problems[0].error.message
    catalog.close()

    server.clear_faults()
    server.fault("blobs/*", drop_after=100)  # a new index whose download breaks midway
    manifest = root / "v3/manifests/index/index.manifest.json"
    doc = json.loads(manifest.read_text())
    doc["data"][0]["checksum"] = "0" * 64  # pretend the index changed
    manifest.write_text(json.dumps(doc))
    catalog = Catalog(_config(tmp_path, mirror), None)
    found, problems = catalog.indices()
    assert len(problems) == 1 and problems[0].stale
    assert cache_file.read_bytes() == before  # nothing half-written
    catalog.close()


def test_truncated_index_leaves_no_cache(tmp_path: Path) -> None:
    root = _mirror_copy(UPSTREAM / "v2_layout/unsigned", tmp_path)
    data = (root / "build_cache/index.json").read_bytes()
    (root / "build_cache/index.json").write_bytes(data[: len(data) // 2])
    mirror = MirrorConfig(name="m", url=root.as_uri(), unsigned=True)
    catalog = Catalog(_config(tmp_path, mirror), None)
    with pytest.raises(IntegrityError, match=r"refusing the index: its sha256 is \w{64}, but"):
        catalog.index(mirror)  # index.json.hash names the whole index
    (root / "build_cache/index.json.hash").unlink()
    with pytest.raises(MirrorError, match="malformed or truncated"):
        catalog.index(mirror)  # no hash file: the parser notices
    assert catalog.cache.meta(mirror) is None
    assert not list(catalog.cache.root.glob("*"))  # no temp files left behind


def test_index_disagreeing_with_its_hash_file_is_refused_and_the_cache_kept(
    http_mirror, tmp_path: Path
) -> None:
    root = _mirror_copy(UPSTREAM / "v2_layout/unsigned", tmp_path)
    server = http_mirror(root)
    mirror = MirrorConfig(name="m", url=server.url, unsigned=True)
    catalog = Catalog(_config(tmp_path, mirror), None)
    assert len(catalog.index(mirror)) == 7
    catalog.close()
    cache_file = catalog.cache.path_for(mirror)
    before = cache_file.read_bytes()

    doc = json.loads((root / "build_cache/index.json").read_text())
    doc["database"]["installs"].pop("qeehcxyvluwnihsc2qxstmpomtxo3lrc")
    (root / "build_cache/index.json").write_text(json.dumps(doc))  # the hash file is stale

    catalog = Catalog(_config(tmp_path, mirror), None)
    found, problems = catalog.indices()
    assert [len(i) for i in found] == [7]  # the previous good copy, still used
    assert len(problems) == 1 and problems[0].stale
    message = problems[0].error.message
    assert message.startswith(f"{server.url}/build_cache/index.json: refusing the index")
    assert "index.json.hash says" in message and "\n" not in message
    assert cache_file.read_bytes() == before
    catalog.close()


def test_cache_knows_which_packages_are_libraries(tmp_path: Path) -> None:
    """Libraries (linked by another node) apart from applications; build-only edges do not
    count, so a compiler stays an application."""
    doc = json.loads(V2_INDEX.read_bytes())
    installs = doc["database"]["installs"]
    names = {r["spec"]["name"] for r in installs.values()}
    expected = {
        dep["name"]
        for r in installs.values()
        for dep in r["spec"].get("dependencies", [])
        if "link" in dep["parameters"]["deptypes"]
    }
    assert expected == {"libelf", "gcc-runtime"}  # what Spack wrote: checked, not assumed
    mirror = MirrorConfig(name="m", url=V2_INDEX.parent.parent.as_uri(), unsigned=True)
    index = IndexCache(tmp_path / "cache").store_stream(
        mirror, "v2", io.BytesIO(V2_INDEX.read_bytes()), index_hash="x", etag=None
    )
    try:
        assert index.linked_names(names) == expected
        assert index.linked_names(["libdwarf", "gcc", "absent"]) == set()
        assert index.linked_names([f"n{i}" for i in range(1200)] + ["libelf"]) == {"libelf"}
    finally:
        index.close()
