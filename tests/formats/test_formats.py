"""The formats package against files Spack wrote: what is parsed renders back, names match.

Each format has its own detailed tests (test_specfile, test_push, test_tarheader, ...); these
check the joints that used to live in two places: one record type and one renderer for v3
manifests, v3 and v2 paths from one module, buildinfo and the node row both ways.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_spackcache.errors import IntegrityError, LayoutError, SignatureError
from jupyter_spackcache.formats.buildinfo import dump_buildinfo, parse_buildinfo
from jupyter_spackcache.formats.clearsign import parse_cleartext, strip_clearsign
from jupyter_spackcache.formats.indexstream import (
    IndexHeader,
    iter_index_records,
    merge_index,
    render_index,
)
from jupyter_spackcache.formats.noderow import node_to_row, row_to_node
from jupyter_spackcache.formats.specfile import (
    decode_index_record,
    decode_specfile,
    make_node,
    make_specfile,
)
from jupyter_spackcache.formats.v2layout import KEY_INDEX_PATH, key_path, spec_path, tarball_path
from jupyter_spackcache.formats.v3layout import (
    LAYOUT_PATH,
    MEDIA_INDEX_PREFIX,
    MEDIA_SPEC_PREFIX,
    MEDIA_TARBALL_PREFIX,
    BlobRecord,
    decode_blob,
    decode_object,
    index_manifest_path,
    parse_manifest,
    record_for,
    render_manifest,
    spec_manifest_path,
    spec_media_version,
)
from jupyter_spackcache.spec.concrete import ConcreteNode
from tests.support.fixtures import FIXTURES

V3 = FIXTURES / "spack-generated-v3" / "unsigned"
V2 = FIXTURES / "spack-upstream" / "mirrors" / "v2_layout"


def _spec_manifests() -> list[Path]:
    found = sorted((V3 / "v3" / "manifests" / "spec").rglob("*.spec.manifest.json"))
    assert found
    return found


# ---- v3 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("manifest", _spec_manifests(), ids=lambda p: p.name[:24])
def test_v3_spec_manifest_parses_renders_and_names_itself(manifest: Path) -> None:
    text = manifest.read_text()
    parsed = parse_manifest(text, what="fixture")
    assert render_manifest(list(parsed.records)) == text  # byte for byte, as Spack wrote it
    for record in parsed.records:
        assert (V3 / record.path).is_file()
    spec = parsed.first(MEDIA_SPEC_PREFIX, what="fixture")
    assert spec_media_version(spec.media_type) == 5
    document = decode_object(decode_blob(spec, (V3 / spec.path).read_bytes(), what="spec"), what="")
    dag = decode_specfile(document)
    root = dag.nodes[dag.root_hash]
    relative = manifest.relative_to(V3).as_posix()
    assert spec_manifest_path(root.name, root.version, root.hash) == relative
    tarball = parsed.first(MEDIA_TARBALL_PREFIX, what="fixture")
    assert tarball.compression == "gzip" and tarball.checksum_algorithm == "sha256"


def test_v3_index_and_layout_paths_match_spacks_tree() -> None:
    assert (V3 / index_manifest_path()).is_file()
    assert index_manifest_path("gpu") == "v3/manifests/index/gpu/index.manifest.json"
    manifest = parse_manifest((V3 / index_manifest_path()).read_text(), what="index")
    record = manifest.first(MEDIA_INDEX_PREFIX, what="index")
    assert manifest.find("application/vnd.spack.nothing") is None
    db = decode_object(decode_blob(record, (V3 / record.path).read_bytes(), what="index"), what="")
    assert db["database"]["version"] == "8"
    assert LAYOUT_PATH == "v3/layout.json"


def test_record_for_is_what_the_reader_verifies() -> None:
    data = b"payload"
    record = record_for(data, "application/pgp-keys", "none")
    assert parse_manifest(render_manifest([record]), what="x").records == (record,)
    assert decode_blob(record, data, what="x") == data
    with pytest.raises(IntegrityError, match="sha256"):
        decode_blob(record, b"Payload", what="x")
    assert record.path == f"blobs/sha256/{record.checksum[:2]}/{record.checksum}"


def test_a_record_with_another_algorithm_or_manifest_version_is_refused() -> None:
    record = BlobRecord(media_type="m", checksum="0" * 64, content_length=1)
    good = json.loads(render_manifest([record]))
    bad_algorithm = dict(good, data=[dict(good["data"][0], checksumAlgorithm="md5")])
    with pytest.raises(LayoutError, match="md5"):
        parse_manifest(json.dumps(bad_algorithm), what="x")
    with pytest.raises(LayoutError, match="version 2"):
        parse_manifest(json.dumps(dict(good, version=2)), what="x")


# ---- v2 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("signed", [False, True])
def test_v2_names_match_spacks_tree(signed: bool) -> None:
    root = V2 / ("signed" if signed else "unsigned")
    files = sorted((root / "build_cache").glob("*.spec.json*"))
    assert len(files) == 6
    for path in files:
        text = path.read_text()
        document = json.loads(strip_clearsign(text) if signed else text)
        dag = decode_specfile(document)
        node = dag.nodes[dag.root_hash]
        assert spec_path(node, dag, signed=signed) == path.relative_to(root).as_posix()
        assert (root / tarball_path(node, dag)).is_file()
    if signed:
        index = json.loads((root / KEY_INDEX_PATH).read_text())
        for fingerprint in index["keys"]:
            assert (root / key_path(fingerprint)).is_file()


# ---- the binary index ---------------------------------------------------------------------


def _top_and_dep() -> tuple[dict[str, Any], dict[str, Any]]:
    """A two-node DAG with every kind of field the encoder writes."""
    dep = make_node("dep", "1", platform="linux", os="debian12", target="x86_64")
    top = make_node(
        "top",
        "2",
        platform="linux",
        os="debian12",
        target="x86_64",
        variants={"mpi": True, "flags": ["-O2", "-g"]},
        deps=[("dep", dep["hash"], ("build", "link", "run", "test"), ("c",))],
        external="/usr",
    )
    return top, dep


def test_an_index_we_write_streams_back_and_decodes() -> None:
    top, dep = _top_and_dep()
    installs = merge_index({}, [make_specfile([top, dep])], {top["hash"]})
    header = IndexHeader()
    records = dict(iter_index_records(io.BytesIO(render_index(installs)), header, chunk=64))
    assert header.version == "8" and records == installs
    assert records[dep["hash"]]["ref_count"] == 1 and not records[dep["hash"]]["in_buildcache"]
    node = decode_index_record(records[top["hash"]]["spec"], header.version)
    assert (node.name, node.version, [e.hash for e in node.edges]) == ("top", "2", [dep["hash"]])


# ---- clear-signed text ----------------------------------------------------------------------


def test_signed_text_drops_only_the_armors_line_break() -> None:
    for eol in ("\n", "\r\n"):
        message = eol.join(
            [
                "-----BEGIN PGP SIGNED MESSAGE-----",
                "Hash: SHA512",
                "",
                "- -----not a marker",
                "{}",
                "-----BEGIN PGP SIGNATURE-----",
                "",
                "AAAA",
                "-----END PGP SIGNATURE-----",
                "",
            ]
        )
        parts = parse_cleartext(message)
        assert parts.payload == f"-----not a marker{eol}{{}}{eol}"
        assert parts.signed_text == strip_clearsign(message) == f"-----not a marker{eol}{{}}"
    assert strip_clearsign("{}\n") == "{}\n"
    with pytest.raises(SignatureError, match="cut off"):
        strip_clearsign("-----BEGIN PGP SIGNED MESSAGE-----\n\n{}\n")


# ---- buildinfo and the node row -------------------------------------------------------------


def test_buildinfo_dump_parses_back() -> None:
    facts = {
        "sbang_install_path": "/opt/store/bin/sbang",
        "buildpath": "/opt/store",
        "relative_prefix": "linux/zlib-1.3-abc",
        "hardlinks_deduped": True,
        "hash_to_prefix": {"abc": "/opt/store/linux/zlib-1.3-abc"},
        "relocate_binaries": ["lib/libz.so.1.3"],
        "relocate_links": [],
        "relocate_textfiles": ["lib/pkgconfig/zlib.pc", "a path: with {braces}"],
    }
    text = dump_buildinfo(facts).decode()
    assert text.count("\n") == 1  # one flow mapping on one line, like Spack's
    info = parse_buildinfo(text)
    assert info.old_prefix == "/opt/store/linux/zlib-1.3-abc"
    assert dict(info.hash_to_prefix) == facts["hash_to_prefix"]
    assert info.relocate_textfiles == ("lib/pkgconfig/zlib.pc", "a path: with {braces}")
    assert info.relocate_binaries == ("lib/libz.so.1.3",) and info.hardlinks_deduped


def test_node_rows_round_trip() -> None:
    nodes: list[ConcreteNode] = []
    for manifest in _spec_manifests():
        spec = parse_manifest(manifest.read_text(), what="").first(MEDIA_SPEC_PREFIX, what="")
        blob = decode_blob(spec, (V3 / spec.path).read_bytes(), what="")
        nodes.extend(decode_specfile(decode_object(blob, what="")).nodes.values())
    top, dep = _top_and_dep()
    made = decode_specfile(make_specfile([top, dep]))
    nodes.extend(made.nodes.values())
    assert any(n.edges for n in nodes) and any(n.external for n in nodes)
    for node in nodes:
        row = node_to_row(node, in_buildcache=False)
        assert row[11] == 0
        assert row_to_node(row) == node


@pytest.mark.parametrize(
    ("text", "refers"),
    [
        (b"-L/opt/store/lib", True),
        (b"prefix=/opt/store\n", True),
        (b"#!/opt/store/bin/perl -w\n", True),
        (b"x-/opt/store", True),
        (b"/opt/storehouse/and/opt/store", True),
        (b"/home/opt/store/lib", False),
        (b"a/b-/opt/store", False),
        (b"nothing here", False),
    ],
)
def test_what_push_lists_is_what_relocation_rewrites(text: bytes, refers: bool) -> None:
    """The writer picks text files by the same prefix rule the installer rewrites with."""
    from jupyter_spackcache.install.relocate.text import TextRelocator
    from jupyter_spackcache.push.tarball import prefix_regex

    listed = prefix_regex(["/opt/store"]).search(text) is not None
    rewritten = TextRelocator.from_map([("/opt/store", "/new/root")]).apply(text) != text
    assert listed == rewritten == refers
