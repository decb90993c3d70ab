"""An httpx transport for big bodies: its connections read the socket 256 KiB at a time.

httpcore asks its network stream for 64 KiB per read, and every read is one trip through
anyio, h11 and httpx's stream wrappers before the bytes reach the download loop: thousands
of trips per stack, a good part of the download thread's CPU time (BENCHMARKS.md).
httpcore lets the network layer be replaced (``network_backend``); this one hands back up to
:data:`READ_SIZE` bytes for each read, whatever it was asked. h11 takes any amount of data.

httpx does not expose that parameter, so :func:`bulk_transport` rebuilds the connection pool of
an ``httpx.AsyncHTTPTransport`` with the same settings. Where httpx's layout differs from the
one expected (a future release), httpx's own pool is kept: the reads are then smaller, never
wrong. A client given this transport ignores the environment's proxies, so the downloader
uses it only when none is configured.
"""

from __future__ import annotations

import ssl
from typing import Any

import httpcore
import httpx

#: bytes returned per socket read at most (asyncio's own transport reads 256 KiB per recv)
READ_SIZE = 256 * 1024


class BulkStream(httpcore.AsyncNetworkStream):
    """A network stream that reads up to :data:`READ_SIZE` bytes whatever it is asked."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max(max_bytes, READ_SIZE), timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return BulkStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class BulkBackend(httpcore.AsyncNetworkBackend):
    """httpcore's asyncio backend (anyio), with :class:`BulkStream` connections."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return BulkStream(stream)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.AsyncNetworkStream:
        return BulkStream(await self._inner.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def bulk_transport(
    *, ssl_context: ssl.SSLContext, limits: httpx.Limits
) -> httpx.AsyncHTTPTransport:
    """``httpx.AsyncHTTPTransport(verify=ssl_context, limits=limits)`` reading in bulk."""
    transport = httpx.AsyncHTTPTransport(verify=ssl_context, limits=limits)
    if type(getattr(transport, "_pool", None)) is httpcore.AsyncConnectionPool:
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=BulkBackend(),
        )
    return transport
