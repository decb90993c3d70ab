"""Reading bytes from a mirror root, whatever its URL scheme.

A :class:`Transport` knows nothing about build-cache layouts: it turns a path relative to the
mirror root into bytes, and every failure into one :class:`~jupyter_spackcache.errors.MirrorError`
line that names the URL. Layout readers (v2, v3) sit on top of it.

URL building (:func:`join_url`, :func:`http_root`) and ranged reads (:func:`range_headers`,
:func:`read_head_via`) are pure or take their client, so that the OCI client and the async
downloader reuse them; the error mapping lives in :mod:`.failures`.
"""

from __future__ import annotations

import functools
import os
import ssl
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import httpx

from jupyter_spackcache.errors import MirrorError, NotFoundError
from jupyter_spackcache.mirrors.auth import Credentials, httpx_auth
from jupyter_spackcache.mirrors.base import TarballRequest
from jupyter_spackcache.mirrors.failures import (
    HINT_URL,
    body_error,
    exception_error,
    failed_request,
    failed_status,
    short_body_error,
    status_error,
    too_large_error,
)
from jupyter_spackcache.mirrors.redirects import hooks
from jupyter_spackcache.mirrors.retry import (
    Pace,
    Retrier,
    Transient,
    retrier_for,
)
from jupyter_spackcache.mirrors.s3auth import S3Credentials, httpx_s3_auth
from jupyter_spackcache.netconfig import redact_url

#: used for ``s3://`` URLs when neither an argument nor the environment names an endpoint
DEFAULT_S3_ENDPOINT = "https://s3.amazonaws.com"
#: environment variables consulted, in order, for an S3-compatible endpoint
S3_ENDPOINT_ENV = ("SPACKCACHE_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL")

# characters RFC 3986 allows unescaped in a path segment, plus the separator
_PATH_SAFE = "/!$&'()*+,;=:@-._~"


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One fetched file. ``not_modified`` means the given ETag still matches; ``data`` is empty."""

    data: bytes
    etag: str | None
    not_modified: bool
    url: str


class Transport(Protocol):
    """Read-only access to the files under one mirror root."""

    #: mirror root as configured
    url: str

    def fetch(
        self,
        relpath: str,
        *,
        etag: str | None = None,
        max_bytes: int | None = None,
        kind: str = "metadata",
    ) -> FetchResult:
        """The whole file; raises NotFoundError if absent, MirrorError on any other failure.

        ``kind`` names the request in the retry counts (index, metadata, key...).
        """
        ...

    def exists(self, relpath: str) -> bool:
        """Whether the file exists (a cheap probe: HEAD or stat)."""
        ...

    def iter_bytes(
        self, relpath: str, *, offset: int = 0, chunk_size: int = 1 << 20
    ) -> Iterator[bytes]:
        """Stream the stored bytes from ``offset`` on, for tarballs and resumed downloads.

        Not retried: after a failure the caller resumes with ``offset`` = bytes it kept.
        Over HTTP the request is made, and errors are raised, on the first iteration.
        """
        ...

    def describe(self, relpath: str) -> TarballRequest:
        """How to download the file (pure: nothing is sent)."""
        ...

    def read_head(self, relpath: str, length: int) -> bytes:
        """At most the first ``length`` stored bytes of the file."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


# --------------------------------------------------------------------------- pure helpers


def check_relpath(relpath: str) -> str:
    """Return ``relpath`` normalised, or raise if it could leave the mirror root.

    Mirror metadata comes from the network, so a path such as ``../../etc/passwd`` or
    ``/etc/passwd`` must never be followed.
    """
    if not relpath or relpath.startswith(("/", "\\")) or "://" in relpath or "\x00" in relpath:
        raise MirrorError(f"refusing mirror path {relpath!r}: not a relative path")
    parts = [p for p in relpath.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise MirrorError(f"refusing mirror path {relpath!r}: it leaves the mirror root")
    return "/".join(parts)


def join_url(root: str, relpath: str) -> str:
    """``root`` + ``/`` + the checked, percent-quoted ``relpath`` (plain paths stay plain)."""
    rel = check_relpath(relpath)
    if "://" not in root:
        return os.path.join(root, rel)
    return root.rstrip("/") + "/" + urllib.parse.quote(rel, safe=_PATH_SAFE)


def s3_endpoint(explicit: str | None = None) -> str:
    """The S3 endpoint to use: the argument, else the environment, else AWS."""
    if explicit:
        return explicit.rstrip("/")
    for name in S3_ENDPOINT_ENV:
        value = os.environ.get(name)
        if value:
            return value.rstrip("/")
    return DEFAULT_S3_ENDPOINT


def http_root(url: str, *, s3_endpoint_url: str | None = None) -> str:
    """The ``http(s)://`` root that serves ``url``.

    ``s3://bucket/prefix`` becomes path-style ``<endpoint>/bucket/prefix``, which is how a
    public bucket (or moto) answers anonymous GETs.
    """
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme in ("http", "https"):
        return url.rstrip("/")
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise MirrorError(
                f"cannot read {url}: no bucket name", hint="write it as s3://BUCKET/PREFIX"
            )
        base = f"{s3_endpoint(s3_endpoint_url)}/{parsed.netloc}"
        prefix = parsed.path.strip("/")
        return f"{base}/{prefix}" if prefix else base
    raise MirrorError(f"cannot read {url} over HTTP: unsupported scheme {parsed.scheme!r}")


def file_root(url: str) -> Path:
    """The local directory of a ``file://`` URL or a plain path."""
    if url.startswith("file://"):
        parsed = urllib.parse.urlsplit(url)
        if parsed.netloc not in ("", "localhost"):
            raise MirrorError(f"cannot read {url}: file URLs must name a local path")
        from urllib.request import url2pathname  # only here: it imports http.client, email

        return Path(url2pathname(parsed.path))
    return Path(url)


def range_headers(offset: int, end: int | None = None) -> dict[str, str]:
    """Headers asking for the stored bytes from ``offset`` (to ``end`` inclusive).

    ``identity``: a tarball's checksum is over the stored bytes, and ranges count them.
    """
    headers = {"Accept-Encoding": "identity"}
    if offset or end is not None:
        headers["Range"] = f"bytes={offset}-{'' if end is None else end}"
    return headers


def ranged_skip(status: int, offset: int) -> int:
    """Bytes to drop from a body asked from ``offset``: all of them if the server ignored the
    ``Range`` (200), none if it honoured it (206)."""
    return offset if status == 200 else 0


def read_head_via(
    retrier: Retrier,
    shown: str,
    length: int,
    send: Callable[[dict[str, str]], httpx.Response],
    *,
    s3: bool = False,
    timeout: float | None = None,
) -> bytes:
    """At most the first ``length`` stored bytes of a file, by ``Range`` requests.

    ``send(headers)`` makes one streaming GET. A dropped connection resumes from the bytes
    that arrived; a server that ignores ``Range`` (200) is cut off after ``length``.
    """
    data = bytearray()

    def once() -> bytes:
        pace = Pace(retrier.policy)
        try:
            response = send(range_headers(len(data), length - 1))
            try:
                if response.status_code not in (200, 206):
                    raise failed_status(shown, response, s3=s3)
                if response.status_code == 200:
                    data.clear()
                for chunk in response.iter_raw():
                    if pace.slow(len(chunk)):
                        raise Transient(pace.error(shown))
                    data.extend(chunk)
                    if len(data) >= length:
                        break
            finally:
                response.close()
        except httpx.HTTPError as exc:
            raise failed_request(shown, exc, timeout=timeout) from None
        return bytes(data[:length])

    return retrier.call("peek", once)


# --------------------------------------------------------------------------- file transport


class FileTransport:
    """A mirror on a local or mounted file system (``file://`` URL or plain path)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.root = file_root(url)

    def _path(self, relpath: str) -> Path:
        return self.root / check_relpath(relpath)

    def _where(self, relpath: str) -> str:
        return join_url(self.url, relpath)

    def fetch(
        self,
        relpath: str,
        *,
        etag: str | None = None,
        max_bytes: int | None = None,
        kind: str = "metadata",
    ) -> FetchResult:
        path, where = self._path(relpath), self._where(relpath)
        try:
            st = path.stat()
            current = _file_etag(st)
            if etag is not None and etag == current:
                return FetchResult(b"", current, True, where)
            if max_bytes is not None and st.st_size > max_bytes:
                raise too_large_error(where, max_bytes)
            data = path.read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"{where} not found", hint=HINT_URL) from None
        except IsADirectoryError:
            raise MirrorError(f"{where} is a directory, not a file", hint=HINT_URL) from None
        except OSError as exc:
            raise MirrorError(f"{where}: cannot read ({exc.strerror or exc})") from None
        if max_bytes is not None and len(data) > max_bytes:
            raise too_large_error(where, max_bytes)
        return FetchResult(data, current, False, where)

    def exists(self, relpath: str) -> bool:
        return self._path(relpath).is_file()

    def iter_bytes(
        self, relpath: str, *, offset: int = 0, chunk_size: int = 1 << 20
    ) -> Iterator[bytes]:
        path, where = self._path(relpath), self._where(relpath)
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            raise NotFoundError(f"{where} not found", hint=HINT_URL) from None
        except OSError as exc:
            raise MirrorError(f"{where}: cannot read ({exc.strerror or exc})") from None
        return _iter_file(handle, offset, chunk_size)

    def describe(self, relpath: str) -> TarballRequest:
        return TarballRequest(shown=self._where(relpath))

    def read_head(self, relpath: str, length: int) -> bytes:
        chunks = self.iter_bytes(relpath, chunk_size=length)
        try:
            return next(iter(chunks), b"")[:length]
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    def close(self) -> None:
        pass


def _file_etag(st: os.stat_result) -> str:
    # size + mtime is what static web servers use; enough to skip re-reading an index
    return f'"{st.st_size:x}-{st.st_mtime_ns:x}"'


def _iter_file(handle: BinaryIO, offset: int, chunk_size: int) -> Iterator[bytes]:
    with handle:
        handle.seek(offset)
        while chunk := handle.read(chunk_size):
            yield chunk


# --------------------------------------------------------------------------- http transport


def tls_context(ca_bundle: str | None = None) -> ssl.SSLContext:
    """The TLS context for a mirror: its own ``ca_bundle`` (a site CA), else httpx's default
    (``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set, else certifi's bundle).

    Built once per process and setting: building one costs ~20 ms, and an install opens
    several clients.
    """
    env = os.environ
    return _tls_context(ca_bundle, env.get("SSL_CERT_FILE"), env.get("SSL_CERT_DIR"))


@functools.cache
def _tls_context(
    ca_bundle: str | None, cert_file: str | None, cert_dir: str | None
) -> ssl.SSLContext:
    if ca_bundle is None:
        return httpx.create_ssl_context()
    try:
        return ssl.create_default_context(cafile=os.path.expanduser(ca_bundle))
    except (OSError, ssl.SSLError) as exc:
        raise MirrorError(
            f"cannot use the CA bundle {ca_bundle}: {getattr(exc, 'strerror', None) or exc}",
            hint="set the mirror's `ca_bundle` to a readable PEM file of CA certificates",
        ) from None


class HttpTransport:
    """A mirror served over HTTP(S), including S3 buckets read anonymously (path style).

    One ``httpx.Client`` per transport keeps connections alive across the many small
    requests an index refresh or a spec lookup makes. Every request goes through the
    transport's :class:`~.retry.Retrier`.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 30.0,
        retries: int | None = None,
        s3_endpoint_url: str | None = None,
        client: httpx.Client | None = None,
        retrier: Retrier | None = None,
        credentials: Credentials | None = None,
        ca_bundle: str | None = None,
        s3_credentials: S3Credentials | None = None,
    ) -> None:
        self.url = url
        self._shown_root = redact_url(url)
        self.ca_bundle = ca_bundle
        #: a private bucket: every request signed (SigV4), tarballs streamed by this client
        self.signed_s3 = s3_credentials is not None and url.startswith("s3://")
        self.root = http_root(url, s3_endpoint_url=s3_endpoint_url)
        self.s3 = url.startswith("s3://")
        self.retrier = retrier or retrier_for(retries, timeout=timeout)
        self.timeout = self.retrier.policy.timeout
        self._credentials = credentials
        self._client = client or httpx.Client(
            timeout=self.timeout,
            follow_redirects=True,
            verify=tls_context(ca_bundle),
            auth=httpx_s3_auth(s3_credentials)
            if s3_credentials is not None and self.signed_s3
            else httpx_auth(credentials),
            event_hooks=hooks(),
        )

    def urls(self, relpath: str) -> tuple[str, str]:
        """(URL to request, URL to show the user: the one configured, e.g. ``s3://``, with
        any password written into it hidden)."""
        return join_url(self.root, relpath), join_url(self._shown_root, relpath)

    def fetch(
        self,
        relpath: str,
        *,
        etag: str | None = None,
        max_bytes: int | None = None,
        kind: str = "metadata",
    ) -> FetchResult:
        target, shown = self.urls(relpath)
        headers = {"If-None-Match": etag} if etag else {}
        partial = _Partial()
        return self.retrier.call(
            kind, lambda: self._fetch_once(target, shown, headers, max_bytes, partial)
        )

    def _fetch_once(
        self,
        target: str,
        shown: str,
        headers: dict[str, str],
        max_bytes: int | None,
        partial: _Partial,
    ) -> FetchResult:
        """One attempt; continues ``partial`` with ``Range``/``If-Range`` when an earlier
        attempt was cut after some bytes of an unencoded body with a strong ETag."""
        resuming = bool(partial.data) and partial.etag is not None
        send = dict(headers)
        if resuming:
            assert partial.etag is not None
            send.pop("If-None-Match", None)
            send.update(range_headers(len(partial.data)))
            send["If-Range"] = partial.etag
        try:
            with self._client.stream("GET", target, headers=send) as response:
                status = response.status_code
                if status == 304 and not resuming:
                    return FetchResult(b"", response.headers.get("etag"), True, shown)
                if status == 416 and resuming:
                    partial.restart()
                    raise Transient(status_error(shown, status, s3=self.s3))
                if status not in (200, 206) or (status == 206 and not resuming):
                    raise failed_status(shown, response, s3=self.s3)
                if status == 200:
                    partial.restart(response)
                announced = content_length(response)
                total = None if announced is None else announced + len(partial.data)
                if max_bytes is not None and total is not None and total > max_bytes:
                    raise too_large_error(shown, max_bytes)
                pace = Pace(self.retrier.policy)
                _read_body(response, shown, announced, max_bytes, pace, partial.data)
                etag = response.headers.get("etag") or partial.etag
                return FetchResult(bytes(partial.data), etag, False, shown)
        except httpx.HTTPError as exc:
            raise failed_request(shown, exc, timeout=self.timeout) from None

    def exists(self, relpath: str) -> bool:
        target, shown = self.urls(relpath)
        return self.retrier.call("probe", lambda: self._exists_once(target, shown))

    def _exists_once(self, target: str, shown: str) -> bool:
        try:
            response = self._client.head(target)
        except httpx.HTTPError as exc:
            raise failed_request(shown, exc, timeout=self.timeout) from None
        if response.status_code == 200:
            return True
        if response.status_code == 404 or (response.status_code == 403 and self.s3):
            return False
        raise failed_status(shown, response, s3=self.s3)

    def iter_bytes(
        self, relpath: str, *, offset: int = 0, chunk_size: int = 1 << 20
    ) -> Iterator[bytes]:
        target, shown = self.urls(relpath)
        return self._iter(target, shown, offset, chunk_size)

    def describe(self, relpath: str) -> TarballRequest:
        target, shown = self.urls(relpath)
        if self.signed_s3:  # signatures are made when sent: stream with open_tarball
            return TarballRequest(shown=shown)
        creds = self._credentials
        headers = (("Authorization", creds.header),) if creds is not None else ()
        return TarballRequest(
            shown=shown,
            url=target,
            headers=headers,
            s3=self.s3,
            timeout=self.timeout,
            ca_bundle=self.ca_bundle,
        )

    def read_head(self, relpath: str, length: int) -> bytes:
        """At most the first ``length`` stored bytes of a file: a ``Range`` request on the
        shared connections, retried and resumed like any other (see :func:`read_head_via`)."""
        target, shown = self.urls(relpath)

        def send(headers: dict[str, str]) -> httpx.Response:
            request = self._client.build_request("GET", target, headers=headers)
            return self._client.send(request, stream=True)

        return read_head_via(self.retrier, shown, length, send, s3=self.s3, timeout=self.timeout)

    def _iter(self, target: str, shown: str, offset: int, chunk_size: int) -> Iterator[bytes]:
        headers = range_headers(offset)
        try:
            with self._client.stream("GET", target, headers=headers) as response:
                if response.status_code not in (200, 206):
                    raise status_error(shown, response.status_code, s3=self.s3)
                skip = ranged_skip(response.status_code, offset)
                announced = content_length(response)
                try:
                    for chunk in response.iter_raw(chunk_size):
                        if skip:
                            cut = min(skip, len(chunk))
                            chunk, skip = chunk[cut:], skip - cut
                        if chunk:
                            yield chunk
                except httpx.HTTPError as exc:
                    received = response.num_bytes_downloaded
                    raise body_error(shown, exc, received, announced, self.timeout) from None
        except httpx.HTTPError as exc:
            raise exception_error(shown, exc, timeout=self.timeout) from None

    def close(self) -> None:
        self._client.close()


def content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length")
    if value is None or response.headers.get("content-encoding"):
        return None  # compressed bodies are counted after decoding; no comparison possible
    try:
        return int(value)
    except ValueError:
        return None


class _Partial:
    """What the attempts of one fetch received so far, and whether it may be continued."""

    __slots__ = ("data", "etag")

    def __init__(self) -> None:
        self.data = bytearray()
        #: the strong ETag of an unencoded body: the condition for resuming it with If-Range
        self.etag: str | None = None

    def restart(self, response: httpx.Response | None = None) -> None:
        self.data.clear()
        etag = response.headers.get("etag") if response is not None else None
        encoded = response is not None and response.headers.get("content-encoding")
        self.etag = etag if etag and not etag.startswith("W/") and not encoded else None


def _read_body(
    response: httpx.Response,
    shown: str,
    announced: int | None,
    max_bytes: int | None,
    pace: Pace,
    into: bytearray,
) -> None:
    """Append the body to ``into``; what arrived before a failure stays there."""
    try:
        for chunk in response.iter_bytes():
            if pace.slow(len(chunk)):
                raise Transient(pace.error(shown))
            # decoded bytes: the limit guards memory, whatever the transfer encoding
            if max_bytes is not None and len(into) + len(chunk) > max_bytes:
                raise too_large_error(shown, max_bytes)
            into.extend(chunk)
    except httpx.HTTPError as exc:
        received = response.num_bytes_downloaded
        timeout = pace.window
        error = body_error(shown, exc, received, announced, timeout)
        raise failed_request(shown, exc, timeout=timeout, error=error) from None
    received = response.num_bytes_downloaded
    if announced is not None and received != announced:
        # h11 normally reports a short body itself; this guards other code paths
        raise Transient(short_body_error(shown, received, announced, dropped=False))


# --------------------------------------------------------------------------- factory


def open_transport(
    url: str,
    *,
    timeout: float = 30.0,
    s3_endpoint: str | None = None,
    retries: int | None = None,
    retrier: Retrier | None = None,
    credentials: Credentials | None = None,
    ca_bundle: str | None = None,
    s3_credentials: S3Credentials | None = None,
) -> Transport:
    """The transport for a mirror URL: ``file://`` or a path, ``http(s)://``, ``s3://``."""
    scheme = urllib.parse.urlsplit(url).scheme if "://" in url else ""
    if scheme in ("", "file"):
        return FileTransport(url)
    if scheme in ("http", "https", "s3"):
        return HttpTransport(
            url,
            timeout=timeout,
            retries=retries,
            s3_endpoint_url=s3_endpoint,
            retrier=retrier,
            credentials=credentials,
            ca_bundle=ca_bundle,
            s3_credentials=s3_credentials,
        )
    if scheme in ("oci", "oci+http"):
        raise MirrorError(
            f"{url} is an OCI registry, not a file mirror",
            hint="OCI mirrors are read by the OCI reader",
        )
    raise MirrorError(
        f"cannot read mirror {url}: unsupported URL scheme {scheme!r}",
        hint="use file://, http://, https://, s3:// or oci://",
    )
