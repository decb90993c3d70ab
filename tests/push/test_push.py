"""Writing build caches: tarball dialect, buildinfo, spec nodes, manifests, the v3 writer."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from jupyter_spackcache.errors import IntegrityError, MirrorError, SignatureError, SpackCacheError
from jupyter_spackcache.formats.clearsign import strip_clearsign
from jupyter_spackcache.formats.indexstream import merge_index
from jupyter_spackcache.formats.specfile import dag_closure, dag_hash, make_node, make_specfile
from jupyter_spackcache.formats.v3layout import (
    INDEX_MEDIA_TYPE,
    KEY_INDEX_MEDIA_TYPE,
    KEY_MEDIA_TYPE,
    SPEC_MEDIA_TYPE,
    TARBALL_MEDIA_TYPE,
    BlobRecord,
    render_manifest,
)
from jupyter_spackcache.push import V3MirrorWriter, create_tarball, make_buildinfo
from jupyter_spackcache.push.tarball import member_name, prefix_regex
from tests.support.fixtures import FIXTURES as SHARED_FIXTURES

FIXTURES = SHARED_FIXTURES / "spack-generated-v3"


def _node(name: str, version: str, **kwargs: Any) -> dict[str, Any]:
    return make_node(name, version, platform="linux", os="debian12", target="x86_64", **kwargs)


# -- spec nodes ------------------------------------------------------------------------------


def test_dag_hash_is_deterministic_base32_and_covers_dependencies() -> None:
    base = _node("zlib", "1.3")
    again = _node("zlib", "1.3")
    assert base["hash"] == again["hash"] == dag_hash(base)
    assert len(base["hash"]) == 32 and set(base["hash"]) <= set("abcdefghijklmnopqrstuvwxyz234567")
    other = _node("zlib", "1.3.1")
    user_a = _node("app", "1", deps=[("zlib", base["hash"], ["link"], [])])
    user_b = _node("app", "1", deps=[("zlib", other["hash"], ["link"], [])])
    assert len({base["hash"], other["hash"], user_a["hash"], user_b["hash"]}) == 4


def test_make_node_matches_spack_format5_shape() -> None:
    libc = _node("glibc", "2.36", variants={"build_system": "autotools"}, external="/usr")
    node = _node(
        "app",
        "2.0",
        deps=[
            ("zz", "a" * 32, ["run"], []),
            ("glibc", libc["hash"], ["link"], ["libc"]),
            ("gcc", "b" * 32, ["link", "build"], ["cxx", "c"]),
        ],
        recipe_hash="x" * 56,
    )
    assert list(node) == [
        "name", "version", "arch", "namespace", "parameters",
        "package_hash", "dependencies", "annotations", "hash",
    ]  # fmt: skip
    assert node["arch"] == {"platform": "linux", "platform_os": "debian12", "target": "x86_64"}
    assert list(node["parameters"]) == [
        "build_system", "cflags", "cppflags", "cxxflags", "fflags", "ldflags", "ldlibs",
    ]  # fmt: skip
    assert [d["name"] for d in node["dependencies"]] == ["gcc", "glibc", "zz"]
    assert node["dependencies"][0]["parameters"] == {
        "deptypes": ["build", "link"],
        "virtuals": ["c", "cxx"],
    }
    assert node["annotations"] == {"original_specfile_version": 5}
    assert libc["external"] == {"path": "/usr", "module": None, "extra_attributes": {}}
    specfile = make_specfile([node, libc])
    assert specfile["spec"]["_meta"] == {"version": 5}
    assert specfile["buildcache_layout_version"] == 2
    assert "binary_cache_checksum" not in specfile


def test_make_node_rejects_unknown_dependency_type() -> None:
    with pytest.raises(ValueError, match="bad dependency types for x"):
        _node("app", "1", deps=[("x", "a" * 32, ["linking"], [])])


def test_dag_closure_is_root_first_preorder_without_duplicates() -> None:
    c = _node("c", "1")
    b = _node("b", "1", deps=[("c", c["hash"], ["link"], [])])
    a = _node("a", "1", deps=[("b", b["hash"], ["link"], []), ("c", c["hash"], ["link"], [])])
    pool = {n["hash"]: n for n in (a, b, c)}
    assert [n["name"] for n in dag_closure(a, pool)] == ["a", "b", "c"]


# -- tarballs --------------------------------------------------------------------------------


def _sample_prefix(root: Path) -> Path:
    prefix = root / "store" / "linux-x86_64" / "pkg-1.0-abcdefgh"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "lib" / "sub").mkdir(parents=True)
    (prefix / ".spack").mkdir()
    (prefix / "bin" / "run").write_text(f"#!/bin/sh\necho {prefix}\n")
    os.chmod(prefix / "bin" / "run", 0o700)
    os.link(prefix / "bin" / "run", prefix / "bin" / "run2")
    os.symlink(str(prefix / "bin" / "run"), prefix / "bin" / "abs")
    os.symlink("run", prefix / "bin" / "rel")
    os.mkfifo(prefix / "bin" / "fifo")
    (prefix / "lib" / "z.txt").write_text("plain\n")
    os.chmod(prefix / "lib" / "z.txt", 0o600)
    (prefix / "lib" / "sub" / "a.txt").write_text("a\n")
    (prefix / "a-first.txt").write_text("first\n")
    (prefix / ".spack" / "binary_distribution").write_text("stale: true\n")
    return prefix


def test_tarball_follows_spacks_dialect(tmp_path: Path) -> None:
    prefix = _sample_prefix(tmp_path)
    buildinfo = {"buildpath": str(tmp_path / "store"), "relocate_textfiles": ["bin/run"]}
    out = tmp_path / "out" / "pkg.tar.gz"
    checksum = create_tarball(prefix, out, buildinfo=buildinfo)

    raw = out.read_bytes()
    assert checksum == hashlib.sha256(raw).hexdigest()
    # gzip header: deflate, no flags (no file name), mtime 0, OS byte 255 -- as Spack writes it
    assert raw[:8] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00" and raw[9] == 0xFF

    p = member_name(prefix)
    parents = [str(q) for q in reversed(Path(p).parents) if str(q) != "."]
    with tarfile.open(out) as tar:
        assert tar.format == tarfile.PAX_FORMAT
        members = tar.getmembers()
        names = [m.name for m in members]
        assert names == [
            *parents,
            p,
            f"{p}/a-first.txt",
            f"{p}/.spack",
            f"{p}/bin",
            f"{p}/bin/abs",
            f"{p}/bin/rel",
            f"{p}/bin/run",
            f"{p}/bin/run2",
            f"{p}/lib",
            f"{p}/lib/z.txt",
            f"{p}/lib/sub",
            f"{p}/lib/sub/a.txt",
            f"{p}/.spack/binary_distribution",
        ]
        by_name = {m.name: m for m in members}
        assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 for m in members)
        assert all(m.uname == "" and m.gname == "" for m in members)
        assert all(m.mode == 0o755 for m in members if m.isdir())
        assert by_name[f"{p}/bin/run"].mode == 0o755
        assert by_name[f"{p}/lib/z.txt"].mode == 0o644
        assert by_name[f"{p}/bin/abs"].issym()
        assert by_name[f"{p}/bin/abs"].linkname == str(prefix / "bin" / "run")
        assert by_name[f"{p}/bin/rel"].linkname == "run"
        assert by_name[f"{p}/bin/run2"].islnk()
        assert by_name[f"{p}/bin/run2"].linkname == f"{p}/bin/run"
        info = tar.extractfile(f"{p}/.spack/binary_distribution")
        assert info is not None
        text = info.read().decode()
    assert text.startswith("{") and text.count("\n") == 1
    assert yaml.safe_load(text) == buildinfo

    again = create_tarball(prefix, tmp_path / "again.tar.gz", buildinfo=buildinfo)
    assert again == checksum  # reproducible


def test_tarball_of_missing_prefix_fails_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        create_tarball(tmp_path / "nope", tmp_path / "x.tar.gz", buildinfo={})
    assert not (tmp_path / "x.tar.gz").exists()


def test_prefix_regex_ignores_longer_paths_that_contain_a_prefix() -> None:
    regex = prefix_regex(["/opt/store"])
    assert regex.search(b"-L/opt/store/lib")
    assert regex.search(b"prefix=/opt/store\n")
    assert not regex.search(b"/home/opt/store/lib")
    assert not regex.search(b"nothing here")


def test_make_buildinfo_classifies_files(tmp_path: Path) -> None:
    prefix = _sample_prefix(tmp_path)
    store = str(tmp_path / "store")
    shutil.copy("/bin/true", prefix / "bin" / "true")
    (prefix / "man").mkdir()
    (prefix / "man" / "page.1").write_text(f"{prefix}\n")
    (prefix / "lib" / "other.txt").write_text("/elsewhere/store/x\n")
    (prefix / "lib" / "dep.txt").write_text("/deps/zlib-1.3-x/lib\n")
    info = make_buildinfo(
        prefix,
        store_root=store,
        sbang_path=f"{store}/bin/sbang",
        hash_to_prefix={"h" * 32: str(prefix), "d" * 32: "/deps/zlib-1.3-x"},
    )
    assert list(info) == [
        "sbang_install_path", "buildpath", "spackprefix", "relative_prefix",
        "hardlinks_deduped", "hash_to_prefix", "relocate_binaries", "relocate_links",
        "relocate_textfiles",
    ]  # fmt: skip
    assert info["buildpath"] == store
    assert info["relative_prefix"] == "linux-x86_64/pkg-1.0-abcdefgh"
    assert info["hardlinks_deduped"] is True
    assert info["relocate_binaries"] == ["bin/true"]
    assert info["relocate_links"] == ["bin/abs"]
    # run2 is a hard link of run: listed once; man/ and .spack/ are never scanned
    assert info["relocate_textfiles"] == ["bin/run", "lib/dep.txt"]


# -- manifests -------------------------------------------------------------------------------


def _fixture_manifests() -> list[Path]:
    return sorted((FIXTURES / "unsigned" / "v3" / "manifests").rglob("*.manifest.json"))


def test_manifest_rendering_is_byte_identical_to_spack() -> None:
    manifests = _fixture_manifests()
    assert manifests
    for path in manifests:
        original = path.read_text()
        doc = json.loads(original)
        records = [
            BlobRecord(
                media_type=r["mediaType"],
                checksum=r["checksum"],
                content_length=r["contentLength"],
                compression=r["compression"],
                checksum_algorithm=r["checksumAlgorithm"],
            )
            for r in doc["data"]
        ]
        assert render_manifest(records) == original, path.name


# -- the writer ------------------------------------------------------------------------------


def _package(
    tmp_path: Path, name: str, deps: list[Any] | None = None
) -> tuple[dict[str, Any], Path]:
    prefix = tmp_path / "store" / f"{name}-1.0"
    (prefix / "share").mkdir(parents=True)
    (prefix / "share" / "readme").write_text(f"{name}\n")
    node = _node(name, "1.0", deps=deps or [])
    tarball = tmp_path / f"{name}.tar.gz"
    create_tarball(prefix, tarball, buildinfo={"relative_prefix": f"{name}-1.0"})
    return node, tarball


def _blob(mirror: Path, record: dict[str, Any]) -> bytes:
    path = mirror / "blobs" / "sha256" / record["checksum"][:2] / record["checksum"]
    data: bytes = path.read_bytes()
    assert len(data) == record["contentLength"]
    assert hashlib.sha256(data).hexdigest() == record["checksum"]
    return data


def test_unsigned_writer_produces_a_v3_mirror(tmp_path: Path) -> None:
    build = _node("cmake", "3.30", external="/usr")
    base, base_tar = _package(tmp_path, "base", [("cmake", build["hash"], ["build"], [])])
    mirror = tmp_path / "mirror"
    writer = V3MirrorWriter(mirror, keyring=None, signing_key=None)
    writer.add(make_specfile([base, build]), base_tar)
    writer.write_index()

    layout = FIXTURES / "unsigned" / "v3" / "layout.json"
    assert (mirror / "v3" / "layout.json").read_bytes() == layout.read_bytes()
    manifest = mirror / "v3/manifests/spec/base" / f"base-1.0-{base['hash']}.spec.manifest.json"
    text = manifest.read_text()
    assert not text.startswith("-----BEGIN PGP")
    records = json.loads(text)["data"]
    assert [r["mediaType"] for r in records] == [TARBALL_MEDIA_TYPE, SPEC_MEDIA_TYPE]
    assert _blob(mirror, records[0]) == base_tar.read_bytes()
    spec = json.loads(gzip.decompress(_blob(mirror, records[1])))
    assert spec == make_specfile([base, build])

    index_manifest = json.loads((mirror / "v3/manifests/index/index.manifest.json").read_text())
    (index_record,) = index_manifest["data"]
    assert index_record["mediaType"] == INDEX_MEDIA_TYPE
    assert index_record["compression"] == "none"
    db = json.loads(_blob(mirror, index_record))
    assert db["database"]["version"] == "8"
    installs = db["database"]["installs"]
    assert installs[base["hash"]] == {"spec": base, "ref_count": 0, "in_buildcache": True}
    assert installs[build["hash"]] == {"spec": build, "ref_count": 1, "in_buildcache": False}
    assert not (mirror / "v3" / "manifests" / "key").exists()


def test_write_index_merges_with_the_existing_index(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    first, first_tar = _package(tmp_path, "first")
    writer = V3MirrorWriter(mirror, keyring=None, signing_key=None)
    writer.add(make_specfile([first]), first_tar)
    writer.write_index()

    # a later push from elsewhere: a spec whose manifest lives in another mirror copy
    second, second_tar = _package(tmp_path, "second", [("first", first["hash"], ["link"], [])])
    other = V3MirrorWriter(tmp_path / "other", keyring=None, signing_key=None)
    other.add(make_specfile([second, first]), second_tar)
    other.write_index()
    index_dir = "v3/manifests/index"
    shutil.copytree(tmp_path / "other" / index_dir, mirror / index_dir, dirs_exist_ok=True)
    shutil.copytree(tmp_path / "other" / "blobs", mirror / "blobs", dirs_exist_ok=True)

    third, third_tar = _package(tmp_path, "third")
    writer.add(make_specfile([third]), third_tar)
    writer.write_index()
    manifest = json.loads((mirror / "v3/manifests/index/index.manifest.json").read_text())
    installs = json.loads(_blob(mirror, manifest["data"][0]))["database"]["installs"]
    assert set(installs) == {first["hash"], second["hash"], third["hash"]}
    assert installs[second["hash"]]["in_buildcache"] is True  # kept from the merged index
    assert installs[first["hash"]]["ref_count"] == 1


def test_merge_index_counts_dependents_of_every_edge_type() -> None:
    c = _node("c", "1")
    b = _node("b", "1", deps=[("c", c["hash"], ["build"], [])])
    a = _node("a", "1", deps=[("b", b["hash"], ["run"], []), ("c", c["hash"], ["link"], [])])
    installs = merge_index({}, [make_specfile([a, b, c])], {a["hash"]})
    assert {installs[n["hash"]]["ref_count"] for n in (a,)} == {0}
    assert installs[b["hash"]]["ref_count"] == 1
    assert installs[c["hash"]]["ref_count"] == 2
    assert [installs[n["hash"]]["in_buildcache"] for n in (a, b, c)] == [True, False, False]


def test_signing_key_without_keyring_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SignatureError, match="cannot sign with key ABCD without a keyring"):
        V3MirrorWriter(tmp_path, keyring=None, signing_key="ABCD")


def test_bad_input_changes_nothing(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    writer = V3MirrorWriter(mirror, keyring=None, signing_key=None)
    with pytest.raises(MirrorError, match="cannot push: not a spec file"):
        writer.add({"spec": {"nodes": []}}, tmp_path / "x.tar.gz")
    node = _node("a", "1")
    with pytest.raises(MirrorError, match="cannot push a: no tarball at"):
        writer.add(make_specfile([node]), tmp_path / "missing.tar.gz")
    assert not mirror.exists()


def test_strip_clearsign_recovers_the_payload() -> None:
    signed = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n{\n- -x\n}\n"
    signed += "-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n"
    assert strip_clearsign(signed) == "{\n-x\n}"
    assert strip_clearsign('{"a":1}') == '{"a":1}'


# -- signing with a real GnuPG keyring ---------------------------------------------------------


@pytest.fixture
def keyring() -> Iterator[Any]:
    from jupyter_spackcache.trust import Keyring

    home = Path(tempfile.mkdtemp(prefix="g", dir="/tmp"))
    try:
        with Keyring(home) as keyring:
            yield keyring
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_signed_writer_clear_signs_spec_manifests_and_publishes_the_key(
    tmp_path: Path, keyring: Any
) -> None:
    key = keyring.create_key("Push Test", "push@example.invalid", key_length=2048)
    base, base_tar = _package(tmp_path, "base")
    mirror = tmp_path / "mirror"
    writer = V3MirrorWriter(mirror, keyring=keyring, signing_key=key.fingerprint)
    writer.add(make_specfile([base]), base_tar)
    writer.add_key(key.fingerprint)
    writer.write_index()

    text = next((mirror / "v3/manifests/spec/base").glob("*.json")).read_text()
    assert text.startswith("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n")
    verified = keyring.verify_clearsigned(text)
    assert verified.fingerprint == key.fingerprint
    assert json.loads(verified.payload)["version"] == 3
    assert json.loads(strip_clearsign(text)) == json.loads(verified.payload)

    keys = json.loads((mirror / "v3/manifests/key/keys.manifest.json").read_text())
    assert keys["data"][0]["mediaType"] == KEY_INDEX_MEDIA_TYPE
    assert json.loads(_blob(mirror, keys["data"][0])) == {"keys": {key.fingerprint: {}}}
    key_manifest = mirror / f"v3/manifests/key/{key.fingerprint}.key.manifest.json"
    record = json.loads(key_manifest.read_text())["data"][0]
    assert record["mediaType"] == KEY_MEDIA_TYPE and record["compression"] == "none"
    assert b"BEGIN PGP PUBLIC KEY BLOCK" in _blob(mirror, record)
    index_text = (mirror / "v3/manifests/index/index.manifest.json").read_text()
    assert index_text.startswith("{")  # indices are never signed


def test_signing_problems_leave_the_mirror_untouched(tmp_path: Path, keyring: Any) -> None:
    base, base_tar = _package(tmp_path, "base")
    mirror = tmp_path / "mirror"
    unknown = "0123456789ABCDEF0123456789ABCDEF01234567"
    writer = V3MirrorWriter(mirror, keyring=keyring, signing_key=unknown)
    with pytest.raises(SpackCacheError, match=f"could not sign with key {unknown}"):
        writer.add(make_specfile([base]), base_tar)
    with pytest.raises(SpackCacheError):
        writer.add_key(unknown)
    assert not mirror.exists()


def test_index_refuses_a_damaged_spec_blob(tmp_path: Path) -> None:
    base, base_tar = _package(tmp_path, "base")
    mirror = tmp_path / "mirror"
    writer = V3MirrorWriter(mirror, keyring=None, signing_key=None)
    writer.add(make_specfile([base]), base_tar)
    manifest = next((mirror / "v3/manifests/spec/base").glob("*.json"))
    record = json.loads(manifest.read_text())["data"][1]
    blob = mirror / "blobs/sha256" / record["checksum"][:2] / record["checksum"]
    blob.write_bytes(blob.read_bytes() + b"x")
    with pytest.raises(IntegrityError, match=r"blob has .* bytes but its manifest says"):
        writer.write_index()
    assert not (mirror / "v3/manifests/index").exists()
