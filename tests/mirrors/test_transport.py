"""Transports against real servers: the file system, a faulty HTTP server, and moto (S3)."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from jupyter_spackcache.errors import MirrorError, NotFoundError
from jupyter_spackcache.mirrors import transport as tp
from tests.support import servers
from tests.support.servers import V2_UNSIGNED, StaticServer

INDEX = "build_cache/index.json"
INDEX_BYTES = (V2_UNSIGNED / INDEX).read_bytes()
INDEX_HASH = (V2_UNSIGNED / "build_cache/index.json.hash").read_text()[:64]
TARBALL = next((V2_UNSIGNED / "build_cache").rglob("*libelf-0.8.13-rqh2*.spack"))
TARBALL_REL = TARBALL.relative_to(V2_UNSIGNED).as_posix()


def assert_one_line(error: MirrorError) -> None:
    text = str(error)
    assert "\n" not in text and "Traceback" not in text and "Error(" not in text


# --------------------------------------------------------------------------- pure helpers


@pytest.mark.parametrize(
    ("relpath", "reason"),
    [
        ("../etc/passwd", "leaves the mirror root"),
        ("build_cache/../../x", "leaves the mirror root"),
        ("/etc/passwd", "not a relative path"),
        ("http://evil/x", "not a relative path"),
        ("", "not a relative path"),
        ("./", "leaves the mirror root"),
    ],
)
def test_relpath_must_stay_below_root(relpath: str, reason: str) -> None:
    with pytest.raises(MirrorError, match=reason):
        tp.join_url("http://m.example/root", relpath)


def test_join_url_quotes_and_normalises() -> None:
    assert tp.join_url("http://m/x/", "a//./b c/v=1.spack") == "http://m/x/a/b%20c/v=1.spack"
    assert (
        tp.join_url("/srv/mirror", "build_cache/index.json") == "/srv/mirror/build_cache/index.json"
    )


def test_s3_roots(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in tp.S3_ENDPOINT_ENV:
        monkeypatch.delenv(name, raising=False)
    assert tp.http_root("s3://bkt/some/prefix/") == "https://s3.amazonaws.com/bkt/some/prefix"
    assert tp.http_root("s3://bkt", s3_endpoint_url="http://h:9/") == "http://h:9/bkt"
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://aws-env:1")
    assert tp.http_root("s3://b/p") == "http://aws-env:1/b/p"
    monkeypatch.setenv("SPACKCACHE_S3_ENDPOINT_URL", "http://ours:2")
    assert tp.http_root("s3://b/p") == "http://ours:2/b/p"
    with pytest.raises(MirrorError, match="no bucket name"):
        tp.http_root("s3:///p")


def test_unsupported_scheme() -> None:
    with pytest.raises(MirrorError, match="unsupported URL scheme 'gopher'") as info:
        tp.open_transport("gopher://x/y")
    assert info.value.hint and "s3://" in info.value.hint


# --------------------------------------------------------------------------- file


@pytest.mark.parametrize("as_url", [True, False])
def test_file_fetch_matches_index_hash(as_url: bool) -> None:
    url = V2_UNSIGNED.as_uri() if as_url else str(V2_UNSIGNED)
    t = tp.open_transport(url)
    result = t.fetch(INDEX)
    assert hashlib.sha256(result.data).hexdigest() == INDEX_HASH
    assert not result.not_modified and result.etag
    again = t.fetch(INDEX, etag=result.etag)
    assert again.not_modified and again.data == b""
    assert t.exists(INDEX) and not t.exists("build_cache/nope.json")


def test_file_errors_and_streaming(tmp_path: Path) -> None:
    t = tp.open_transport(V2_UNSIGNED.as_uri())
    with pytest.raises(NotFoundError, match=r"nope\.json not found") as info:
        t.fetch("build_cache/nope.json")
    assert info.value.hint and "spackcache mirror list" in info.value.hint
    with pytest.raises(MirrorError, match="is a directory"):
        t.fetch("build_cache")
    with pytest.raises(MirrorError, match="larger than the limit of 100 bytes"):
        t.fetch(INDEX, max_bytes=100)
    with pytest.raises(MirrorError, match="leaves the mirror root"):
        t.fetch("../unsigned/" + INDEX)
    data = TARBALL.read_bytes()
    assert b"".join(t.iter_bytes(TARBALL_REL, chunk_size=1000)) == data
    assert b"".join(t.iter_bytes(TARBALL_REL, offset=1234)) == data[1234:]


# --------------------------------------------------------------------------- http


@pytest.fixture
def served(http_mirror: Callable[[Path], StaticServer]) -> StaticServer:
    return http_mirror(V2_UNSIGNED)


def test_http_fetch_and_etag_304(served: StaticServer) -> None:
    t = tp.open_transport(served.url)
    first = t.fetch(INDEX)
    assert hashlib.sha256(first.data).hexdigest() == INDEX_HASH
    assert first.url == f"{served.url}/{INDEX}" and first.etag
    served.reset_log()
    second = t.fetch(INDEX, etag=first.etag)
    assert second.not_modified and second.data == b"" and second.etag == first.etag
    (request,) = served.requests
    assert request.status == 304 and request.headers["If-None-Match"] == first.etag
    t.close()


def test_http_range_and_exists(served: StaticServer) -> None:
    t = tp.open_transport(served.url)
    data = TARBALL.read_bytes()
    assert b"".join(t.iter_bytes(TARBALL_REL, offset=1000, chunk_size=512)) == data[1000:]
    assert served.requests[-1].status == 206
    assert served.requests[-1].headers["Range"] == "bytes=1000-"
    assert t.exists(TARBALL_REL) and not t.exists("build_cache/missing.spack")
    assert [r.method for r in served.requests[-2:]] == ["HEAD", "HEAD"]


def test_http_404_is_not_found_and_not_retried(served: StaticServer) -> None:
    t = tp.open_transport(served.url, retries=2)
    with pytest.raises(NotFoundError, match=r"missing\.json not found \(HTTP 404\)"):
        t.fetch("build_cache/missing.json")
    assert served.count("/build_cache/missing.json") == 1


def test_http_500_retried_then_reported(served: StaticServer) -> None:
    served.fault(INDEX, status=500)
    t = tp.open_transport(served.url, retries=2)
    with pytest.raises(MirrorError) as info:
        t.fetch(INDEX)
    assert str(info.value) == (
        f"{served.url}/{INDEX}: server error (HTTP 500); gave up after 3 attempts"
    )
    assert info.value.hint and "retry later" in info.value.hint
    assert served.count(f"/{INDEX}") == 3


def test_http_transient_500_recovers(served: StaticServer) -> None:
    served.fault(INDEX, status=503, times=1)
    t = tp.open_transport(served.url, retries=2)
    assert t.fetch(INDEX).data == INDEX_BYTES
    assert [r.status for r in served.requests] == [503, 200]


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"drop_after": 100}, "connection dropped after 100 of 6473 bytes"),
        ({"lie_length": 50}, "server sent 6473 bytes but announced 6523"),
        ({"delay": 1.0}, "timed out after 0.3 s"),
        ({"status": 502}, "server error (HTTP 502)"),
        ({"status": 403}, "access denied (HTTP 403)"),
    ],
)
def test_http_faults_give_one_line(
    served: StaticServer, fault: dict[str, Any], message: str
) -> None:
    served.fault("build_cache/*.json", **fault)
    t = tp.open_transport(served.url, timeout=0.3, retries=0)
    with pytest.raises(MirrorError) as info:
        t.fetch(INDEX)
    assert str(info.value) == f"{served.url}/{INDEX}: {message}"
    assert_one_line(info.value)
    assert info.value.hint


def test_http_drop_while_streaming(served: StaticServer) -> None:
    size = TARBALL.stat().st_size
    served.fault("*.spack", drop_after=1000)
    t = tp.open_transport(served.url, retries=0)
    received = bytearray()
    with pytest.raises(MirrorError, match=f"connection dropped after 1000 of {size} bytes"):
        for chunk in t.iter_bytes(TARBALL_REL, chunk_size=256):
            received += chunk
    assert len(received) == 768  # whole chunks only; the partial one is not handed out
    assert TARBALL.read_bytes().startswith(received)


def test_http_dropped_connection_is_retried(served: StaticServer) -> None:
    served.fault(INDEX, drop_after=10, times=1)
    t = tp.open_transport(served.url, retries=1)
    assert t.fetch(INDEX).data == INDEX_BYTES
    assert served.count(f"/{INDEX}") == 2


def test_http_max_bytes(served: StaticServer) -> None:
    t = tp.open_transport(served.url, retries=2)
    with pytest.raises(MirrorError, match="larger than the limit of 1000 bytes"):
        t.fetch(INDEX, max_bytes=1000)
    assert served.count(f"/{INDEX}") == 1  # a size limit is not worth a retry
    assert t.fetch(INDEX, max_bytes=len(INDEX_BYTES)).data == INDEX_BYTES


def test_http_content_the_transport_cannot_judge(served: StaticServer) -> None:
    """Corrupt bytes and a body *longer* than announced reach the caller as data.

    HTTP/1.1 framing hides surplus bytes (the client stops at Content-Length), and a flipped
    byte is only visible to a checksum: both are caught by the sha256 the metadata binds,
    which is the layout reader's and installer's job, not the transport's.
    """
    t = tp.open_transport(served.url, retries=0)
    served.fault(INDEX, corrupt=True)
    corrupt = t.fetch(INDEX).data
    assert len(corrupt) == len(INDEX_BYTES) and corrupt != INDEX_BYTES
    assert hashlib.sha256(corrupt).hexdigest() != INDEX_HASH
    served.fault(INDEX, lie_length=-50)
    short = t.fetch(INDEX).data
    assert short == INDEX_BYTES[:-50]
    served.clear_faults()
    assert t.fetch(INDEX).data == INDEX_BYTES  # the poisoned connection was not reused


def test_connection_refused() -> None:
    url = f"http://127.0.0.1:{servers.free_port()}/mirror"
    t = tp.open_transport(url, retries=0)
    with pytest.raises(MirrorError) as info:
        t.fetch(INDEX)
    assert str(info.value) == f"{url}/{INDEX}: connection refused"
    assert info.value.hint and "spackcache mirror list" in info.value.hint


def test_dns_failure() -> None:
    t = tp.open_transport("http://no-such-host.invalid/m", retries=0, timeout=5)
    with pytest.raises(MirrorError) as info:
        t.fetch(INDEX)
    assert str(info.value) == (
        f"http://no-such-host.invalid/m/{INDEX}: could not resolve host "
        "'no-such-host.invalid' (DNS lookup failed)"
    )
    assert_one_line(info.value)


# --------------------------------------------------------------------------- s3 (moto)


def test_s3_reads_uploaded_mirror(s3_server: servers.MotoS3, tmp_path: Path) -> None:
    url = s3_server.upload_tree(V2_UNSIGNED, "v2-unsigned", prefix="mirrors/v2")
    assert url == "s3://v2-unsigned/mirrors/v2"
    t = tp.open_transport(url, s3_endpoint=s3_server.endpoint)
    result = t.fetch(INDEX)
    assert hashlib.sha256(result.data).hexdigest() == INDEX_HASH
    assert result.url == f"{url}/{INDEX}"
    assert t.fetch(INDEX, etag=result.etag).not_modified
    assert b"".join(t.iter_bytes(TARBALL_REL, offset=7)) == TARBALL.read_bytes()[7:]
    assert t.exists(TARBALL_REL) and not t.exists("build_cache/absent.json")
    with pytest.raises(NotFoundError) as info:
        t.fetch("build_cache/absent.json")
    assert str(info.value) == f"{url}/build_cache/absent.json not found (HTTP 404)"
    t.close()


def test_s3_endpoint_from_environment(
    s3_server: servers.MotoS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = tmp_path / "m"
    shutil.copytree(V2_UNSIGNED / "build_cache", tree / "build_cache")
    url = s3_server.upload_tree(tree, "env-bucket")
    monkeypatch.setenv("SPACKCACHE_S3_ENDPOINT_URL", s3_server.endpoint)
    assert tp.open_transport(url).fetch(INDEX).data == INDEX_BYTES


def test_static_server_ranges(served: StaticServer) -> None:
    """The test server itself: suffix and bounded ranges, and an unsatisfiable one."""
    url = f"{served.url}/{INDEX}"
    assert httpx.get(url, headers={"Range": "bytes=-10"}).content == INDEX_BYTES[-10:]
    answer = httpx.get(url, headers={"Range": "bytes=5-9"})
    assert answer.status_code == 206 and answer.content == INDEX_BYTES[5:10]
    assert answer.headers["Content-Range"] == f"bytes 5-9/{len(INDEX_BYTES)}"
    assert httpx.get(url, headers={"Range": "bytes=99999-"}).status_code == 416


def test_a_cut_metadata_body_resumes_with_if_range(served: StaticServer) -> None:
    served.fault(INDEX, drop_after=1000, times=1)
    t = tp.open_transport(served.url, retries=2)
    result = t.fetch(INDEX)
    assert result.data == INDEX_BYTES and result.etag
    first, second = [r for r in served.requests if r.path == f"/{INDEX}"]
    assert first.status == 200 and second.status == 206
    assert second.headers["Range"] == "bytes=1000-"
    assert second.headers["If-Range"] == result.etag
    t.close()
