"""Real servers for tests, on 127.0.0.1 with free ports, stopped by the tests that start them.

* :class:`StaticServer` serves a directory over HTTP with a request log, strong ETags,
  ``If-None-Match`` → 304, single ``Range`` requests → 206, and faults injected per path glob:
  ``status``, ``delay``, ``drop_after``, ``lie_length``, ``corrupt``.
* :class:`MotoS3` runs ``moto_server`` (a real S3 REST API) and uploads directory trees.
* :class:`DockerRegistry` runs Debian's ``docker-registry`` (CNCF distribution v2).
* :class:`RegistryProxy` sits in front of a registry, logs requests and can demand anonymous
  bearer tokens from its own ``/token`` realm, like ghcr.io or Docker Hub do.
* ``tests/support/ocicache.py`` fills a registry with a Spack-shaped OCI build cache.

Usage::

    with StaticServer(directory) as server:
        server.fault("build_cache/*.spack", drop_after=100)
        httpx.get(server.url + "/build_cache/index.json")
        assert server.requests[-1].status == 200
"""

from __future__ import annotations

import fnmatch
import hashlib
import http.client
import http.server
import json
import os
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.fixtures import FIXTURES as SHARED_FIXTURES

FIXTURES = SHARED_FIXTURES
V2_UNSIGNED = FIXTURES / "spack-upstream/mirrors/v2_layout/unsigned"
V2_SIGNED = FIXTURES / "spack-upstream/mirrors/v2_layout/signed"
V3_UNSIGNED = FIXTURES / "spack-generated-v3/unsigned"
V3_SIGNED = FIXTURES / "spack-generated-v3/signed"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(
    url: str, *, timeout: float = 20.0, proc: subprocess.Popen[bytes] | None = None
) -> None:
    """Poll ``url`` until it answers anything below 500; fail early if ``proc`` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"server process exited with {proc.returncode} before {url} answered"
            )
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


# --------------------------------------------------------------------------- request log


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it (``path`` includes the query string)."""

    method: str
    path: str
    status: int
    headers: dict[str, str]


@dataclass(frozen=True)
class Fault:
    """What to do wrong for matching paths.

    ``status``: answer with this status instead. ``delay``: sleep this long before the headers.
    ``drop_after``: send N body bytes then reset the connection. ``lie_length``: announce
    ``len + lie_length`` as Content-Length, send the true body, close. ``corrupt``: flip one
    byte. ``cut_half``: announce the full length, send half the body, close cleanly (an
    overloaded proxy). ``retry_after``: a ``Retry-After`` value sent with ``status``.
    ``trickle``: seconds between two body bytes (a server that crawls). ``times``: apply to
    this many requests only (None = forever); with ``per_path``, to that many per path.
    ``whole_only``: only requests for the whole file (no ``Range``), e.g. not a peek.
    ``redirect``: answer 302 with this Location. ``redirect_host``: answer 302 to this base
    URL + the path (a cache behind a CDN).
    """

    status: int | None = None
    delay: float = 0.0
    drop_after: int | None = None
    lie_length: int = 0
    corrupt: bool = False
    cut_half: bool = False
    retry_after: str | None = None
    trickle: float = 0.0
    times: int | None = None
    per_path: bool = False
    whole_only: bool = False
    redirect_host: str | None = None
    redirect: str | None = None


class _LoggingServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # clients hang up on purpose in fault tests; a traceback on stderr would only confuse
        pass


class _BaseServer:
    """Thread + request log shared by the static server and the registry proxy."""

    handler: type[http.server.BaseHTTPRequestHandler]

    def __init__(self, tls: Any = None) -> None:
        self._lock = threading.Lock()
        self._log: list[RequestRecord] = []
        self._httpd = _LoggingServer(("127.0.0.1", 0), self.handler)
        self._httpd.owner = self  # type: ignore[attr-defined]
        self.port = int(self._httpd.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        if tls is not None:  # an ssl.SSLContext: serve HTTPS
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
            self.url = f"https://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def requests(self) -> list[RequestRecord]:
        """A copy of the request log, oldest first."""
        with self._lock:
            return list(self._log)

    def reset_log(self) -> None:
        with self._lock:
            self._log.clear()

    def record(self, record: RequestRecord) -> None:
        with self._lock:
            self._log.append(record)

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> _BaseServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _reset_connection(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0), the way a crashed proxy or a cut cable looks."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    os.close(sock.detach())


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(start, end inclusive) of a single ``bytes=`` range, or None when unsatisfiable."""
    spec = header.strip().removeprefix("bytes=")
    first, _, last = spec.partition("-")
    if "," in spec:
        return None
    if not first:
        start, end = max(0, size - int(last)), size - 1
    else:
        start, end = int(first), (int(last) if last else size - 1)
    end = min(end, size - 1)
    return (start, end) if start <= end else None


class _StaticHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _LoggingServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def _serve(self, *, head: bool) -> None:
        owner: StaticServer = self.server.owner  # type: ignore[attr-defined]
        relpath = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
        with owner._lock:
            owner.arrivals.append(self.path)
        if owner.require_auth and self.headers.get("Authorization") != owner.require_auth:
            challenge = {"WWW-Authenticate": 'Basic realm="spackcache-test"'}
            self._send(401, b"credentials needed\n", head=head, extra=challenge)
            return
        fault = owner.take_fault(relpath, ranged="Range" in self.headers)
        self._respond(owner, relpath, fault, head=head)

    def _respond(self, owner: StaticServer, relpath: str, fault: Fault, *, head: bool) -> int:
        if fault.delay:
            time.sleep(fault.delay)
        if fault.redirect is not None:
            return self._send(302, b"", head=head, extra={"Location": fault.redirect})
        if fault.redirect_host is not None:
            location = {"Location": fault.redirect_host.rstrip("/") + "/" + relpath}
            return self._send(302, b"", head=head, extra=location)
        if fault.status is not None:
            extra = {"Retry-After": fault.retry_after} if fault.retry_after else None
            return self._send(fault.status, b"injected failure\n", head=head, extra=extra)
        path = (owner.root / relpath).resolve()
        if owner.root not in path.parents or not path.is_file():
            return self._send(404, b"not found\n", head=head)
        body = path.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        wanted = self.headers.get("If-None-Match")
        if wanted and etag in [t.strip().removeprefix("W/") for t in wanted.split(",")]:
            return self._send(304, b"", head=True, extra={"ETag": etag})
        status, extra = 200, {"ETag": etag, "Accept-Ranges": "bytes"}
        if self.headers.get("Range"):
            span = _parse_range(self.headers["Range"], len(body))
            if span is None:
                return self._send(
                    416, b"", head=head, extra={"Content-Range": f"bytes */{len(body)}"}
                )
            start, end = span
            extra["Content-Range"] = f"bytes {start}-{end}/{len(body)}"
            status, body = 206, body[start : end + 1]
        if fault.corrupt and body:
            middle = len(body) // 2
            body = body[:middle] + bytes([body[middle] ^ 0xFF]) + body[middle + 1 :]
        if fault.cut_half and not head:
            self._send_headers(status, len(body), extra, close=True)
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return status
        if fault.trickle and not head:
            self._send_headers(status, len(body), extra)
            for i in range(len(body)):
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
                time.sleep(fault.trickle)
            return status
        if fault.drop_after is not None:
            self._send_headers(status, len(body), extra)
            self.wfile.write(body[: fault.drop_after])
            self.wfile.flush()
            time.sleep(0.2)  # let the client read the bytes: a reset discards unread data
            self.close_connection = True
            _reset_connection(self.connection)
            return status
        if fault.lie_length:
            self._send_headers(status, len(body) + fault.lie_length, extra, close=True)
            self.wfile.write(body)
            self.close_connection = True
            return status
        return self._send(status, body, head=head, extra=extra)

    def _send_headers(
        self, status: int, length: int, extra: dict[str, str], *, close: bool = False
    ) -> None:
        # logged before any byte goes out, so a client that has its answer sees it in the log
        owner: StaticServer = self.server.owner  # type: ignore[attr-defined]
        owner.record(RequestRecord(self.command, self.path, status, dict(self.headers.items())))
        self.send_response(status)
        self.send_header("Content-Length", str(length))
        self.send_header("Content-Type", "application/octet-stream")
        for key, value in extra.items():
            self.send_header(key, value)
        if close:
            self.send_header("Connection", "close")
        self.end_headers()

    def _send(
        self, status: int, body: bytes, *, head: bool, extra: dict[str, str] | None = None
    ) -> int:
        self._send_headers(status, len(body), extra or {})
        if not head and status != 304:
            self.wfile.write(body)
        return status


class StaticServer(_BaseServer):
    """Serve ``root`` read-only on 127.0.0.1 (a context manager; ``stop()`` is idempotent)."""

    handler = _StaticHandler

    def __init__(
        self, root: str | os.PathLike[str], *, require_auth: str | None = None, tls: Any = None
    ) -> None:
        self.root = Path(root).resolve()
        #: the exact ``Authorization`` value every request must carry (else 401, Basic)
        self.require_auth = require_auth
        self._faults: dict[str, Fault] = {}
        self._left: dict[str, int | None] = {}
        self._left_per_path: dict[tuple[str, str], int] = {}
        #: every request's path as it arrives (the log records it when it is answered)
        self.arrivals: list[str] = []
        super().__init__(tls)

    def fault(self, pattern: str, **kwargs: Any) -> None:
        """Inject a :class:`Fault` for paths matching the glob ``pattern`` (relative to root)."""
        fault = Fault(**kwargs)
        with self._lock:
            self._faults[pattern] = fault
            self._left[pattern] = fault.times

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._left.clear()
            self._left_per_path.clear()

    def take_fault(self, relpath: str, *, ranged: bool = False) -> Fault:
        """The fault for this request (consuming one of its ``times``), or no fault."""
        with self._lock:
            for pattern, fault in self._faults.items():
                if not fnmatch.fnmatchcase(relpath, pattern) or (fault.whole_only and ranged):
                    continue
                left = self._left[pattern]
                if left is None:
                    return fault
                if fault.per_path:
                    key = (pattern, relpath)
                    left = self._left_per_path.setdefault(key, left)
                    if left > 0:
                        self._left_per_path[key] = left - 1
                        return fault
                    continue
                if left > 0:
                    self._left[pattern] = left - 1
                    return fault
        return Fault()

    def __enter__(self) -> StaticServer:
        return self

    def count(self, path: str, method: str = "GET") -> int:
        """How many ``method`` requests asked for ``path`` (leading ``/``, no query)."""
        return sum(1 for r in self.requests if r.method == method and r.path.split("?")[0] == path)


# --------------------------------------------------------------------------- subprocess servers


class _Process:
    """A server subprocess, stopped by its PID."""

    proc: subprocess.Popen[bytes] | None = None

    def _spawn(self, argv: list[str], log: Path) -> None:
        with log.open("wb") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def moto_server_path() -> str | None:
    """``moto_server`` next to this Python, else on PATH."""
    local = Path(sys.executable).parent / "moto_server"
    return str(local) if local.exists() else shutil.which("moto_server")


class MotoS3(_Process):
    """``moto_server`` on loopback: a real S3 REST API that anonymous path-style GETs can read."""

    def __init__(self, workdir: Path) -> None:
        binary = moto_server_path()
        if binary is None:
            raise FileNotFoundError("moto_server not found (pip install 'moto[server]')")
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._spawn([binary, "-H", "127.0.0.1", "-p", str(self.port)], workdir / "moto.log")
        try:
            wait_until_up(self.endpoint + "/", proc=self.proc)
        except BaseException:
            self.stop()
            raise

    def client(self) -> Any:
        import boto3  # type: ignore[import-untyped]

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def upload_tree(
        self,
        directory: str | os.PathLike[str],
        bucket: str,
        prefix: str = "",
        *,
        public: bool = True,
    ) -> str:
        """Create ``bucket`` (if needed), upload every file under ``directory`` below ``prefix``
        as public-read objects (what anonymous readers of a public mirror see), and return the
        ``s3://bucket/prefix`` mirror URL."""
        s3 = self.client()
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        if bucket not in existing:
            s3.create_bucket(Bucket=bucket)
        root = Path(directory)
        for path in sorted(root.rglob("*")):
            if path.is_file():
                key = "/".join(
                    p for p in (prefix.strip("/"), path.relative_to(root).as_posix()) if p
                )
                acl = {"ACL": "public-read"} if public else {}
                s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(), **acl)
        return f"s3://{bucket}/{prefix.strip('/')}".rstrip("/")


def registry_binary() -> str | None:
    return shutil.which("docker-registry")


class DockerRegistry(_Process):
    """Debian's ``docker-registry serve`` on loopback with its own temporary storage."""

    def __init__(self, workdir: Path, *, htpasswd: tuple[str, str] | None = None) -> None:
        """``htpasswd``: (user, password) the registry demands with HTTP basic auth."""
        binary = registry_binary()
        if binary is None:
            raise FileNotFoundError("docker-registry not found (apt-get install docker-registry)")
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.http_url = f"http://{self.host}"
        storage = workdir / "registry-storage"
        storage.mkdir(parents=True, exist_ok=True)
        config = workdir / "registry.yml"
        config.write_text(
            "version: 0.1\n"
            "log: {level: error, accesslog: {disabled: true}}\n"
            "storage:\n"
            f"  filesystem: {{rootdirectory: {storage}}}\n"
            "  delete: {enabled: false}\n"
            f"http:\n  addr: {self.host}\n"
        )
        if htpasswd is not None:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                import crypt  # bcrypt through libxcrypt: the only hash the registry takes

                hashed = crypt.crypt(htpasswd[1], crypt.mksalt(crypt.METHOD_BLOWFISH))
            (workdir / "htpasswd").write_text(f"{htpasswd[0]}:{hashed}\n")
            with config.open("a") as out:
                out.write(
                    "auth:\n  htpasswd:\n    realm: spackcache-test\n"
                    f"    path: {workdir / 'htpasswd'}\n"
                )
        self._spawn([binary, "serve", str(config)], workdir / "registry.log")
        try:
            wait_until_up(self.http_url + "/v2/", proc=self.proc)
        except BaseException:
            self.stop()
            raise

    def repo_url(self, repo: str) -> str:
        """The mirror URL of repository ``repo`` (``oci+http://127.0.0.1:PORT/repo``)."""
        return f"oci+http://{self.host}/{repo}"


# --------------------------------------------------------------------------- registry proxy

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "trailer"}


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _LoggingServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = do_GET

    def _handle(self) -> None:
        owner: RegistryProxy = self.server.owner  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        failure = owner.take_failure(self.path)
        if failure is not None:
            status, headers, payload = failure, {"Retry-After": "0"}, b'{"errors":[]}'
        elif self.path.startswith("/token"):
            status, headers, payload = owner.issue_token(
                self.path, self.headers.get("Authorization")
            )
        else:
            denied = owner.challenge(self.command, self.path, self.headers.get("Authorization"))
            if denied is not None:
                status, headers, payload = 401, {"WWW-Authenticate": denied}, b'{"errors":[]}'
            else:
                status, headers, payload = owner.forward(
                    self.command, self.path, self.headers, body
                )
        owner.record(RequestRecord(self.command, self.path, status, dict(self.headers.items())))
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


class RegistryProxy(_BaseServer):
    """A logging reverse proxy in front of a registry; optionally demands bearer tokens.

    With ``require_token=True`` every ``/v2/<repo>/...`` request without a valid token for
    the needed scope gets ``401`` and ``WWW-Authenticate: Bearer realm=<proxy>/token,...``;
    ``GET /token?service=..&scope=..`` hands out anonymous tokens (counted in ``tokens_issued``)
    unless ``grant_tokens`` is False. ``tags_page_size`` makes the proxy paginate tag lists
    with ``Link`` headers, as large registries do (the Debian registry 2.8 never paginates).
    """

    handler = _ProxyHandler
    service = "spackcache-test-registry"

    def __init__(
        self, upstream: str, *, require_token: bool = False, tags_page_size: int | None = None
    ) -> None:
        self.upstream = urllib.parse.urlsplit(upstream)
        self.require_token = require_token
        self.grant_tokens = True
        #: the ``Authorization`` the token service demands (None: anonymous tokens)
        self.token_auth: str | None = None
        self.tags_page_size = tags_page_size
        self.tokens: dict[str, set[str]] = {}
        self.tokens_issued = 0
        #: (path fragment, status): the first request of each path containing it fails so
        self.fail_first: list[tuple[str, int]] = []
        self._failed: set[str] = set()
        super().__init__()

    def take_failure(self, path: str) -> int | None:
        """The status to fail ``path`` with, once per path and fragment (see fail_first)."""
        with self._lock:
            for fragment, status in self.fail_first:
                key = f"{fragment} {path.split('?')[0]}"
                if fragment in path and key not in self._failed:
                    self._failed.add(key)
                    return status
        return None

    def __enter__(self) -> RegistryProxy:
        return self

    def repo_url(self, repo: str) -> str:
        """The mirror URL of repository ``repo`` through this proxy."""
        return f"oci+http://127.0.0.1:{self.port}/{repo}"

    @staticmethod
    def _scope_for(method: str, path: str) -> str | None:
        parts = urllib.parse.urlsplit(path).path.split("/")
        for marker in ("manifests", "blobs", "tags"):
            if marker in parts[2:]:
                repo = "/".join(parts[2 : parts.index(marker, 2)])
                action = "pull" if method in ("GET", "HEAD") else "pull,push"
                return f"repository:{repo}:{action}"
        return None

    def challenge(self, method: str, path: str, authorization: str | None) -> str | None:
        """None if the request may pass, else the WWW-Authenticate value to answer with."""
        if not self.require_token:
            return None
        scope = self._scope_for(method, path)
        token = (authorization or "").removeprefix("Bearer ").strip()
        granted = self.tokens.get(token)
        needed = set(scope.rsplit(":", 1)[1].split(",")) if scope else set()
        if granted is not None and needed <= granted:
            return None
        value = f'Bearer realm="{self.url}/token",service="{self.service}"'
        return value + (f',scope="{scope}"' if scope else "")

    def issue_token(
        self, path: str, authorization: str | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        if not self.grant_tokens or (
            self.token_auth is not None and authorization != self.token_auth
        ):
            return 401, {}, b'{"errors":[{"code":"DENIED"}]}'
        if query.get("service") != [self.service]:
            return 400, {}, b'{"error":"wrong service"}'
        actions: set[str] = set()
        for scope in query.get("scope", []):
            actions.update(scope.rsplit(":", 1)[-1].split(","))
        token = secrets.token_hex(16)
        with self._lock:
            self.tokens[token] = actions
            self.tokens_issued += 1
        payload = json.dumps({"token": token, "expires_in": 300}).encode()
        return 200, {"Content-Type": "application/json"}, payload

    def forward(
        self, method: str, path: str, headers: Any, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urllib.parse.urlsplit(path)
        if self.tags_page_size and method == "GET" and parts.path.endswith("/tags/list"):
            status, upstream_headers, payload = self._forward(method, parts.path, headers, body)
            if status != 200:
                return status, upstream_headers, payload
            return self._tags_page(parts, json.loads(payload))
        return self._forward(method, path, headers, body)

    def _tags_page(
        self, parts: urllib.parse.SplitResult, listing: dict[str, Any]
    ) -> tuple[int, dict[str, str], bytes]:
        assert self.tags_page_size
        query = urllib.parse.parse_qs(parts.query)
        size = min(int(query.get("n", [self.tags_page_size])[0]), self.tags_page_size)
        last = query.get("last", [""])[0]
        remaining = [t for t in sorted(listing.get("tags") or []) if t > last]
        page = remaining[:size]
        headers = {"Content-Type": "application/json"}
        if len(remaining) > size:
            next_query = urllib.parse.urlencode({"n": size, "last": page[-1]})
            headers["Link"] = f'<{parts.path}?{next_query}>; rel="next"'
        return 200, headers, json.dumps({"name": listing.get("name"), "tags": page}).encode()

    def _forward(
        self, method: str, path: str, headers: Any, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(self.upstream.netloc, timeout=30)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            # Host stays ours: the registry builds upload Locations from it
            for key, value in headers.items():
                if key.lower() not in _HOP_BY_HOP | {"authorization", "content-length"}:
                    conn.putheader(key, value)
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            payload = response.read()
            return response.status, dict(response.getheaders()), payload
        finally:
            conn.close()


def site_ca(workdir: Path) -> tuple[Path, Path, Path]:
    """A site CA and a server certificate for 127.0.0.1 signed by it, made with openssl:
    (CA certificate, server certificate, server key), PEM files in ``workdir``."""
    ca_key, ca, key, csr, cert = (
        workdir / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem")
    )
    ext = workdir / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    openssl = ["openssl"]
    steps = [
        [*openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key),
         "-out", str(ca), "-days", "2", "-subj", "/CN=spackcache test site CA"],
        [*openssl, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
         str(csr), "-subj", "/CN=127.0.0.1"],
        [*openssl, "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
         "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext)],
    ]  # fmt: skip
    for step in steps:
        subprocess.run(step, check=True, capture_output=True)
    return ca, cert, key


def temp_workdir(prefix: str) -> Path:
    """A short temporary directory (socket paths and configs stay readable)."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


__all__ = [
    "FIXTURES",
    "V2_SIGNED",
    "V2_UNSIGNED",
    "V3_SIGNED",
    "V3_UNSIGNED",
    "DockerRegistry",
    "Fault",
    "MotoS3",
    "RegistryProxy",
    "RequestRecord",
    "StaticServer",
    "free_port",
    "wait_until_up",
]
