"""Reader for the content-addressed v3 layout of Spack 1.x (buildcache-format.md §1.2, §2.1).

Trust chain: the spec manifest is clear-signed; it binds the sha256 of the spec blob and of the
tarball blob. Index and key manifests are never signed (the index only steers selection; every
package is verified on its own).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import LayoutError, MirrorError, SignatureError
from ..formats.clearsign import strip_clearsign
from ..formats.v3layout import (
    KEY_INDEX_MANIFEST_PATH,
    KEY_INDEX_MEDIA_TYPE,
    KEY_MEDIA_TYPE,
    MAX_METADATA_BYTES,
    MEDIA_INDEX_PREFIX,
    MEDIA_SPEC_PREFIX,
    MEDIA_TARBALL_PREFIX,
    BlobRecord,
    decode_blob,
    decode_object,
    decode_text,
    index_manifest_path,
    key_manifest_path,
    parse_manifest,
    spec_manifest_path,
    spec_media_version,
    verify_blob,
)
from ..limits import DEFAULT_LIMITS
from .base import IndexFetch, SpecRecord, TarballRef, TarballRequest
from .verify import signed_payload

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..config import MirrorConfig
    from ..spec.concrete import ConcreteDAG, ConcreteNode
    from ..trust import Keyring
    from .transport import Transport


class V3Reader:
    layout = "v3"
    #: bound on the stored index (the catalog sets it from the configured limits)
    max_index_bytes: int = DEFAULT_LIMITS.max_index_bytes

    def __init__(self, transport: Transport, mirror: MirrorConfig, keyring: Keyring | None) -> None:
        self.transport = transport
        self.mirror = mirror
        self.keyring = keyring
        self.url = mirror.url

    # ---- index ------------------------------------------------------------------------------

    def fetch_index(self, *, known_hash: str | None, etag: str | None) -> IndexFetch:
        result = self.transport.fetch(
            index_manifest_path(self.mirror.view),
            etag=etag,
            max_bytes=MAX_METADATA_BYTES,
            kind="index",
        )
        if result.not_modified and known_hash:
            return IndexFetch(changed=False, index_hash=known_hash, etag=etag)
        # Spack never signs indices; tolerate a signed one by reading its body
        text = strip_clearsign(decode_text(result.data, what="index manifest"))
        record = parse_manifest(text, what="index").first(MEDIA_INDEX_PREFIX, what="index")
        if known_hash == record.checksum:
            return IndexFetch(changed=False, index_hash=known_hash, etag=result.etag)
        # stored as is (maybe gzip'd): the index cache inflates it as a bounded stream
        data = self.transport.fetch(record.path, max_bytes=self.max_index_bytes, kind="index").data
        verify_blob(record, data, what="index")
        return IndexFetch(changed=True, index_hash=record.checksum, data=data, etag=result.etag)

    # ---- packages ---------------------------------------------------------------------------

    def fetch_spec(self, node: ConcreteNode, dag: ConcreteDAG) -> SpecRecord:
        what = f"the metadata of {node.short}"
        result = self.transport.fetch(
            spec_manifest_path(node.name, node.version, node.hash), max_bytes=MAX_METADATA_BYTES
        )
        payload, signer = signed_payload(
            decode_text(result.data, what=what), mirror=self.mirror, keyring=self.keyring, what=what
        )
        manifest = parse_manifest(payload, what=f"{node.short} spec")
        spec_rec = manifest.first(MEDIA_SPEC_PREFIX, what=f"{node.short} spec")
        tar_rec = manifest.first(MEDIA_TARBALL_PREFIX, what=f"{node.short} spec")
        _check_spec_media(spec_rec, node)
        document = decode_object(self._blob(spec_rec, what=f"{node.short} spec"), what=what)
        check_document_root(document, node, what)
        return SpecRecord(
            document=document,
            tarball=TarballRef(
                location=tar_rec.path, sha256=tar_rec.checksum, size=tar_rec.content_length
            ),
            signed_by=signer,
            entry_layout=int(document.get("buildcache_layout_version", 2)),
        )

    def public_keys(self) -> list[str]:
        try:
            index = self._manifest_blob(
                KEY_INDEX_MANIFEST_PATH, KEY_INDEX_MEDIA_TYPE, "key index", "key"
            )
        except MirrorError:
            return []
        keys = decode_object(index, what="the key index").get("keys", {})
        out = []
        for fingerprint in keys:
            blob = self._manifest_blob(
                key_manifest_path(fingerprint), KEY_MEDIA_TYPE, "public key", "key"
            )
            out.append(blob.decode("ascii", "replace"))
        return out

    def open_tarball(self, ref: TarballRef, *, offset: int = 0) -> Iterator[bytes]:
        return self.transport.iter_bytes(ref.location, offset=offset)

    def tarball_request(self, ref: TarballRef) -> TarballRequest:
        return self.transport.describe(ref.location)

    def read_head(self, ref: TarballRef, length: int) -> bytes:
        return self.transport.read_head(ref.location, length)

    def close(self) -> None:
        self.transport.close()

    # ---- helpers ----------------------------------------------------------------------------

    def _manifest_blob(self, path: str, media: str, what: str, kind: str) -> bytes:
        data = self.transport.fetch(path, max_bytes=MAX_METADATA_BYTES, kind=kind).data
        text = strip_clearsign(decode_text(data, what=what))
        record = parse_manifest(text, what=what).first(media, what=what)
        return self._blob(record, what=what, kind=kind)

    def _blob(
        self,
        record: BlobRecord,
        *,
        what: str,
        limit: int | None = MAX_METADATA_BYTES,
        kind: str = "metadata",
    ) -> bytes:
        data = self.transport.fetch(record.path, max_bytes=limit, kind=kind).data
        return decode_blob(record, data, what=what)


def _check_spec_media(record: BlobRecord, node: ConcreteNode) -> None:
    from ..formats.specfile import LATEST_SPEC_VERSION  # the spec package is not needed sooner

    version = spec_media_version(record.media_type)
    if version is not None and version > LATEST_SPEC_VERSION:
        raise LayoutError(
            f"{node.short} uses spec format {version}, newer than this client reads "
            f"({LATEST_SPEC_VERSION})",
            hint="upgrade jupyter-spackcache",
        )


def check_document_root(document: dict[str, Any], node: ConcreteNode, what: str) -> None:
    """The spec file must describe the node we asked for (defends against swapped files)."""
    spec = document.get("spec")
    nodes = spec.get("nodes") if isinstance(spec, dict) else spec
    if not isinstance(nodes, list) or not nodes:
        raise MirrorError(f"{what} has no spec nodes")
    first = nodes[0]
    if isinstance(first, dict) and "hash" not in first and len(first) == 1:
        first = next(iter(first.values()))  # spec format 1: [{name: node}]
    got = first.get("hash") if isinstance(first, dict) else None
    if got != node.hash:
        raise SignatureError(
            f"{what} describes {got or 'an unknown hash'} instead of {node.hash}",
            hint="the mirror is inconsistent or tampered with; do not use it until fixed",
        )
