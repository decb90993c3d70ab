"""Read the first bytes of a tarball to learn its build prefix before downloading it.

The parsing is pure and lives in :mod:`jupyter_spackcache.formats.prefixpeek`; the reader
knows how to fetch a head from its kind of mirror (``MirrorReader.read_head``).
"""

from __future__ import annotations

from jupyter_spackcache.formats.prefixpeek import HEAD_BYTES, build_prefix_from_head
from jupyter_spackcache.mirrors.base import MirrorReader, TarballRef


def peek_build_prefix(reader: MirrorReader, ref: TarballRef) -> str | None:
    """Read only the head of ``ref``'s tarball and return its build prefix, or None if unsure.

    Over HTTP(S)/S3 a ``Range: bytes=0-65535`` request, for OCI a range on the blob, for
    local mirrors a partial read; retried like any request. Transport failures raise
    MirrorError like any download.
    """
    return build_prefix_from_head(reader.read_head(ref, HEAD_BYTES))
