"""Mirrors as sites serve them: credentials (per-mirror ``auth``, ``~/.netrc``), redirects to
another host that must not see them, HTTP proxies from the environment, OCI registries behind
htpasswd or a token service that wants credentials."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from jupyter_spackcache.demo.build import DemoMirror
from jupyter_spackcache.errors import ConfigError
from jupyter_spackcache.mirrors import oci
from jupyter_spackcache.mirrors.auth import Credentials, parse_auth
from jupyter_spackcache.netconfig import redact_url
from tests.support import ocicache, servers
from tests.support.servers import StaticServer, free_port

pytestmark = pytest.mark.slow

Run = Callable[..., tuple[int, str, str]]
USER, PASSWORD, TOKEN = "alice", "s3cr3t-pa55", "t0ken-abc123"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = Path(tempfile.mkdtemp(prefix="sa", dir="/tmp"))
    monkeypatch.setenv("SPACKCACHE_HOME", str(home))
    monkeypatch.setenv("SPACKCACHE_SITE_CONFIG", str(tmp_path / "site.yaml"))
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    for var in ("SPACKCACHE_PLATFORM", "SPACKCACHE_OS", "SPACKCACHE_TARGET", "SPACKCACHE_LIBC",
                "SPACKCACHE_INSTALL_ROOT", "SPACKCACHE_FAULT", "HTTP_PROXY", "HTTPS_PROXY",
                "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"):  # fmt: skip
        monkeypatch.delenv(var, raising=False)
    yield home
    shutil.rmtree(home, ignore_errors=True)


def _configure(home: Path, url: str, auth: dict[str, str] | None = None) -> None:
    mirror: dict[str, object] = {"name": "private", "url": url}
    if auth is not None:
        mirror["auth"] = auth
    (home / "config.yaml").write_text(yaml.safe_dump({"mirrors": [mirror]}))


def _everything_written(home: Path) -> bytes:
    """Every file spackcache wrote, except the config the admin wrote the secret into."""
    files = [p for p in home.rglob("*") if p.is_file() and p.name != "config.yaml"]
    return b"".join(p.read_bytes() for p in files)


def test_auth_setting_is_checked() -> None:
    assert parse_auth({"username": "u", "password_env": "P"}, "c.yaml").username == "u"
    assert parse_auth({"token_file": "/t"}, "c.yaml").token_file == "/t"
    for bad in ({"username": "u"}, {"password": "p"}, {"token": "t", "token_env": "T"},
                {"username": "u", "password": "p", "token": "t"}, {"user": "u"}):  # fmt: skip
        with pytest.raises(ConfigError):
            parse_auth(bad, "c.yaml")
    assert PASSWORD not in repr(parse_auth({"username": USER, "password": PASSWORD}, "c"))
    assert PASSWORD not in repr(Credentials(USER, PASSWORD))
    assert redact_url(f"https://{USER}:{PASSWORD}@h:1/x") == f"https://{USER}:***@h:1/x"
    assert redact_url("oci://robot@h/repo") == "oci://robot@h/repo"  # no password: as is


@pytest.mark.parametrize("how", ["inline", "env", "file", "netrc"])
def test_basic_auth_installs_and_never_shows_the_secret(
    how: str,
    signed_demo: DemoMirror,
    run: Run,
    home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with StaticServer(signed_demo.path, require_auth=BASIC) as server:
        _configure(home, server.url)
        code, _, err = run("keys", "trust", "--mirror", "private", "--yes")
        assert code == 1 and "access denied (HTTP 401)" in err and "auth" in err
        auth: dict[str, str] | None = {"username": USER}
        if how == "inline":
            auth = {"username": USER, "password": PASSWORD}
        elif how == "env":
            monkeypatch.setenv("CACHE_PW", PASSWORD)
            auth = {"username": USER, "password_env": "CACHE_PW"}
        elif how == "file":
            (tmp_path / "pw").write_text(PASSWORD + "\n")
            auth = {"username": USER, "password_file": str(tmp_path / "pw")}
        else:
            (tmp_path / "netrc").write_text(f"machine 127.0.0.1 login {USER} password {PASSWORD}\n")
            monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
            auth = None
        _configure(home, server.url, auth)
        outputs = []
        for argv in (("keys", "trust", "--mirror", "private", "--yes"),
                     ("install", "demo-tool", "--yes", "--json"),
                     ("mirror", "list", "--json"), ("find", "--json")):  # fmt: skip
            code, out, err = run(*argv)
            assert code == 0, (argv, err)
            outputs.append(out + err)
        listing = json.loads(outputs[2])
        assert listing[0]["credentials"] is (auth is not None)
        assert all(PASSWORD not in text for text in outputs)
        assert PASSWORD.encode() not in _everything_written(home)
        assert all(r.headers.get("Authorization") == BASIC for r in server.requests[-3:])


def test_bearer_token_from_a_file(
    signed_demo: DemoMirror, run: Run, home: Path, tmp_path: Path
) -> None:
    (tmp_path / "token").write_text(TOKEN)
    with StaticServer(signed_demo.path, require_auth=f"Bearer {TOKEN}") as server:
        _configure(home, server.url, {"token_file": str(tmp_path / "token")})
        assert run("keys", "trust", "--mirror", "private", "--yes")[0] == 0
        code, out, err = run("install", "demo-tool", "--yes")
        assert code == 0, err
        assert TOKEN not in out + err


def test_redirect_to_another_host_does_not_leak_credentials(
    signed_demo: DemoMirror, run: Run, home: Path
) -> None:
    """A cache behind a CDN: the blobs come from another host, which gets no credentials."""
    with (
        StaticServer(signed_demo.path) as cdn,
        StaticServer(signed_demo.path, require_auth=BASIC) as origin,
    ):
        origin.fault("blobs/*", redirect_host=cdn.url.replace("127.0.0.1", "localhost"))
        _configure(home, origin.url, {"username": USER, "password": PASSWORD})
        assert run("keys", "trust", "--mirror", "private", "--yes")[0] == 0
        code, _, err = run("install", "demo-tool", "--yes")
        assert code == 0, err
        assert cdn.requests and all("Authorization" not in r.headers for r in cdn.requests)
        assert any(r.status == 302 for r in origin.requests)


def _tinyproxy(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    conf = workdir / "tinyproxy.conf"
    conf.write_text(
        f"Port {port}\nListen 127.0.0.1\nTimeout 60\nMaxClients 20\nLogLevel Error\n"
        f'LogFile "{workdir / "tinyproxy.log"}"\nPidFile "{workdir / "tinyproxy.pid"}"\n'
        'Allow 127.0.0.1\nViaProxyName "spackcache-test-proxy"\n'
    )
    proc = subprocess.Popen(["tinyproxy", "-d", "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return proc, port
        time.sleep(0.05)
    proc.kill()
    pytest.skip("tinyproxy did not start")


@pytest.mark.skipif(shutil.which("tinyproxy") is None, reason="needs tinyproxy")
def test_http_proxy_from_the_environment_and_no_proxy(
    signed_demo: DemoMirror,
    run: Run,
    home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proc, port = _tinyproxy(tmp_path)
    try:
        with StaticServer(signed_demo.path) as server:
            _configure(home, server.url)
            monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
            assert run("keys", "trust", "--mirror", "private", "--yes")[0] == 0
            code, _, err = run("install", "demo-tool", "--yes")
            assert code == 0, err
            assert server.requests
            assert all("spackcache-test-proxy" in r.headers.get("Via", "") for r in server.requests)
            server.reset_log()
            monkeypatch.setenv("NO_PROXY", "127.0.0.1")
            code, _, err = run("keys", "list", "--mirror", "private")
            assert code == 0, err
            assert server.requests and all("Via" not in r.headers for r in server.requests)
    finally:
        proc.terminate()
        proc.wait(timeout=5)


@pytest.mark.skipif(servers.registry_binary() is None, reason="needs docker-registry")
def test_oci_registry_behind_htpasswd(tmp_path: Path) -> None:
    registry = servers.DockerRegistry(tmp_path, htpasswd=(USER, PASSWORD))
    try:
        url = registry.repo_url("spack/private")
        creds = Credentials(USER, PASSWORD)
        entries = ocicache.v2_entries()[:1]
        ocicache.push_spack_oci_cache(url, entries, credentials=creds)
        anonymous = oci.OciReader(url)
        with pytest.raises(Exception, match=r"access denied \(HTTP 401\)"):
            anonymous.fetch_index(known_hash=None, etag=None)
        anonymous.close()
        reader = oci.OciReader(url, credentials=creds)
        fetched = reader.fetch_index(known_hash=None, etag=None)
        assert fetched.changed and fetched.data
        reader.close()
    finally:
        registry.stop()


@pytest.mark.skipif(servers.registry_binary() is None, reason="needs docker-registry")
def test_oci_token_service_that_wants_credentials(tmp_path: Path) -> None:
    registry = servers.DockerRegistry(tmp_path)
    try:
        with servers.RegistryProxy(registry.http_url, require_token=True) as proxy:
            url = proxy.repo_url("spack/tokened")
            ocicache.push_spack_oci_cache(url, ocicache.v2_entries()[:1])
            proxy.token_auth = BASIC
            with pytest.raises(Exception, match="refused an anonymous token"):
                oci.OciReader(url).fetch_index(known_hash=None, etag=None)
            reader = oci.OciReader(url, credentials=Credentials(USER, PASSWORD))
            assert reader.fetch_index(known_hash=None, etag=None).data
            token_requests = [r for r in proxy.requests if r.path.startswith("/token")]
            assert token_requests[-1].headers.get("Authorization") == BASIC
            reader.close()
    finally:
        registry.stop()


@pytest.fixture
def https_mirror(signed_demo: DemoMirror, tmp_path: Path) -> Iterator[tuple[StaticServer, Path]]:
    import ssl

    if shutil.which("openssl") is None:
        pytest.skip("needs openssl")
    ca, cert, key = servers.site_ca(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with StaticServer(signed_demo.path, tls=context) as server:
        yield server, ca


def test_site_ca_per_mirror_or_from_ssl_cert_file(
    https_mirror: tuple[StaticServer, Path],
    run: Run,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, ca = https_mirror
    _configure(home, server.url)
    code, _, err = run("keys", "trust", "--mirror", "private", "--yes")
    assert code == 1 and "certificate is not trusted" in err and "ca_bundle" in err
    assert "gave up" not in err  # an untrusted certificate is not retried
    config = yaml.safe_load((home / "config.yaml").read_text())
    config["mirrors"][0]["ca_bundle"] = str(ca)
    (home / "config.yaml").write_text(yaml.safe_dump(config))
    assert run("keys", "trust", "--mirror", "private", "--yes")[0] == 0
    code, _, err = run("install", "demo-tool", "--yes")
    assert code == 0, err
    assert any(r.path.startswith("/blobs/") for r in server.requests)
    # the same CA for every mirror, from the environment
    _configure(home, server.url)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    code, _, err = run("keys", "list", "--mirror", "private")
    assert code == 0, err


def test_sigv4_matches_the_reference_signer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The signature is what botocore (the AWS SDK's signer) computes for the same request."""
    import datetime

    botocore_auth = pytest.importorskip("botocore.auth")
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    from jupyter_spackcache.mirrors.s3auth import S3Credentials, sign_headers

    now = datetime.datetime(2026, 12, 4, 6, 30, 0, tzinfo=datetime.UTC)
    monkeypatch.setattr(botocore_auth, "get_current_datetime", lambda *a, **k: now)
    # a client configured not to sign payloads (what our reads send: UNSIGNED-PAYLOAD)
    unsigned = lambda *a, **k: False  # noqa: E731
    monkeypatch.setattr(botocore_auth.S3SigV4Auth, "_should_sha256_sign_payload", unsigned)
    url = "https://s3.example.org:9000/bucket/v3/blobs/sha256/ab/ab%2Bcd?x-id=GetObject&a=1"
    for token in (None, "session-token"):
        creds = S3Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG", token, "eu-west-1")
        ours = sign_headers("GET", url, {"host": "s3.example.org:9000"}, creds, now)
        request = AWSRequest(method="GET", url=url, headers={"host": "s3.example.org:9000"})
        botocore_auth.S3SigV4Auth(
            BotoCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG", token), "s3", "eu-west-1"
        ).add_auth(request)
        assert request.headers["X-Amz-Content-SHA256"] == "UNSIGNED-PAYLOAD"
        assert ours["Authorization"] == request.headers["Authorization"]
        assert ours["x-amz-date"] == request.headers["X-Amz-Date"]
        assert "wJalrXUtnFEMI" not in repr(creds)


def test_private_bucket_with_credentials_from_the_chain(
    signed_demo: DemoMirror,
    s3_server: servers.MotoS3,
    run: Run,
    home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    url = s3_server.upload_tree(signed_demo.path, "private-cache", "spack", public=False)
    (home / "config.yaml").write_text(yaml.safe_dump(
        {"mirrors": [{"name": "private", "url": url, "s3_endpoint": s3_server.endpoint}]}
    ))  # fmt: skip
    code, _, err = run("keys", "trust", "--mirror", "private", "--yes")
    assert code == 1 and "no Spack build cache index at s3://private-cache" in err  # anonymous
    (tmp_path / "credentials").write_text(
        "[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n"
        "[team]\naws_access_key_id = testing\naws_secret_access_key = s3-secret-key\n"
    )
    monkeypatch.setenv("AWS_PROFILE", "team")
    assert run("keys", "trust", "--mirror", "private", "--yes")[0] == 0
    code, out, err = run("install", "demo-tool", "--yes", "--json")
    assert code == 0, err
    assert "s3-secret-key" not in out + err
    assert b"s3-secret-key" not in _everything_written(home)


@pytest.mark.skipif(servers.registry_binary() is None, reason="needs docker-registry")
def test_oci_mirror_with_an_auth_setting_through_the_cli(
    run: Run, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = servers.DockerRegistry(tmp_path, htpasswd=(USER, PASSWORD))
    try:
        url = registry.repo_url("spack/private")
        ocicache.push_spack_oci_cache(
            url, ocicache.v2_entries()[:2], credentials=Credentials(USER, PASSWORD)
        )
        mirror = {"name": "registry", "url": url, "unsigned": True}
        (home / "config.yaml").write_text(yaml.safe_dump({"mirrors": [mirror]}))
        code, out, err = run("list", "--json")
        assert "access denied (HTTP 401)" in err and json.loads(out) == []
        monkeypatch.setenv("REGISTRY_PW", PASSWORD)
        mirror["auth"] = {"username": USER, "password_env": "REGISTRY_PW"}
        (home / "config.yaml").write_text(yaml.safe_dump({"mirrors": [mirror]}))
        code, out, err = run("list", "--json", "--all-targets")
        assert code == 0 and "access denied" not in err, err
        assert json.loads(out)  # the index was read with the credentials
        assert PASSWORD not in out + err
    finally:
        registry.stop()


def test_a_password_written_into_the_url_is_never_shown(
    signed_demo: DemoMirror, run: Run, home: Path
) -> None:
    with StaticServer(signed_demo.path, require_auth=BASIC) as server:
        url = server.url.replace("http://", f"http://{USER}:{PASSWORD}@")
        _configure(home, url)
        outputs = []
        code, out, err = run("keys", "trust", "--mirror", "private", "--yes")
        assert code == 0, err
        outputs.append(out + err)
        code, out, err = run("mirror", "list", "--json")
        outputs.append(out + err)
        assert json.loads(out)[0]["url"].startswith(f"http://{USER}:***@127.0.0.1")
        server.fault("v3/manifests/spec/*", status=404)
        code, out, err = run("install", "demo-tool", "--yes")
        assert code == 1 and "not found (HTTP 404)" in err
        outputs.append(out + err)
        assert all(PASSWORD not in text for text in outputs)
