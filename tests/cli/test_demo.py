"""The bundled demo stack: a real gcc-built, signed v3 mirror that Spack 1.x could read."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from jupyter_spackcache.demo import broken
from jupyter_spackcache.demo.__main__ import main as demo_main
from jupyter_spackcache.demo.build import (
    BuiltPackage,
    DemoMirror,
    build_demo_mirror,
    build_demo_stack,
    create_demo_key,
    load_recipes,
    padded_root,
    push_packages,
)
from jupyter_spackcache.errors import InstallError, SignatureError
from jupyter_spackcache.formats.clearsign import strip_clearsign
from jupyter_spackcache.formats.recipe import recipe_description, recipe_paths
from jupyter_spackcache.formats.v3layout import (
    INDEX_MEDIA_TYPE,
    KEY_INDEX_MEDIA_TYPE,
    KEY_MEDIA_TYPE,
    SPEC_MEDIA_TYPE,
    TARBALL_MEDIA_TYPE,
)
from jupyter_spackcache.host import detect_host
from jupyter_spackcache.trust import Keyring
from tests.support.fixtures import FIXTURES as SHARED_FIXTURES

FIXTURES = SHARED_FIXTURES / "spack-generated-v3"
PACKAGES = ["libdemo-base", "libdemo-mid", "demo-tool", "demo-scripts"]
SIGNED_PREFIX = "-----BEGIN PGP SIGNED MESSAGE-----"


def _gnupg_home() -> Path:
    return Path(tempfile.mkdtemp(prefix="g", dir="/tmp"))


@pytest.fixture(scope="module")
def signed_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoMirror, Keyring]]:
    home = _gnupg_home()
    try:
        with Keyring(home) as keyring:
            key = create_demo_key(keyring, key_length=2048)
            dest = tmp_path_factory.mktemp("signed") / "mirror"
            yield build_demo_mirror(dest, keyring=keyring, signing_key=key), keyring
    finally:
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[BuiltPackage]]:
    work = Path(tempfile.mkdtemp(prefix="w", dir=tmp_path_factory.getbasetemp()))
    return work, build_demo_stack(work)


def _read_manifest(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(strip_clearsign(path.read_text()))
    return doc


def _blob(mirror: Path, record: dict[str, Any]) -> bytes:
    checksum = str(record["checksum"])
    folder = mirror / "blobs" / str(record["checksumAlgorithm"]) / checksum[:2]
    data = (folder / checksum).read_bytes()
    assert len(data) == record["contentLength"]
    assert hashlib.sha256(data).hexdigest() == checksum
    return data


def _record(manifest: dict[str, Any], media_type: str) -> dict[str, Any]:
    (record,) = [r for r in manifest["data"] if r["mediaType"] == media_type]
    assert isinstance(record, dict)
    return record


# -- the mirror as files ---------------------------------------------------------------------


def test_every_spec_manifest_points_to_matching_blobs(signed_demo: Any) -> None:
    mirror, _ = signed_demo
    manifests = sorted((mirror.path / "v3/manifests/spec").glob("*/*.spec.manifest.json"))
    assert sorted(p.parent.name for p in manifests) == sorted(PACKAGES)
    for path in manifests:
        text = path.read_text()
        assert text.startswith(SIGNED_PREFIX)
        manifest = _read_manifest(path)
        assert manifest["version"] == 3
        assert {r["compression"] for r in manifest["data"]} == {"gzip"}
        assert {r["checksumAlgorithm"] for r in manifest["data"]} == {"sha256"}
        tarball = _blob(mirror.path, _record(manifest, TARBALL_MEDIA_TYPE))
        assert tarball[:2] == b"\x1f\x8b"
        spec = json.loads(gzip.decompress(_blob(mirror.path, _record(manifest, SPEC_MEDIA_TYPE))))
        assert spec["buildcache_layout_version"] == 2
        assert spec["spec"]["_meta"]["version"] == 5
        assert "binary_cache_checksum" not in spec
        root = spec["spec"]["nodes"][0]
        assert path.name == f"{root['name']}-{root['version']}-{root['hash']}.spec.manifest.json"
        assert path.parent.name == root["name"]
        hashes = [n["hash"] for n in spec["spec"]["nodes"]]
        assert len(hashes) == len(set(hashes))
        for node in spec["spec"]["nodes"]:  # the DAG is complete
            assert {d["hash"] for d in node.get("dependencies", ())} <= set(hashes)


def test_nodes_describe_this_host_and_its_glibc(signed_demo: Any) -> None:
    mirror, _ = signed_demo
    host = detect_host()
    assert host.libc is not None
    tool = next(p for p in mirror.specs if p.name == "demo-tool")
    nodes = {n["name"]: n for n in tool.specfile["spec"]["nodes"]}
    assert [n["name"] for n in tool.specfile["spec"]["nodes"]] == [
        "demo-tool", "gcc", "glibc", "libdemo-mid", "libdemo-base",
    ]  # fmt: skip
    assert nodes["demo-tool"]["arch"] == {
        "platform": host.platform,
        "platform_os": host.os,
        "target": host.family,
    }
    libc_edges = [
        d for d in nodes["demo-tool"]["dependencies"] if "libc" in d["parameters"]["virtuals"]
    ]
    assert libc_edges == [
        {"name": "glibc", "hash": nodes["glibc"]["hash"],
         "parameters": {"deptypes": ["link"], "virtuals": ["libc"]}},
    ]  # fmt: skip
    assert nodes["glibc"]["version"] == host.libc.version
    assert nodes["glibc"]["external"]["path"] == "/usr"
    scripts = next(p for p in mirror.specs if p.name == "demo-scripts")
    (edge,) = scripts.specfile["spec"]["nodes"][0]["dependencies"]
    assert (edge["name"], edge["parameters"]["deptypes"]) == ("demo-tool", ["run"])


def test_manifests_are_laid_out_like_spacks(signed_demo: Any) -> None:
    mirror, _ = signed_demo
    ours = (mirror.path / "v3/manifests/index/index.manifest.json").read_text()
    theirs = (FIXTURES / "unsigned/v3/manifests/index/index.manifest.json").read_text()
    shape = re.compile(r'"checksum":"[0-9a-f]{64}"|"contentLength":\d+')
    assert shape.sub("X", ours) == shape.sub("X", theirs)
    for path in (mirror.path / "v3").rglob("*.manifest.json"):
        body = strip_clearsign(path.read_text())
        assert not body.endswith("\n")
        assert all(line == line.lstrip() for line in body.split("\n"))
    assert (mirror.path / "v3/layout.json").read_bytes() == (
        FIXTURES / "unsigned/v3/layout.json"
    ).read_bytes()


def test_signatures_verify_with_the_published_key(signed_demo: Any, tmp_path: Path) -> None:
    mirror, _ = signed_demo
    keys = _read_manifest(mirror.path / "v3/manifests/key/keys.manifest.json")
    assert json.loads(_blob(mirror.path, _record(keys, KEY_INDEX_MEDIA_TYPE))) == {
        "keys": {mirror.fingerprint: {}}
    }
    key_manifest = mirror.path / f"v3/manifests/key/{mirror.fingerprint}.key.manifest.json"
    armored = _blob(mirror.path, _record(_read_manifest(key_manifest), KEY_MEDIA_TYPE)).decode()
    # a fresh client keyring that knows only what the mirror publishes
    home = _gnupg_home()
    try:
        with Keyring(home) as client:
            client.import_keys(armored)
            for path in (mirror.path / "v3/manifests/spec").glob("*/*.json"):
                verified = client.verify_clearsigned(path.read_text())
                assert verified.fingerprint == mirror.fingerprint
                assert json.loads(verified.payload) == _read_manifest(path)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    for unsigned in ("index/index.manifest.json", "key/keys.manifest.json"):
        assert not (mirror.path / "v3/manifests" / unsigned).read_text().startswith(SIGNED_PREFIX)


def test_index_lists_every_node_of_every_dag(signed_demo: Any) -> None:
    mirror, _ = signed_demo
    manifest = _read_manifest(mirror.path / "v3/manifests/index/index.manifest.json")
    record = _record(manifest, INDEX_MEDIA_TYPE)
    assert record["compression"] == "none"
    db = json.loads(_blob(mirror.path, record))
    assert db["database"]["version"] == "8"
    installs = db["database"]["installs"]
    by_name = {r["spec"]["name"]: (h, r) for h, r in installs.items()}
    assert sorted(by_name) == sorted([*PACKAGES, "gcc", "glibc"])
    for name, (dag_hash, rec) in by_name.items():
        assert rec["spec"]["hash"] == dag_hash
        assert rec["in_buildcache"] is (name in PACKAGES)
    counts = {name: rec["ref_count"] for name, (_, rec) in by_name.items()}
    assert counts == {
        "gcc": 3, "glibc": 3, "libdemo-base": 1, "libdemo-mid": 1, "demo-tool": 1,
        "demo-scripts": 0,
    }  # fmt: skip


# -- tarballs --------------------------------------------------------------------------------


def test_tarballs_follow_the_layout2_dialect(signed_demo: Any) -> None:
    mirror, _ = signed_demo
    for pkg in mirror.specs:
        manifest = _read_manifest(broken.spec_manifest_path(mirror.path, pkg.name))
        path = broken.blob_path(mirror.path, pkg.name)
        assert _record(manifest, TARBALL_MEDIA_TYPE)["checksum"] == path.name
        with tarfile.open(path) as tar:
            members = tar.getmembers()
        root = str(pkg.prefix).lstrip("/")
        parents = [str(p) for p in reversed(Path(root).parents) if str(p) != "."]
        assert [m.name for m in members[: len(parents) + 1]] == [*parents, root]
        assert all(m.isdir() and m.mode == 0o755 for m in members[: len(parents) + 1])
        assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 and m.uname == "" for m in members)
        assert all(m.name == root or m.name.startswith(root + "/") for m in members[len(parents) :])
        assert members[-1].name == f"{root}/.spack/binary_distribution"
        assert f"{root}/.spack/spec.json" in {m.name for m in members}
        assert {m.mode for m in members if m.isfile()} <= {0o644, 0o755}
        # like a Spack 1.x build: the recipe snapshot, saying what the package is
        snapshot = f"{root}/{recipe_paths(pkg.name, 'builtin')[0]}"
        with tarfile.open(path) as tar:
            recipe = tar.extractfile(snapshot)
            assert recipe is not None
            text = recipe.read().decode()
        described = {r.name: r.description for r in load_recipes()}
        assert recipe_description(text, pkg.name) == described[pkg.name] != ""


def test_buildinfo_lists_what_relocation_must_patch(signed_demo: Any) -> None:
    mirror, _ = signed_demo
    infos = {}
    for pkg in mirror.specs:
        with tarfile.open(broken.blob_path(mirror.path, pkg.name)) as tar:
            member = tar.extractfile(f"{str(pkg.prefix).lstrip('/')}/.spack/binary_distribution")
            assert member is not None
            infos[pkg.name] = (pkg, yaml.safe_load(member.read()))
    tool, info = infos["demo-tool"]
    assert info["buildpath"] == tool.store_root and len(tool.store_root) == 200
    assert "__spack_path_placeholder__" in tool.store_root
    assert info["relative_prefix"] == str(tool.prefix.relative_to(tool.store_root))
    assert info["relocate_binaries"] == ["bin/demo-tool"]
    assert set(info["hash_to_prefix"]) == {
        p.hash for n, (p, _) in infos.items() if n != "demo-scripts"
    }
    _, base_info = infos["libdemo-base"]
    assert base_info["relocate_textfiles"] == ["lib/pkgconfig/demo-base.pc"]
    scripts, scripts_info = infos["demo-scripts"]
    assert scripts_info["relocate_textfiles"] == ["bin/demo-hello", "etc/demo-scripts.conf"]
    assert scripts_info["relocate_links"] == ["bin/demo-hello-abs"]
    assert scripts_info["sbang_install_path"].endswith("/store/bin/sbang")
    with tarfile.open(broken.blob_path(mirror.path, "demo-scripts")) as tar:
        script = tar.extractfile(f"{str(scripts.prefix).lstrip('/')}/bin/demo-hello")
        assert script is not None
        shebang = script.read().splitlines()[0]
    assert shebang.startswith(b"#!") and len(shebang) > 127  # an installer must apply sbang


def test_extracted_tarballs_run_from_the_original_prefix(tmp_path: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix="w", dir=tmp_path))
    packages = build_demo_stack(work)
    mirror = tmp_path / "mirror"
    push_packages(packages, mirror)
    store = work / "store"
    shutil.rmtree(store)
    for pkg in packages:
        with tarfile.open(broken.blob_path(mirror, pkg.name)) as tar:
            inside = [m for m in tar.getmembers() if ("/" + m.name).startswith(str(store))]
            tar.extractall("/", members=inside, filter="tar")
    tool = next(p for p in packages if p.name == "demo-tool")
    done = subprocess.run(
        [str(tool.prefix / "bin" / "demo-tool"), "5"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    mid = next(p for p in packages if p.name == "libdemo-mid")
    assert done.stdout.splitlines() == [
        f"demo-tool prefix: {tool.prefix}",
        f"libdemo-mid prefix: {mid.prefix}",
        "value: 41",  # 5*5 + 3*5 + 1, through libdemo-mid and libdemo-base
    ]
    scripts = next(p for p in packages if p.name == "demo-scripts")
    hello = subprocess.run(
        ["sh", str(scripts.prefix / "bin" / "demo-hello")], capture_output=True, text=True
    )
    assert hello.returncode == 0, hello.stderr
    assert hello.stdout.splitlines()[0] == f"demo-scripts prefix: {scripts.prefix}"
    assert hello.stdout.splitlines()[-1] == "value: 71"


# -- builder API -----------------------------------------------------------------------------


def test_builds_are_deterministic_and_refuse_to_overwrite(built: Any, tmp_path: Path) -> None:
    work, packages = built
    again = build_demo_stack(Path(tempfile.mkdtemp(prefix="w", dir=tmp_path)))
    assert [p.hash for p in again] == [p.hash for p in packages]
    with pytest.raises(InstallError, match="demo prefix already exists: "):
        build_demo_stack(work)


def test_padded_root_has_spacks_shape() -> None:
    root = padded_root("/tmp/x/store", 60)
    assert len(root) == 60 and root.startswith("/tmp/x/store/__spack_path_placeholder__/")
    assert not padded_root("/a", 29).endswith("/")
    assert padded_root("/already/long/enough", 5) == "/already/long/enough"


def test_unsigned_push_has_no_keys_or_signatures(built: Any, tmp_path: Path) -> None:
    _, packages = built
    push_packages(packages, tmp_path / "m")
    assert not (tmp_path / "m/v3/manifests/key").exists()
    for path in (tmp_path / "m/v3/manifests/spec").glob("*/*.json"):
        assert path.read_text().startswith("{")


def test_cli_builds_an_unsigned_mirror(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert demo_main([str(tmp_path / "cli"), "--unsigned"]) == 0
    out = capsys.readouterr().out
    assert "unsigned" in out and "demo-tool@1.0.0/" in out
    assert (tmp_path / "cli/v3/manifests/index/index.manifest.json").is_file()


# -- broken mirrors for negative tests --------------------------------------------------------


def test_broken_helpers_damage_exactly_one_thing(signed_demo: Any, tmp_path: Path) -> None:
    mirror, keyring = signed_demo
    copy = tmp_path / "copy"
    shutil.copytree(mirror.path, copy)

    blob = broken.tamper_tarball(copy, "demo-tool")
    record = _record(
        _read_manifest(broken.spec_manifest_path(copy, "demo-tool")), TARBALL_MEDIA_TYPE
    )
    assert hashlib.sha256(blob.read_bytes()).hexdigest() != record["checksum"]
    keyring.verify_clearsigned(broken.spec_manifest_path(copy, "demo-tool").read_text())

    other = keyring.create_key("Somebody Else", "else@example.invalid", key_length=2048)
    path = broken.resign_manifest(copy, "libdemo-mid", keyring, other.fingerprint)
    assert keyring.verify_clearsigned(path.read_text()).fingerprint == other.fingerprint
    with pytest.raises(SignatureError, match="not a pinned key"):
        keyring.verify_clearsigned(path.read_text(), allowed=[mirror.fingerprint])

    path = broken.edit_signed_payload(copy, "libdemo-base")
    with pytest.raises(SignatureError):
        keyring.verify_clearsigned(path.read_text())

    path = broken.strip_signature(copy, "demo-scripts")
    assert json.loads(path.read_text())["version"] == 3
    with pytest.raises(SignatureError, match="not clear-signed"):
        keyring.verify_clearsigned(path.read_text())
