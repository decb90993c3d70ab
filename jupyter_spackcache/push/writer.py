"""Write a v3 (Spack 1.x) build-cache mirror on the local filesystem.

The layout, its records and manifests are :mod:`jupyter_spackcache.formats.v3layout`; this
module only puts them on disk. Every file is written to a temporary name and renamed, so a
reader never sees half a file and a failed push leaves the mirror as it was (at worst with an
unreferenced blob).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from jupyter_spackcache.errors import MirrorError, SignatureError
from jupyter_spackcache.formats.clearsign import strip_clearsign
from jupyter_spackcache.formats.indexstream import merge_index, render_index
from jupyter_spackcache.formats.specfile import root_node
from jupyter_spackcache.formats.v3layout import (
    INDEX_MEDIA_TYPE,
    KEY_INDEX_MANIFEST_PATH,
    KEY_INDEX_MEDIA_TYPE,
    KEY_MANIFEST_SUFFIX,
    KEY_MANIFESTS_DIR,
    KEY_MEDIA_TYPE,
    LAYOUT_JSON,
    LAYOUT_PATH,
    MEDIA_INDEX_PREFIX,
    MEDIA_SPEC_PREFIX,
    SPEC_MANIFEST_SUFFIX,
    SPEC_MANIFESTS_DIR,
    SPEC_MEDIA_TYPE,
    TARBALL_MEDIA_TYPE,
    BlobRecord,
    Manifest,
    compact_json,
    decode_blob,
    decode_object,
    gzip_bytes,
    index_manifest_path,
    key_manifest_path,
    parse_manifest,
    record_for,
    render_manifest,
    spec_manifest_path,
)


class Signer(Protocol):
    """What the writer needs from :class:`jupyter_spackcache.trust.Keyring`."""

    def sign_clear(self, text: str, fingerprint: str) -> str: ...

    def export_public(self, fingerprint: str) -> str: ...


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _atomic_copy(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as fin:
            shutil.copyfileobj(fin, out, 1 << 20)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _file_record(path: Path, media_type: str, compression: str) -> BlobRecord:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return BlobRecord(
        media_type=media_type,
        checksum=digest.hexdigest(),
        content_length=path.stat().st_size,
        compression=compression,
    )


class V3MirrorWriter:
    """Pushes spec files + tarballs, keys and the index into a v3 mirror directory."""

    def __init__(self, root: Path, *, keyring: Signer | None, signing_key: str | None) -> None:
        if signing_key is not None and keyring is None:
            raise SignatureError(
                f"cannot sign with key {signing_key} without a keyring",
                hint="pass the Keyring that holds the secret key, or push unsigned",
            )
        self.root = Path(root)
        self.keyring = keyring
        self.signing_key = signing_key

    # -- low level ----------------------------------------------------------------------

    def _ensure_layout(self) -> None:
        layout = self.root / LAYOUT_PATH
        if not layout.exists():
            _atomic_write(layout, LAYOUT_JSON.encode("utf-8"))

    def _put_blob(self, data: bytes, record: BlobRecord) -> None:
        target = self.root / record.path
        if not target.exists():
            _atomic_write(target, data)

    def _manifest_text(self, records: list[BlobRecord], *, sign: bool) -> str:
        text = render_manifest(records)
        if sign and self.signing_key is not None and self.keyring is not None:
            text = self.keyring.sign_clear(text, self.signing_key)
        return text

    def _publish(self, relpath: str, payload: bytes, media_type: str, compression: str) -> None:
        """One unsigned blob plus its one-record manifest (indices and keys)."""
        record = record_for(payload, media_type, compression)
        self._put_blob(payload, record)
        text = self._manifest_text([record], sign=False)
        _atomic_write(self.root / relpath, text.encode("utf-8"))

    def _read_manifest(self, path: Path) -> Manifest:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, ValueError) as exc:
            raise MirrorError(f"unreadable manifest {path}: {exc}") from exc
        return parse_manifest(strip_clearsign(text), what=str(path))

    def _read_blob(self, record: BlobRecord, what: str) -> bytes:
        try:
            data = (self.root / record.path).read_bytes()
        except OSError as exc:
            raise MirrorError(f"missing blob {record.checksum} in {self.root}") from exc
        return decode_blob(record, data, what=what)

    # -- packages -------------------------------------------------------------------------

    def add(self, specfile: dict[str, Any], tarball: Path) -> None:
        """Publish one package: tarball blob, gzip'd spec blob, then its (signed) manifest.

        The manifest goes last, so the package only becomes visible once its blobs exist.
        """
        try:
            root = root_node(specfile)
        except ValueError as exc:
            raise MirrorError(f"cannot push: {exc}") from exc
        if not Path(tarball).is_file():
            raise MirrorError(f"cannot push {root['name']}: no tarball at {tarball}")
        tar_record = _file_record(Path(tarball), TARBALL_MEDIA_TYPE, "gzip")
        spec_blob = gzip_bytes(compact_json(specfile))
        spec_record = record_for(spec_blob, SPEC_MEDIA_TYPE, "gzip")
        # sign before writing anything: a key problem must leave the mirror untouched
        text = self._manifest_text([tar_record, spec_record], sign=True)
        self._ensure_layout()
        if not (self.root / tar_record.path).exists():
            _atomic_copy(Path(tarball), self.root / tar_record.path)
        self._put_blob(spec_blob, spec_record)
        relpath = spec_manifest_path(root["name"], root["version"], root["hash"])
        _atomic_write(self.root / relpath, text.encode("utf-8"))

    def spec_manifests(self) -> Iterator[Path]:
        """Every spec manifest currently in the mirror, in a stable order."""
        base = self.root / SPEC_MANIFESTS_DIR
        if base.is_dir():
            yield from sorted(base.glob(f"*/*{SPEC_MANIFEST_SUFFIX}"))

    def read_specfile(self, manifest: Path) -> dict[str, Any]:
        """The spec file a spec manifest points to."""
        what = f"spec in {manifest}"
        record = self._read_manifest(manifest).first(MEDIA_SPEC_PREFIX, what=str(manifest))
        return decode_object(self._read_blob(record, what), what=what)

    # -- keys -----------------------------------------------------------------------------

    def add_key(self, fingerprint: str) -> None:
        """Publish a public key (blob + key manifest) and rewrite the key index."""
        if self.keyring is None:
            raise SignatureError(f"cannot publish key {fingerprint} without a keyring")
        armored = self.keyring.export_public(fingerprint)
        if "BEGIN PGP PUBLIC KEY BLOCK" not in armored:
            raise SignatureError(f"keyring has no public key {fingerprint}")
        self._ensure_layout()
        self._publish(
            key_manifest_path(fingerprint),
            armored.encode("utf-8"),
            KEY_MEDIA_TYPE,
            "none",
        )
        keydir = self.root / KEY_MANIFESTS_DIR
        fingerprints = sorted(
            p.name[: -len(KEY_MANIFEST_SUFFIX)] for p in keydir.glob(f"*{KEY_MANIFEST_SUFFIX}")
        )
        index: dict[str, dict[str, dict[str, Any]]] = {"keys": {f: {} for f in fingerprints}}
        self._publish(KEY_INDEX_MANIFEST_PATH, compact_json(index), KEY_INDEX_MEDIA_TYPE, "none")

    # -- index ----------------------------------------------------------------------------

    def _existing_installs(self) -> dict[str, Any]:
        path = self.root / index_manifest_path()
        if not path.exists():
            return {}
        what = f"index in {self.root}"
        record = self._read_manifest(path).find(MEDIA_INDEX_PREFIX)
        if record is None:
            return {}
        try:
            installs: dict[str, Any] = decode_object(self._read_blob(record, what), what=what)[
                "database"
            ]["installs"]
        except (KeyError, TypeError) as exc:
            raise MirrorError(f"existing index in {self.root} is malformed") from exc
        return installs

    def write_index(self) -> None:
        """(Re)build the index from every spec manifest, merged with any existing index."""
        self._ensure_layout()
        specfiles: list[Mapping[str, Any]] = []
        pushed: set[str] = set()
        for manifest in self.spec_manifests():
            specfile = self.read_specfile(manifest)
            specfiles.append(specfile)
            pushed.add(root_node(specfile)["hash"])
        installs = merge_index(self._existing_installs(), specfiles, pushed)
        self._publish(index_manifest_path(), render_index(installs), INDEX_MEDIA_TYPE, "none")
