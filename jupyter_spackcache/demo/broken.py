"""Damage a demo mirror on purpose, one fault per function, for negative tests.

Each function changes exactly one thing and leaves everything else valid, so a test can
assert the precise error an installer must give for that fault.
"""

from __future__ import annotations

from pathlib import Path

from jupyter_spackcache.formats.clearsign import strip_clearsign
from jupyter_spackcache.formats.v3layout import (
    TARBALL_MEDIA_TYPE,
    BlobRecord,
    parse_manifest,
    render_manifest,
)
from jupyter_spackcache.push.writer import Signer


def spec_manifest_path(mirror: Path, name: str) -> Path:
    """The (single) spec manifest of package ``name`` in ``mirror``."""
    found = sorted((Path(mirror) / "v3" / "manifests" / "spec" / name).glob("*.spec.manifest.json"))
    if len(found) != 1:
        raise FileNotFoundError(f"expected one manifest for {name} in {mirror}, found {len(found)}")
    return found[0]


def _records(manifest: Path) -> list[BlobRecord]:
    text = strip_clearsign(manifest.read_text())
    return list(parse_manifest(text, what=str(manifest)).records)


def blob_path(mirror: Path, name: str, media_type: str = TARBALL_MEDIA_TYPE) -> Path:
    """Path of the blob of ``media_type`` referenced by package ``name``'s manifest."""
    for rec in _records(spec_manifest_path(mirror, name)):
        if rec.media_type == media_type:
            return Path(mirror) / rec.path
    raise LookupError(f"{name} has no {media_type} blob")


def tamper_tarball(mirror: Path, name: str, offset: int | None = None) -> Path:
    """Flip one byte of ``name``'s tarball blob (after signing): its sha256 no longer matches."""
    path = blob_path(mirror, name, TARBALL_MEDIA_TYPE)
    data = bytearray(path.read_bytes())
    at = len(data) // 2 if offset is None else offset
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def strip_signature(mirror: Path, name: str) -> Path:
    """Replace ``name``'s clear-signed manifest with its bare JSON (an unsigned manifest)."""
    path = spec_manifest_path(mirror, name)
    path.write_text(render_manifest(_records(path)))
    return path


def resign_manifest(mirror: Path, name: str, keyring: Signer, fingerprint: str) -> Path:
    """Re-sign ``name``'s manifest with another key (e.g. one the mirror does not publish)."""
    path = spec_manifest_path(mirror, name)
    path.write_text(keyring.sign_clear(render_manifest(_records(path)), fingerprint))
    return path


def edit_signed_payload(mirror: Path, name: str) -> Path:
    """Change the size in a *signed* manifest without re-signing: the signature must fail."""
    path = spec_manifest_path(mirror, name)
    text = path.read_text()
    marker = '"contentLength":'
    at = text.index(marker) + len(marker)
    digit = text[at]
    text = text[:at] + ("1" if digit != "1" else "2") + text[at + 1 :]
    path.write_text(text)
    return path
