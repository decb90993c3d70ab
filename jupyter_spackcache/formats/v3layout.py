"""v3 manifests and content-addressed blobs (buildcache-format.md §1.2), as pure functions.

A manifest lists blob records; a blob is addressed by the checksum of its *stored* bytes.
Verifying a blob is therefore always: sha256 of what was downloaded == record checksum, and the
size matches ``contentLength``; only then is it decompressed.

Writing is here too (:func:`render_manifest` reproduces Spack's bytes: a newline after every
JSON token, so that a clear signature never meets an overlong line), and so are the paths of the
layout, relative to the mirror root::

    v3/layout.json
    v3/manifests/spec/<name>/<name>-<version>-<hash>.spec.manifest.json   (clear-signed if keyed)
    v3/manifests/index[/<view>]/index.manifest.json                        (never signed)
    v3/manifests/key/<FPR>.key.manifest.json, keys.manifest.json             (never signed)
    blobs/sha256/<2 hex>/<sha256>                                           (content-addressed)
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import zlib
from dataclasses import dataclass
from typing import Any

from ..errors import IntegrityError, LayoutError, MirrorError

MANIFEST_VERSION = 3

#: readers take the first record whose media type starts with one of these (Spack's rule)
MEDIA_TARBALL_PREFIX = "application/vnd.spack.install."
MEDIA_SPEC_PREFIX = "application/vnd.spack.spec."
MEDIA_INDEX_PREFIX = "application/vnd.spack.db."
#: the exact media types written
TARBALL_MEDIA_TYPE = "application/vnd.spack.install.v2.tar+gzip"
SPEC_MEDIA_TYPE = "application/vnd.spack.spec.v5+json"
INDEX_MEDIA_TYPE = "application/vnd.spack.db.v8+json"
KEY_MEDIA_TYPE = "application/pgp-keys"
KEY_INDEX_MEDIA_TYPE = "application/vnd.spack.keyindex.v1+json"

#: a single metadata blob (spec, key, small index) larger than this is refused
MAX_METADATA_BYTES = 64 << 20


@dataclass(frozen=True, slots=True)
class BlobRecord:
    """One ``data`` entry of a manifest: a stored blob and how to check it."""

    media_type: str
    checksum: str
    content_length: int
    compression: str = "none"
    checksum_algorithm: str = "sha256"

    @property
    def path(self) -> str:
        """Blob location relative to the mirror root (``blobs/`` is a sibling of ``v3/``)."""
        return f"blobs/{self.checksum_algorithm}/{self.checksum[:2]}/{self.checksum}"

    def to_json(self) -> dict[str, Any]:
        """The record as Spack writes it (key order matters for byte-identical manifests)."""
        return {
            "contentLength": self.content_length,
            "mediaType": self.media_type,
            "compression": self.compression,
            "checksumAlgorithm": self.checksum_algorithm,
            "checksum": self.checksum,
        }


@dataclass(frozen=True, slots=True)
class Manifest:
    records: tuple[BlobRecord, ...]

    def find(self, media_prefix: str) -> BlobRecord | None:
        """The first record whose media type starts with ``media_prefix`` (Spack's rule)."""
        for record in self.records:
            if record.media_type.startswith(media_prefix):
                return record
        return None

    def first(self, media_prefix: str, *, what: str) -> BlobRecord:
        """Like :meth:`find`, but a missing record is an error."""
        record = self.find(media_prefix)
        if record is None:
            raise MirrorError(f"the {what} manifest has no {media_prefix}* entry")
        return record


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
            checksum_algorithm=algorithm,
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


def spec_media_version(media_type: str) -> int | None:
    """The spec-file format a spec media type names (``...spec.v5+json`` -> 5), if it says."""
    try:
        return int(media_type[len(MEDIA_SPEC_PREFIX) + 1 :].split("+", 1)[0])
    except ValueError:
        return None


# ---- writing ------------------------------------------------------------------------------


def record_for(data: bytes, media_type: str, compression: str) -> BlobRecord:
    """The record describing ``data`` exactly as stored."""
    return BlobRecord(
        media_type=media_type,
        checksum=hashlib.sha256(data).hexdigest(),
        content_length=len(data),
        compression=compression,
    )


def render_manifest(records: list[BlobRecord]) -> str:
    """Manifest text as Spack writes it (one token per line, no indent, no final newline)."""
    doc = {"version": MANIFEST_VERSION, "data": [r.to_json() for r in records]}
    return json.dumps(doc, indent=0, separators=(",", ":"))


def compact_json(doc: Any) -> bytes:
    """Spack's compact JSON (no spaces), used for spec, index and key-index payloads."""
    return json.dumps(doc, separators=(",", ":")).encode("utf-8")


def gzip_bytes(data: bytes) -> bytes:
    """Reproducible gzip as Spack makes it: level 6, empty name, mtime 0, OS byte 255."""
    sink = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", compresslevel=6, mtime=0, fileobj=sink) as gz:
        gz.write(data)
    return sink.getvalue()


# ---- paths ----------------------------------------------------------------------------------

LAYOUT_PATH = "v3/layout.json"
#: contents of ``v3/layout.json`` (Spack's formatting: default json separators)
LAYOUT_JSON = json.dumps({"signing": "gpg"})
SPEC_MANIFESTS_DIR = "v3/manifests/spec"
KEY_MANIFESTS_DIR = "v3/manifests/key"
SPEC_MANIFEST_SUFFIX = ".spec.manifest.json"
KEY_MANIFEST_SUFFIX = ".key.manifest.json"
KEY_INDEX_MANIFEST_PATH = f"{KEY_MANIFESTS_DIR}/keys.manifest.json"


def index_manifest_path(view: str | None = None) -> str:
    """The index manifest of the whole mirror, or of one of its views."""
    if view:
        return f"v3/manifests/index/{view}/index.manifest.json"
    return "v3/manifests/index/index.manifest.json"


def spec_manifest_path(name: str, version: str, dag_hash: str) -> str:
    """Where Spack looks for the manifest of one concrete spec."""
    return f"{SPEC_MANIFESTS_DIR}/{name}/{name}-{version}-{dag_hash}{SPEC_MANIFEST_SUFFIX}"


def key_manifest_path(fingerprint: str) -> str:
    return f"{KEY_MANIFESTS_DIR}/{fingerprint}{KEY_MANIFEST_SUFFIX}"
