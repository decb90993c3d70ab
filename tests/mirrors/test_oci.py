"""OCI build caches against a real registry (Debian's docker-registry), with and without tokens."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

from jupyter_spackcache.errors import IntegrityError, MirrorError, NotFoundError
from jupyter_spackcache.mirrors import oci
from jupyter_spackcache.mirrors.base import MirrorReader, SpecRecord
from jupyter_spackcache.spec.concrete import ConcreteDAG, ConcreteNode
from tests.support import ocicache, servers
from tests.support.servers import V2_UNSIGNED, RegistryProxy

INDEX_BYTES = (V2_UNSIGNED / "build_cache/index.json").read_bytes()
ENTRIES = ocicache.v2_entries(V2_UNSIGNED)


def root(document: dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = document["spec"]["nodes"][0]
    return node


def lookup(reader: oci.OciReader, name: str, version: str, dag_hash: str) -> SpecRecord:
    """``fetch_spec`` through the MirrorReader signature (a one-node DAG is enough for OCI)."""
    node = ConcreteNode(name, version, dag_hash, platform="linux", os="debian6", target="x86_64")
    return reader.fetch_spec(node, ConcreteDAG(dag_hash, {dag_hash: node}))


# --------------------------------------------------------------------------- pure helpers


def test_oci_tag_rules() -> None:
    assert oci.oci_tag("zlib", "1.3", "abc") == "zlib-1.3-abc.spack"
    assert oci.oci_tag("py-x", "git.a1b2=main", "h") == "py-x-git.a1b2_main-h.spack"
    long = oci.oci_tag("n" * 100, "1.0", "h" * 32)
    full = "n" * 100 + "-1.0-" + "h" * 32 + ".spack"
    assert len(long) == 128 and long == full[:64] + full[-64:]
    assert oci.INDEX_TAG == "index.spack"


def test_parse_url_challenge_and_links() -> None:
    assert oci.parse_oci_url("oci://ghcr.io/Spack/Cache/") == oci.OciRepo(
        "https", "ghcr.io", "spack/cache"
    )
    repo = oci.parse_oci_url("oci+http://127.0.0.1:5000/r")
    assert repo.api("blobs", "sha256:x") == "http://127.0.0.1:5000/v2/r/blobs/sha256:x"
    with pytest.raises(MirrorError, match="not an OCI mirror URL: oci://hostonly"):
        oci.parse_oci_url("oci://hostonly")
    challenge = oci.parse_challenge(
        'Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull,push"'
    )
    assert challenge == oci.BearerChallenge(
        "https://auth.example/token", "reg", "repository:a/b:pull,push"
    )
    assert oci.token_url(challenge) == (
        "https://auth.example/token?service=reg&scope=repository%3Aa%2Fb%3Apull%2Cpush"
    )
    assert oci.parse_challenge('Basic realm="x"') is None
    assert oci.next_page('</v2/r/tags/list?last=b&n=2>; rel="next"', "http://h/v2/r/tags/list") == (
        "http://h/v2/r/tags/list?last=b&n=2"
    )
    assert oci.next_page(None, "http://h/") is None
    with pytest.raises(MirrorError, match="malformed OCI digest"):
        oci.digest_hex("sha256:XYZ")


# --------------------------------------------------------------------------- registry


@pytest.fixture(scope="module")
def cache_url(oci_registry: servers.DockerRegistry) -> str:
    """The v2 fixture's specs and tarballs (and its real index.json) pushed as an OCI cache."""
    url = oci_registry.repo_url("spack/v2-fixture")
    ocicache.push_spack_oci_cache(url, ENTRIES, index=INDEX_BYTES)
    return url


@pytest.fixture
def reader(cache_url: str) -> Iterator[oci.OciReader]:
    r = oci.OciReader(cache_url)
    yield r
    r.close()


def test_reader_satisfies_protocol(reader: oci.OciReader) -> None:
    as_protocol: MirrorReader = reader
    assert as_protocol.layout == "oci" and reader.public_keys() == []


def test_fetch_index(reader: oci.OciReader) -> None:
    fetched = reader.fetch_index(known_hash=None, etag=None)
    assert fetched.changed and fetched.data == INDEX_BYTES
    assert fetched.index_hash == hashlib.sha256(INDEX_BYTES).hexdigest()
    same = reader.fetch_index(known_hash=fetched.index_hash, etag=None)
    assert not same.changed and same.data is None and same.index_hash == fetched.index_hash


@pytest.mark.parametrize(
    "entry", ENTRIES, ids=lambda e: root(e[0])["name"] + "-" + root(e[0])["hash"][:7]
)
def test_fetch_spec_and_tarball(reader: oci.OciReader, entry: tuple[dict[str, Any], bytes]) -> None:
    document, tarball = entry
    node = root(document)
    record = lookup(reader, node["name"], node["version"], node["hash"])
    assert record.document["spec"] == document["spec"]
    assert record.document["os"] == "linux"  # OCI config fields are merged in
    sha = hashlib.sha256(tarball).hexdigest()
    assert sha == document["binary_cache_checksum"]["hash"]  # the fixture's own binding
    assert record.tarball.sha256 == sha and record.tarball.location == f"sha256:{sha}"
    assert record.tarball.size == len(tarball)
    assert record.signed_by is None and record.entry_layout == 3
    assert b"".join(reader.open_tarball(record.tarball)) == tarball
    assert b"".join(reader.open_tarball(record.tarball, offset=100)) == tarball[100:]


def test_unknown_spec_is_not_found(reader: oci.OciReader) -> None:
    with pytest.raises(NotFoundError, match=r"no image 'zlib-1\.0-aaaa\.spack' \(HTTP 404\)"):
        lookup(reader, "zlib", "1.0", "aaaa")


def test_list_tags_paginates(oci_registry: servers.DockerRegistry, cache_url: str) -> None:
    expected = sorted(
        [oci.INDEX_TAG]
        + [oci.oci_tag(root(d)["name"], root(d)["version"], root(d)["hash"]) for d, _ in ENTRIES]
    )
    with oci.OciClient(cache_url) as direct:
        assert direct.list_tags() == expected  # the real registry answers in one page
    with RegistryProxy(oci_registry.http_url, tags_page_size=2) as proxy:
        with oci.OciClient(proxy.repo_url("spack/v2-fixture")) as client:
            assert client.list_tags() == expected
        pages = [r.path for r in proxy.requests]
        assert len(pages) == 4 and pages[0] == "/v2/spack/v2-fixture/tags/list"
        assert all("last=" in p for p in pages[1:])


def test_unchanged_index_costs_one_request(
    oci_registry: servers.DockerRegistry, cache_url: str
) -> None:
    """Counted by a logging proxy in front of the real registry."""
    with RegistryProxy(oci_registry.http_url) as proxy:
        r = oci.OciReader(proxy.repo_url("spack/v2-fixture"))
        first = r.fetch_index(known_hash=None, etag=None)
        assert [(q.method, q.path.split("/")[-2]) for q in proxy.requests] == [
            ("GET", "manifests"),
            ("GET", "blobs"),
        ]
        proxy.reset_log()
        unchanged = r.fetch_index(known_hash=first.index_hash, etag=None)
        assert not unchanged.changed
        assert [(q.method, q.path) for q in proxy.requests] == [
            ("GET", "/v2/spack/v2-fixture/manifests/index.spack")
        ]
        proxy.reset_log()
        again = r.fetch_index(known_hash=first.index_hash, etag=first.etag)
        assert not again.changed and again.index_hash == first.index_hash
        (request,) = proxy.requests
        assert request.headers["If-None-Match"] == first.etag and request.status == 304
        r.close()


def test_bearer_token_flow(oci_registry: servers.DockerRegistry) -> None:
    """A proxy that demands anonymous tokens, like public registries do."""
    with RegistryProxy(oci_registry.http_url, require_token=True) as proxy:
        url = proxy.repo_url("spack/tokened")
        ocicache.push_spack_oci_cache(url, ENTRIES[:1])
        assert proxy.tokens_issued >= 1
        proxy.reset_log()
        issued = proxy.tokens_issued
        r = oci.OciReader(url)
        fetched = r.fetch_index(known_hash=None, etag=None)
        assert json.loads(fetched.data or b"")["database"]["version"] == "8"
        statuses = [(q.path.split("?")[0].split("/")[-2], q.status) for q in proxy.requests]
        assert statuses == [("manifests", 401), ("", 200), ("manifests", 200), ("blobs", 200)]
        assert proxy.requests[1].path.startswith("/token?service=spackcache-test-registry")
        assert "scope=repository%3Aspack%2Ftokened%3Apull" in proxy.requests[1].path
        assert proxy.requests[2].headers["Authorization"].startswith("Bearer ")
        proxy.reset_log()
        node = root(ENTRIES[0][0])
        lookup(r, node["name"], node["version"], node["hash"])
        assert all(q.status == 200 for q in proxy.requests)  # the token is reused
        assert proxy.tokens_issued == issued + 1
        proxy.tokens.clear()  # every token expires
        proxy.reset_log()
        assert r.fetch_index(known_hash=fetched.index_hash, etag=None).changed is False
        assert [q.status for q in proxy.requests] == [401, 200, 200]
        assert proxy.tokens_issued == issued + 2
        r.close()


def test_token_refused(oci_registry: servers.DockerRegistry) -> None:
    with RegistryProxy(oci_registry.http_url, require_token=True) as proxy:
        proxy.grant_tokens = False
        r = oci.OciReader(proxy.repo_url("spack/private"))
        with pytest.raises(MirrorError, match="refused an anonymous token \\(HTTP 401") as info:
            r.fetch_index(known_hash=None, etag=None)
        assert info.value.hint and "private" in info.value.hint
        r.close()


def test_missing_index_is_not_found(oci_registry: servers.DockerRegistry) -> None:
    r = oci.OciReader(oci_registry.repo_url("spack/empty"))
    with pytest.raises(NotFoundError, match=r"no image 'index\.spack'"):
        r.fetch_index(known_hash=None, etag=None)
    r.close()


def test_checksum_must_bind_the_tarball(oci_registry: servers.DockerRegistry) -> None:
    """An image whose config names another tarball checksum is refused."""
    document, tarball = ENTRIES[0]
    node = root(document)
    url = oci_registry.repo_url("spack/tampered")
    ocicache.push_spack_oci_cache(url, [(document, tarball)])
    with oci.OciClient(url) as client:
        manifest, _ = client.get_manifest(oci.oci_tag(node["name"], node["version"], node["hash"]))
        config = json.loads(client.get_blob(manifest["config"]["digest"]))
        config["binary_cache_checksum"]["hash"] = "0" * 64
        data = json.dumps(config).encode()
        manifest["config"] = {
            **manifest["config"],
            "digest": client.put_blob(data),
            "size": len(data),
        }
        client.put_manifest(oci.oci_tag(node["name"], node["version"], node["hash"]), manifest)
    r = oci.OciReader(url)
    with pytest.raises(IntegrityError, match="does not match its tarball layer sha256:"):
        lookup(r, node["name"], node["version"], node["hash"])
    with pytest.raises(MirrorError, match="no image"):
        lookup(r, node["name"], node["version"], "x" * 32)
    r.close()


def test_mislabelled_image_is_refused(oci_registry: servers.DockerRegistry) -> None:
    """The image under one spec's tag must describe that spec, not another one."""
    (doc_a, tar_a), (doc_b, tar_b) = ENTRIES[:2]
    a, b = root(doc_a), root(doc_b)
    url = oci_registry.repo_url("spack/mislabelled")
    ocicache.push_spack_oci_cache(url, [(doc_a, tar_a), (doc_b, tar_b)])
    with oci.OciClient(url) as client:
        manifest_b, _ = client.get_manifest(oci.oci_tag(b["name"], b["version"], b["hash"]))
        client.put_manifest(oci.oci_tag(a["name"], a["version"], a["hash"]), manifest_b)
    r = oci.OciReader(url)
    with pytest.raises(MirrorError, match=f"describes {b['hash']} instead of {a['hash']}"):
        lookup(r, a["name"], a["version"], a["hash"])
    r.close()


def test_registry_down() -> None:
    url = f"oci+http://127.0.0.1:{servers.free_port()}/spack/gone"
    r = oci.OciReader(url, client=oci.OciClient(url, retries=0))
    with pytest.raises(MirrorError, match=r"manifests/index\.spack: connection refused$"):
        r.fetch_index(known_hash=None, etag=None)
    r.close()
