"""Read the first bytes of a tarball to learn its build prefix before downloading it.

The parsing is pure and lives in :mod:`jupyter_spackcache.formats.prefixpeek`; this module only
decides how to fetch a head from each kind of mirror.
"""

from __future__ import annotations

from collections.abc import Iterator

from jupyter_spackcache.formats.prefixpeek import HEAD_BYTES, build_prefix_from_head
from jupyter_spackcache.mirrors.base import MirrorReader, TarballRef
from jupyter_spackcache.mirrors.transport import HttpTransport


def peek_build_prefix(reader: MirrorReader, ref: TarballRef) -> str | None:
    """Read only the head of ``ref``'s tarball and return its build prefix, or None if unsure.

    Over HTTP(S)/S3 one ``Range: bytes=0-65535`` request, for OCI a range on the blob, for
    local mirrors a partial read. Transport failures raise MirrorError like any download.
    """
    return build_prefix_from_head(read_head(reader, ref, HEAD_BYTES))


def read_head(reader: MirrorReader, ref: TarballRef, length: int) -> bytes:
    """At most the first ``length`` stored bytes of a tarball."""
    if reader.layout == "oci":  # imported only for OCI mirrors (it is a large module)
        from jupyter_spackcache.mirrors.oci import OciReader

        assert isinstance(reader, OciReader)
        return reader.client.read_blob_head(ref.location, length)
    transport = getattr(reader, "transport", None)
    if isinstance(transport, HttpTransport):
        return transport.read_head(ref.location, length)
    chunks = reader.open_tarball(ref)
    try:
        data = b"".join(_until(chunks, length))
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return data[:length]


def _until(chunks: Iterator[bytes], length: int) -> Iterator[bytes]:
    seen = 0
    for chunk in chunks:
        yield chunk
        seen += len(chunk)
        if seen >= length:
            return
