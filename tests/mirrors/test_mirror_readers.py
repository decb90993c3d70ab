"""Every fixture mirror written by Spack itself, read through every layout reader.

The fixtures under ../shared/fixtures are never modified: tampering tests work on copies.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_spackcache.config import MirrorConfig
from jupyter_spackcache.errors import (
    IntegrityError,
    LayoutError,
    NotFoundError,
    SignatureError,
)
from jupyter_spackcache.formats.v2layout import spec_basename, tarball_path
from jupyter_spackcache.mirrors.detect import open_reader
from jupyter_spackcache.mirrors.indexcache import IndexCache, MirrorIndex
from jupyter_spackcache.trust import Keyring
from tests.support.fixtures import FIXTURES

UPSTREAM = FIXTURES / "spack-upstream" / "mirrors"
V3 = FIXTURES / "spack-generated-v3"
V2_KEY = "CBAB2C1032C6FF5078049EC0FA61D50C12CAD37E"
V3_KEY = "A358A2B23D17CD40509D16452938BA2C1D71B509"

MIRRORS = {
    "v2-unsigned": (UPSTREAM / "v2_layout" / "unsigned", True, "v2", None),
    "v2-signed": (UPSTREAM / "v2_layout" / "signed", False, "v2", V2_KEY),
    "v3-unsigned": (V3 / "unsigned", True, "v3", None),
    "v3-signed": (V3 / "signed", False, "v3", V3_KEY),
}


@pytest.fixture
def keyring() -> Iterator[Keyring]:
    home = Path(tempfile.mkdtemp(prefix="g", dir="/tmp"))
    ring = Keyring(home)
    try:
        yield ring
    finally:
        ring.close()
        shutil.rmtree(home, ignore_errors=True)


def _v3_public_key(root: Path) -> str:
    manifest = json.loads((root / "v3/manifests/key" / f"{V3_KEY}.key.manifest.json").read_text())
    checksum = manifest["data"][0]["checksum"]
    return (root / "blobs/sha256" / checksum[:2] / checksum).read_text()


def _trust(keyring: Keyring, key: str | None) -> None:
    if key == V2_KEY:
        pub = UPSTREAM / "v2_layout/signed/build_cache/_pgp" / f"{V2_KEY}.pub"
        keyring.import_keys(pub.read_text())
    elif key == V3_KEY:
        keyring.import_keys(_v3_public_key(V3 / "signed"))


def _index(reader: object, mirror: MirrorConfig, tmp: Path) -> MirrorIndex:
    fetch = reader.fetch_index(known_hash=None, etag=None)  # type: ignore[attr-defined]
    return IndexCache(tmp).store(mirror, reader.layout, fetch)  # type: ignore[attr-defined]


@pytest.mark.parametrize("transport", ["file", "http"])
@pytest.mark.parametrize("which", sorted(MIRRORS))
def test_every_fixture_mirror_lists_and_verifies(
    which: str, transport: str, keyring: Keyring, http_mirror, tmp_path: Path
) -> None:
    root, unsigned, layout, key = MIRRORS[which]
    url = root.as_uri() if transport == "file" else http_mirror(root).url
    mirror = MirrorConfig(name=which, url=url, unsigned=unsigned)
    _trust(keyring, key)
    reader = open_reader(mirror, keyring)
    assert reader.layout == layout
    index = _index(reader, mirror, tmp_path)
    names = sorted(index.names())
    assert names == ["compiler-wrapper", "gcc", "gcc-runtime", "libdwarf", "libelf"]
    verified = 0
    for name in names:
        for h in index.hashes_named(name):
            node = index.node(h)
            assert node is not None and node.hash == h
            if not index.in_buildcache(h):
                assert node.is_external  # the external gcc is listed, never downloadable
                continue
            record = reader.fetch_spec(node, index.dag(h))
            assert record.signed_by == key
            assert record.entry_layout == 2
            data = b"".join(reader.open_tarball(record.tarball))
            assert hashlib.sha256(data).hexdigest() == record.tarball.sha256
            verified += 1
    assert verified == 6  # libelf x2, libdwarf x2, gcc-runtime, compiler-wrapper


def test_v2_file_names_follow_spack_rules(tmp_path: Path) -> None:
    root = UPSTREAM / "v2_layout" / "unsigned"
    mirror = MirrorConfig(name="m", url=root.as_uri(), unsigned=True)
    reader = open_reader(mirror, None)
    index = _index(reader, mirror, tmp_path)
    seen = set()
    for name in ("libdwarf", "compiler-wrapper", "libelf", "gcc-runtime"):
        for h in index.hashes_named(name):
            node, dag = index.node(h), index.dag(h)
            assert node is not None
            base = spec_basename(node, dag)
            assert (root / "build_cache" / f"{base}.spec.json").is_file()
            assert (root / tarball_path(node, dag)).is_file()
            seen.add(base)
    # format 4 (compiler attribute), format 5 (compiler via the 'c' virtual), and none-none
    assert (
        "test-debian6-core2-gcc-10.2.1-libdwarf-20130729-sk2gqqz4n5njmvktycnd25wq25jxiqkr" in seen
    )
    assert "test-debian6-m1-gcc-10.2.1-libdwarf-20130729-u5uz3dcch5if4eve4sef67o2rf2lbfgh" in seen
    assert "test-debian6-m1-none-none-compiler-wrapper-1.0-qeehcxyvluwnihsc2qxstmpomtxo3lrc" in seen


@pytest.mark.parametrize("which", ["v2-signed", "v3-signed"])
def test_untrusted_key_is_refused(which: str, keyring: Keyring, tmp_path: Path) -> None:
    root, _unsigned, _layout, key = MIRRORS[which]
    mirror = MirrorConfig(name="m", url=root.as_uri())
    reader = open_reader(mirror, keyring)
    index = _index(reader, mirror, tmp_path)
    h = index.hashes_named("libelf")[0]
    node = index.node(h)
    assert node is not None
    with pytest.raises(SignatureError) as err:
        reader.fetch_spec(node, index.dag(h))
    assert "keys trust --mirror m" in (err.value.hint or "")
    assert key is not None and key[-16:] in str(err.value).upper()


@pytest.mark.parametrize("which", ["v2-signed", "v3-signed"])
def test_pinned_fingerprint_excludes_other_keys(
    which: str, keyring: Keyring, tmp_path: Path
) -> None:
    root, _unsigned, _layout, key = MIRRORS[which]
    _trust(keyring, key)
    mirror = MirrorConfig(name="m", url=root.as_uri(), fingerprints=("0" * 40,))
    reader = open_reader(mirror, keyring)
    index = _index(reader, mirror, tmp_path)
    h = index.hashes_named("libelf")[0]
    with pytest.raises(SignatureError):
        reader.fetch_spec(index.node(h), index.dag(h))  # type: ignore[arg-type]


@pytest.mark.parametrize("which", ["v2-unsigned", "v3-unsigned"])
def test_unsigned_mirror_needs_to_be_marked_unsigned(which: str, tmp_path: Path) -> None:
    root = MIRRORS[which][0]
    mirror = MirrorConfig(name="plain", url=root.as_uri(), unsigned=False)
    reader = open_reader(mirror, None)
    index = _index(reader, mirror, tmp_path)
    h = index.hashes_named("libelf")[0]
    with pytest.raises(SignatureError) as err:
        reader.fetch_spec(index.node(h), index.dag(h))  # type: ignore[arg-type]
    assert "unsigned" in str(err.value) and "--unsigned" in (err.value.hint or "")


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "mirror"
    shutil.copytree(src, dst)
    return dst


def test_v3_manifest_altered_by_one_byte_fails(keyring: Keyring, tmp_path: Path) -> None:
    _trust(keyring, V3_KEY)
    root = _copy(V3 / "signed", tmp_path)
    manifest = next((root / "v3/manifests/spec/libelf").glob("*.json"))
    text = manifest.read_text()
    # change one digit of the tarball's contentLength inside the signed text
    i = text.index('"contentLength":') + len('"contentLength":')
    altered = text[:i] + ("1" if text[i] != "1" else "2") + text[i + 1 :]
    manifest.write_text(altered)
    mirror = MirrorConfig(name="m", url=root.as_uri())
    reader = open_reader(mirror, keyring)
    index = _index(reader, mirror, tmp_path / "cache")
    h = manifest.name.rsplit("-", 1)[1].split(".")[0]
    with pytest.raises(SignatureError, match=r"altered|does not match|bad"):
        reader.fetch_spec(index.node(h), index.dag(h))  # type: ignore[arg-type]


def test_v3_blob_with_wrong_checksum_fails(tmp_path: Path) -> None:
    root = _copy(V3 / "unsigned", tmp_path)
    manifest = next((root / "v3/manifests/spec/libelf").glob("*.json"))
    record = next(r for r in json.loads(manifest.read_text())["data"] if "spec" in r["mediaType"])
    blob = root / "blobs/sha256" / record["checksum"][:2] / record["checksum"]
    data = bytearray(blob.read_bytes())
    data[-5] ^= 0xFF
    blob.write_bytes(bytes(data))
    mirror = MirrorConfig(name="m", url=root.as_uri(), unsigned=True)
    reader = open_reader(mirror, None)
    index = _index(reader, mirror, tmp_path / "cache")
    h = manifest.name.rsplit("-", 1)[1].split(".")[0]
    with pytest.raises(IntegrityError, match="sha256"):
        reader.fetch_spec(index.node(h), index.dag(h))  # type: ignore[arg-type]


@pytest.mark.parametrize(("media", "readable"), [("v6+json", False), ("v5+json", True)])
def test_v3_spec_media_type_names_the_readable_spec_formats(
    media: str, readable: bool, tmp_path: Path
) -> None:
    root = _copy(V3 / "unsigned", tmp_path)
    manifest = next((root / "v3/manifests/spec/libelf").glob("*.json"))
    text = manifest.read_text()
    assert "application/vnd.spack.spec.v5+json" in text
    manifest.write_text(text.replace("spec.v5+json", f"spec.{media}"))
    mirror = MirrorConfig(name="m", url=root.as_uri(), unsigned=True)
    reader = open_reader(mirror, None)
    index = _index(reader, mirror, tmp_path / "cache")
    h = manifest.name.rsplit("-", 1)[1].split(".")[0]
    node = index.node(h)
    assert node is not None
    if readable:
        assert reader.fetch_spec(node, index.dag(h)).document["spec"]["nodes"][0]["hash"] == h
        return
    with pytest.raises(LayoutError, match="uses spec format 6, newer than this client reads"):
        reader.fetch_spec(node, index.dag(h))


def test_v2_signature_altered_by_one_byte_fails(keyring: Keyring, tmp_path: Path) -> None:
    _trust(keyring, V2_KEY)
    root = _copy(UPSTREAM / "v2_layout" / "signed", tmp_path)
    sig = next((root / "build_cache").glob("*libelf*.spec.json.sig"))
    text = sig.read_text()
    i = text.index('"hash":"') + len('"hash":"')  # first hash digit inside the JSON
    sig.write_text(text[:i] + ("a" if text[i] != "a" else "b") + text[i + 1 :])
    mirror = MirrorConfig(name="m", url=root.as_uri())
    reader = open_reader(mirror, keyring)
    index = _index(reader, mirror, tmp_path / "cache")
    h = sig.name.split("-")[-1].split(".")[0]
    with pytest.raises(SignatureError):
        reader.fetch_spec(index.node(h), index.dag(h))  # type: ignore[arg-type]


def test_signed_v2_mirror_serving_only_unsigned_files_is_refused(
    keyring: Keyring, tmp_path: Path
) -> None:
    mirror = MirrorConfig(name="m", url=(UPSTREAM / "v2_layout" / "unsigned").as_uri())
    reader = open_reader(mirror, keyring)
    index = _index(reader, mirror, tmp_path)
    h = index.hashes_named("libelf")[0]
    with pytest.raises(SignatureError, match="only available unsigned"):
        reader.fetch_spec(index.node(h), index.dag(h))  # type: ignore[arg-type]


@pytest.mark.parametrize("legacy", ["legacy_yaml", "legacy_layout"])
def test_layout_zero_is_recognised_as_too_old(legacy: str) -> None:
    mirror = MirrorConfig(name="old", url=(UPSTREAM / legacy).as_uri(), unsigned=True)
    with pytest.raises(LayoutError, match=r"layout 0.*too old"):
        open_reader(mirror, None)


def test_directory_without_cache_says_so(tmp_path: Path) -> None:
    mirror = MirrorConfig(name="empty", url=tmp_path.as_uri())
    with pytest.raises(NotFoundError, match="no Spack build cache index"):
        open_reader(mirror, None)


def test_public_keys_of_both_layouts(keyring: Keyring) -> None:
    for which, key in (("v2-signed", V2_KEY), ("v3-signed", V3_KEY)):
        root = MIRRORS[which][0]
        reader = open_reader(MirrorConfig(name="m", url=root.as_uri()), keyring)
        blocks = reader.public_keys()
        assert [k.fingerprint for b in blocks for k in keyring.inspect(b)] == [key]
    assert keyring.list_keys() == []  # inspecting imports nothing
