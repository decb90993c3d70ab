"""Reader for the legacy ``build_cache/`` layout (1 and 2; layout 0 is recognised and refused).

Trust chain: ``<SPECNAME>.spec.json.sig`` is clear-signed and carries ``binary_cache_checksum``,
the sha256 of the ``.spack`` tarball. File names embed arch and compiler (§1.1), so locating a
package needs its node, and for spec format 5 its DAG (the compiler is a dependency).
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

from ..errors import IntegrityError, MirrorError, NotFoundError, SignatureError
from ..formats.v2layout import (
    INDEX_HASH_PATH,
    INDEX_PATH,
    KEY_INDEX_PATH,
    check_entry_layout,
    key_path,
    spec_path,
    tarball_path,
)
from ..formats.v3layout import MAX_METADATA_BYTES, decode_object, decode_text
from ..limits import DEFAULT_LIMITS
from .base import IndexFetch, SpecRecord, TarballRef, TarballRequest
from .v3 import check_document_root
from .verify import signed_payload

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..config import MirrorConfig
    from ..spec.concrete import ConcreteDAG, ConcreteNode
    from ..trust import Keyring
    from .transport import Transport

_HEX64 = re.compile(r"^[a-f0-9]{64}$")


class V2Reader:
    #: bound on the index as transferred (the catalog sets it from the configured limits)
    max_index_bytes: int = DEFAULT_LIMITS.max_index_bytes
    layout = "v2"

    def __init__(self, transport: Transport, mirror: MirrorConfig, keyring: Keyring | None) -> None:
        self.transport = transport
        self.mirror = mirror
        self.keyring = keyring
        self.url = mirror.url

    def fetch_index(self, *, known_hash: str | None, etag: str | None) -> IndexFetch:
        """One request when nothing changed (ETag 304, or the hash file names our copy).

        A changed index must match ``index.json.hash`` when the mirror has one: a truncated
        or damaged index (or one caught mid-update) is refused, and the caller keeps using
        its previous copy.
        """
        remote: str | None = None
        if etag and known_hash:
            result = self.transport.fetch(
                INDEX_PATH, etag=etag, max_bytes=self.max_index_bytes, kind="index"
            )
            if result.not_modified:
                return IndexFetch(changed=False, index_hash=known_hash, etag=etag)
        else:
            remote = self._remote_hash()
            if known_hash and remote == known_hash:
                return IndexFetch(changed=False, index_hash=known_hash, etag=etag)
            result = self.transport.fetch(INDEX_PATH, max_bytes=self.max_index_bytes, kind="index")
        digest = hashlib.sha256(result.data).hexdigest()
        if remote is None and etag and known_hash:
            remote = self._remote_hash()
        if remote is not None and remote != digest:
            raise IntegrityError(
                f"{result.url}: refusing the index: its sha256 is {digest}, but "
                f"{INDEX_HASH_PATH.rsplit('/', 1)[-1]} says {remote}",
                hint="the index is damaged or being rewritten; the previously fetched index "
                "stays in use; retry later",
            )
        return IndexFetch(changed=True, index_hash=digest, data=result.data, etag=result.etag)

    def _remote_hash(self) -> str | None:
        """index.json.hash's first 64 bytes, or None when absent or malformed (non-fatal)."""
        try:
            raw = self.transport.fetch(INDEX_HASH_PATH, max_bytes=4096, kind="index").data[:64]
        except MirrorError:
            return None
        text = raw.decode("ascii", "replace")
        return text if _HEX64.match(text) else None

    def fetch_spec(self, node: ConcreteNode, dag: ConcreteDAG) -> SpecRecord:
        what = f"the metadata of {node.short}"
        text: str | None = None
        try:
            text = self._text(spec_path(node, dag, signed=True), what)
        except NotFoundError:
            if not self.mirror.unsigned:
                if self._exists(spec_path(node, dag, signed=False)):
                    raise SignatureError(
                        f"{what} in mirror '{self.mirror.name}' is only available unsigned",
                        hint="if you trust this mirror without signatures, re-add it with "
                        "`spackcache mirror add NAME URL --unsigned`",
                    ) from None
                raise
        if text is None:
            text = self._text(spec_path(node, dag, signed=False), what)
        payload, signer = signed_payload(text, mirror=self.mirror, keyring=self.keyring, what=what)
        document = decode_object(payload, what=what)
        entry_layout = check_entry_layout(document, what)
        check_document_root(document, node, what)
        checksum = document.get("binary_cache_checksum") or {}
        algorithm = checksum.get("hash_algorithm")
        digest = str(checksum.get("hash", "")).lower()
        if algorithm != "sha256" or not _HEX64.match(digest):
            raise MirrorError(f"{what} has no usable sha256 'binary_cache_checksum'")
        return SpecRecord(
            document=document,
            tarball=TarballRef(location=tarball_path(node, dag), sha256=digest, size=None),
            signed_by=signer,
            entry_layout=entry_layout,
        )

    def public_keys(self) -> list[str]:
        try:
            text = self._text(KEY_INDEX_PATH, "the key index", "key")
            index = decode_object(text, what="the key index")
        except MirrorError:
            return []
        out = []
        for fingerprint in index.get("keys", {}):
            out.append(self._text(key_path(fingerprint), "a public key", "key"))
        return out

    def open_tarball(self, ref: TarballRef, *, offset: int = 0) -> Iterator[bytes]:
        return self.transport.iter_bytes(ref.location, offset=offset)

    def tarball_request(self, ref: TarballRef) -> TarballRequest:
        return self.transport.describe(ref.location)

    def read_head(self, ref: TarballRef, length: int) -> bytes:
        return self.transport.read_head(ref.location, length)

    def close(self) -> None:
        self.transport.close()

    def _text(self, path: str, what: str, kind: str = "metadata") -> str:
        data = self.transport.fetch(path, max_bytes=MAX_METADATA_BYTES, kind=kind).data
        return decode_text(data, what=what)

    def _exists(self, path: str) -> bool:
        try:
            return self.transport.exists(path)
        except MirrorError:
            return False
