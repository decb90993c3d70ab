"""What every mirror layout reader (v3, v2, OCI) offers the rest of the core.

A reader knows one layout on one transport. It hands out raw index bytes (the caller parses
and caches them) and *verified* spec metadata: when :meth:`MirrorReader.fetch_spec` returns,
the spec document has passed signature checks (unless the mirror is explicitly unsigned) and
the returned :class:`TarballRef` carries the checksum that the signed metadata binds, so the
installer only has to compare the downloaded bytes against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..spec.concrete import ConcreteDAG, ConcreteNode


@dataclass(frozen=True, slots=True)
class IndexFetch:
    """Result of an index refresh.

    ``changed`` is False when the mirror proved the cached copy current (ETag 304, same index
    hash, same manifest checksum); then ``data`` is None. ``index_hash`` identifies the index
    content (sha256 hex of the index bytes, or the OCI layer digest). ``data`` is the index as
    stored, maybe gzip-compressed: the index cache inflates and parses it as one bounded stream.
    """

    changed: bool
    index_hash: str
    data: bytes | None = None
    etag: str | None = None


@dataclass(frozen=True, slots=True)
class TarballRef:
    """Where a package tarball lives in a mirror and the checksum it must have."""

    #: path relative to the mirror root (v2/v3), or an OCI blob digest ``sha256:<hex>``
    location: str
    sha256: str
    #: stored size in bytes when the metadata says it (v3 manifests, OCI), else None
    size: int | None = None


@dataclass(frozen=True, slots=True)
class TarballRequest:
    """How to download a tarball, as a value: the async downloader executes it.

    ``url`` is the plain GET to send (with ``headers``) over the downloader's own connections;
    None means "stream it with :meth:`MirrorReader.open_tarball`" (local files, OCI registries
    with their tokens). ``shown`` names the tarball in messages.
    """

    shown: str
    url: str | None = None
    #: e.g. the mirror's ``Authorization`` (hidden from ``repr``)
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    #: a public S3 bucket answers 403 for a missing key
    s3: bool = False
    #: seconds to connect, and between two reads
    timeout: float = 30.0
    #: the mirror's own CA bundle (a site CA), if it has one
    ca_bundle: str | None = None


@dataclass(frozen=True, slots=True)
class SpecRecord:
    """Verified metadata of one binary package in a mirror."""

    #: the whole spec-file document (``{"spec": {"_meta": ..., "nodes": [...]}, ...}``)
    document: dict[str, Any]
    tarball: TarballRef
    #: fingerprint of the key that signed the metadata; None for unsigned mirrors
    signed_by: str | None
    #: ``buildcache_layout_version`` of the entry (1, 2; v3 spec blobs say 2, OCI configs 3)
    entry_layout: int


class MirrorReader(Protocol):
    """One mirror, one layout: ``v3.V3Reader``, ``v2.V2Reader`` or ``oci.OciReader``."""

    #: "v3", "v2" or "oci"
    layout: str
    #: the mirror URL as configured
    url: str

    def fetch_index(self, *, known_hash: str | None, etag: str | None) -> IndexFetch:
        """Fetch the binary index unless ``known_hash``/``etag`` prove it unchanged.

        Costs one small request when nothing changed. Raises NotFoundError for an
        un-indexed mirror, MirrorError for transport failures.
        """
        ...

    def fetch_spec(self, node: ConcreteNode, dag: ConcreteDAG) -> SpecRecord:
        """Fetch and verify the metadata of one package (signature + bound checksum).

        ``dag`` is a DAG containing ``node`` (v2 file names need the node's compiler, which in
        spec format 5 is a dependency).
        """
        ...

    def public_keys(self) -> list[str]:
        """ASCII-armored public keys the mirror publishes (unverified, for `keys trust`)."""
        ...

    def open_tarball(self, ref: TarballRef, *, offset: int = 0) -> Iterator[bytes]:
        """The tarball's stored bytes from ``offset`` on, in chunks; one request, no checking.

        Not retried: the downloader resumes from the bytes it kept (see :mod:`.retry`).
        """
        ...

    def tarball_request(self, ref: TarballRef) -> TarballRequest:
        """The request that downloads ``ref`` (pure: nothing is sent)."""
        ...

    def read_head(self, ref: TarballRef, length: int) -> bytes:
        """At most the first ``length`` stored bytes of the tarball (a ``Range`` read, retried
        and resumed like every request)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
