"""Every network failure as one line that names the URL, and whether to try again.

A status or an exception from httpx becomes a :class:`~jupyter_spackcache.errors.MirrorError`
whose message says what happened in words (connection refused, timed out after 30 s, access
denied) and whose hint says what to do. :func:`failed_status` and :func:`failed_request` also
decide, through :mod:`.retry`, whether the failure is transient: then they raise
:class:`~.retry.Transient` for the caller's retrier. Pure functions, shared by the blocking
transports, the OCI client and the async downloader.
"""

from __future__ import annotations

import errno
import socket
import ssl
import urllib.parse
from collections.abc import Iterator

import httpx

from jupyter_spackcache.errors import MirrorError, NotFoundError
from jupyter_spackcache.mirrors.retry import (
    Transient,
    parse_retry_after,
    transient_exception,
    transient_status,
)

HINT_URL = "check the mirror URL with `spackcache mirror list`"
HINT_LATER = "the server may be busy or restarting; retry later"
HINT_NETWORK = "check the host name in the mirror URL (`spackcache mirror list`) and your network"
HINT_REFUSED = "is the server running? check the host and port with `spackcache mirror list`"


def status_error(url: str, status: int, *, s3: bool = False) -> MirrorError:
    """The error for an HTTP status that is not a success.

    A public S3 bucket answers 403 (not 404) for a missing key when listing is not public,
    so for ``s3`` a 403 means "not found" too.
    """
    if status == 404:
        return NotFoundError(f"{url} not found (HTTP 404)", hint=HINT_URL)
    if status == 403 and s3:
        return NotFoundError(f"{url} not found or not public (HTTP 403)", hint=HINT_URL)
    if status in (401, 403):
        return MirrorError(
            f"{url}: access denied (HTTP {status})",
            hint="the mirror is not public: give credentials with the mirror's `auth` setting "
            "or ~/.netrc (see docs/admin-guide.md#private-mirrors), and check the URL",
        )
    if status >= 500:
        return MirrorError(f"{url}: server error (HTTP {status})", hint=HINT_LATER)
    return MirrorError(f"{url}: unexpected HTTP {status}", hint=HINT_URL)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def exception_error(url: str, exc: BaseException, *, timeout: float | None = None) -> MirrorError:
    """The one-line error for a network exception (never its traceback or repr)."""
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return MirrorError(
                f"{url}: the server's certificate is not trusted "
                f"({cause.verify_message or cause.reason})",
                hint="if the site has its own CA, set the mirror's `ca_bundle` or SSL_CERT_FILE "
                "(docs/admin-guide.md#site-ca)",
            )
        if isinstance(cause, socket.gaierror):
            host = urllib.parse.urlsplit(url).hostname or url
            return MirrorError(
                f"{url}: could not resolve host {host!r} (DNS lookup failed)", hint=HINT_NETWORK
            )
        if isinstance(cause, ConnectionRefusedError) or (
            isinstance(cause, OSError) and cause.errno == errno.ECONNREFUSED
        ):
            return MirrorError(f"{url}: connection refused", hint=HINT_REFUSED)
    if isinstance(exc, httpx.TimeoutException):
        after = f" after {timeout:g} s" if timeout is not None else ""
        return MirrorError(f"{url}: timed out{after}", hint=HINT_LATER)
    if isinstance(exc, httpx.ConnectError):
        return MirrorError(f"{url}: cannot connect ({_reason(exc)})", hint=HINT_REFUSED)
    if isinstance(exc, (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError)):
        return MirrorError(f"{url}: connection dropped ({_reason(exc)})", hint=HINT_LATER)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return MirrorError(f"{url}: unsupported URL", hint=HINT_URL)
    return MirrorError(f"{url}: {type(exc).__name__}: {_reason(exc)}", hint=HINT_LATER)


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def short_body_error(url: str, received: int, announced: int, *, dropped: bool) -> MirrorError:
    """A body that ended before its Content-Length.

    ``dropped`` tells a reset connection apart from a server that closed cleanly after
    sending less than it promised.
    """
    if dropped:
        msg = f"{url}: connection dropped after {received} of {announced} bytes"
    else:
        msg = f"{url}: server sent {received} bytes but announced {announced}"
    return MirrorError(msg, hint=HINT_LATER)


def too_large_error(url: str, limit: int) -> MirrorError:
    return MirrorError(
        f"{url}: larger than the limit of {limit} bytes",
        hint="the mirror serves an unexpectedly large file; check the URL with "
        "`spackcache mirror list`",
    )


def body_error(
    shown: str, exc: httpx.HTTPError, received: int, announced: int | None, timeout: float | None
) -> MirrorError:
    """Map a failure *while reading the body*: a clean early close or a reset connection."""
    if announced is not None and isinstance(exc, httpx.RemoteProtocolError):
        return short_body_error(shown, received, announced, dropped=False)
    if announced is not None and isinstance(exc, httpx.ReadError):
        return short_body_error(shown, received, announced, dropped=True)
    return exception_error(shown, exc, timeout=timeout)


def failed_status(shown: str, response: httpx.Response, *, s3: bool = False) -> MirrorError:
    """The error for a non-success response: :class:`Transient` (raised by the caller) when
    another attempt may succeed, else the permanent error."""
    error = status_error(shown, response.status_code, s3=s3)
    if transient_status(response.status_code):
        after = parse_retry_after(response.headers.get("retry-after"))
        raise Transient(error, retry_after=after)
    return error


def failed_request(
    shown: str, exc: httpx.HTTPError, *, timeout: float | None, error: MirrorError | None = None
) -> MirrorError:
    """Raise :class:`Transient` for a failure worth retrying, else return the error."""
    mapped = error or exception_error(shown, exc, timeout=timeout)
    if transient_exception(exc):
        raise Transient(mapped) from None
    return mapped
