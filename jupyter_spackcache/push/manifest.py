"""v3 manifests as values: blob records, media types, and Spack's on-disk rendering.

Spack writes manifests with a newline after every JSON token and no indentation, so that a
PGP clear signature never meets an overlong line. Rendering is pure; writing lives in
:mod:`jupyter_spackcache.push.writer`.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any

LAYOUT_VERSION = 3
TARBALL_MEDIA_TYPE = "application/vnd.spack.install.v2.tar+gzip"
SPEC_MEDIA_TYPE = "application/vnd.spack.spec.v5+json"
INDEX_MEDIA_TYPE = "application/vnd.spack.db.v8+json"
KEY_MEDIA_TYPE = "application/pgp-keys"
KEY_INDEX_MEDIA_TYPE = "application/vnd.spack.keyindex.v1+json"
#: contents of ``v3/layout.json`` (Spack's formatting: default json separators)
LAYOUT_JSON = json.dumps({"signing": "gpg"})


@dataclass(frozen=True, slots=True)
class BlobRecord:
    """One ``data`` entry of a manifest: a stored blob and how to check it."""

    content_length: int
    media_type: str
    compression: str
    checksum: str
    checksum_algorithm: str = "sha256"

    @property
    def relpath(self) -> str:
        """Blob location relative to the mirror root (``blobs/`` is a sibling of ``v3/``)."""
        return f"blobs/{self.checksum_algorithm}/{self.checksum[:2]}/{self.checksum}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "contentLength": self.content_length,
            "mediaType": self.media_type,
            "compression": self.compression,
            "checksumAlgorithm": self.checksum_algorithm,
            "checksum": self.checksum,
        }


def record_for(data: bytes, media_type: str, compression: str) -> BlobRecord:
    """The record describing ``data`` exactly as stored."""
    return BlobRecord(len(data), media_type, compression, hashlib.sha256(data).hexdigest())


def render_manifest(records: list[BlobRecord]) -> str:
    """Manifest text as Spack writes it (one token per line, no indent, no final newline)."""
    doc = {"version": LAYOUT_VERSION, "data": [r.to_dict() for r in records]}
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


def strip_clearsign(text: str) -> str:
    """The JSON payload of a manifest, whether or not it is PGP clear-signed.

    Only for reading what we wrote (tests, index merging); trust decisions must use a real
    verifier.
    """
    if not text.startswith("-----BEGIN PGP SIGNED MESSAGE-----"):
        return text
    _, _, rest = text.partition("\n\n")
    body, _, _ = rest.partition("\n-----BEGIN PGP SIGNATURE-----")
    return "\n".join(line[2:] if line.startswith("- ") else line for line in body.split("\n"))
