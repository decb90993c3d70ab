"""v3 manifests and content-addressed blobs (buildcache-format.md §1.2), as pure functions.

A manifest lists blob records; a blob is addressed by the checksum of its *stored* bytes.
Verifying a blob is therefore always: sha256 of what was downloaded == record checksum, and the
size matches ``contentLength``; only then is it decompressed.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from dataclasses import dataclass
from typing import Any

from ..errors import IntegrityError, LayoutError, MirrorError

MANIFEST_VERSION = 3
MEDIA_TARBALL_PREFIX = "application/vnd.spack.install."
MEDIA_SPEC_PREFIX = "application/vnd.spack.spec."
MEDIA_INDEX_PREFIX = "application/vnd.spack.db."
MEDIA_KEY = "application/pgp-keys"
MEDIA_KEY_INDEX = "application/vnd.spack.keyindex.v1+json"

#: a single metadata blob (spec, key, small index) larger than this is refused
MAX_METADATA_BYTES = 64 << 20


@dataclass(frozen=True, slots=True)
class BlobRecord:
    media_type: str
    checksum: str
    content_length: int
    compression: str = "none"
    algorithm: str = "sha256"

    @property
    def path(self) -> str:
        """Blob location relative to the mirror root (``blobs/`` is a sibling of ``v3/``)."""
        return f"blobs/{self.algorithm}/{self.checksum[:2]}/{self.checksum}"


@dataclass(frozen=True, slots=True)
class Manifest:
    records: tuple[BlobRecord, ...]

    def first(self, media_prefix: str, *, what: str) -> BlobRecord:
        """The first record whose media type starts with ``media_prefix`` (Spack's rule)."""
        for record in self.records:
            if record.media_type.startswith(media_prefix):
                return record
        raise MirrorError(f"the {what} manifest has no {media_prefix}* entry")


def parse_manifest(text: str, *, what: str) -> Manifest:
    """Parse manifest JSON (already extracted from any clear signature)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MirrorError(f"the {what} manifest is not valid JSON ({exc.msg})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise MirrorError(f"the {what} manifest has no 'data' list")
    version = doc.get("version")
    if version != MANIFEST_VERSION:
        raise LayoutError(
            f"the {what} manifest has version {version!r}; this client reads version 3",
            hint="upgrade jupyter-spackcache, or use a mirror written by Spack 1.x",
        )
    records = []
    for raw in doc["data"]:
        records.append(_record(raw, what))
    return Manifest(tuple(records))


def _record(raw: Any, what: str) -> BlobRecord:
    try:
        algorithm = str(raw["checksumAlgorithm"])
        checksum = str(raw["checksum"]).lower()
        record = BlobRecord(
            media_type=str(raw["mediaType"]),
            checksum=checksum,
            content_length=int(raw["contentLength"]),
            compression=str(raw.get("compression", "none")),
            algorithm=algorithm,
        )
    except (KeyError, TypeError, ValueError):
        raise MirrorError(f"the {what} manifest has a malformed blob record") from None
    if algorithm != "sha256":
        raise LayoutError(
            f"the {what} manifest uses checksum algorithm '{algorithm}' (sha256 only)"
        )
    if len(checksum) != 64 or any(c not in "0123456789abcdef" for c in checksum):
        raise MirrorError(f"the {what} manifest has a malformed checksum")
    if record.compression not in {"none", "gzip"}:
        raise LayoutError(f"the {what} blob uses unsupported compression '{record.compression}'")
    return record


def verify_blob(record: BlobRecord, data: bytes, *, what: str) -> None:
    """Raise IntegrityError unless ``data`` is exactly the blob the record names."""
    if len(data) != record.content_length:
        raise IntegrityError(
            f"the {what} blob has {len(data)} bytes but its manifest says {record.content_length}",
            hint="the mirror is corrupt or was changed during the download; retry later",
        )
    digest = hashlib.sha256(data).hexdigest()
    if digest != record.checksum:
        raise IntegrityError(
            f"the {what} blob's sha256 {digest[:12]}… differs from its manifest "
            f"({record.checksum[:12]}…)",
            hint="the mirror is corrupt or was tampered with; do not use it until fixed",
        )


def decode_blob(record: BlobRecord, data: bytes, *, what: str) -> bytes:
    """Verify, then undo the record's compression."""
    verify_blob(record, data, what=what)
    if record.compression == "gzip":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            raise MirrorError(f"the {what} blob is not valid gzip data") from None
    return data


def decode_text(data: bytes, *, what: str) -> str:
    """Metadata bytes as text (manifests, spec files and keys are UTF-8)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise MirrorError(f"{what} is not UTF-8 text") from None


def decode_object(data: str | bytes, *, what: str) -> dict[str, Any]:
    """A JSON document that must be an object (spec files, key indices)."""
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise MirrorError(f"{what} is not valid JSON ({getattr(exc, 'msg', exc)})") from None
    if not isinstance(doc, dict):
        raise MirrorError(f"{what} is not a JSON object")
    return doc
