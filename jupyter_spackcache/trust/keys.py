"""What a key is, as far as this client cares: value types and pure conversions.

gpg lists keys as colon records, which python-gnupg turns into loosely typed dicts; this module
turns those into :class:`KeyInfo` so nothing else needs to know gpg's field numbers.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import SignatureError
from ..fingerprint import Fingerprint, FingerprintError

# OpenPGP public-key algorithm ids (RFC 4880 §9.1, RFC 6637, draft EdDSA)
_ALGORITHMS = {
    "1": "RSA",
    "2": "RSA",
    "3": "RSA",
    "16": "ElGamal",
    "17": "DSA",
    "18": "ECDH",
    "19": "ECDSA",
    "22": "EdDSA",
}


@dataclass(frozen=True)
class KeyInfo:
    """One OpenPGP key: enough to show a user and to pin it."""

    fingerprint: str
    uids: tuple[str, ...]
    created: int | None
    expires: int | None
    algorithm: str
    length: int | None
    has_secret: bool


def normalize_fingerprint(value: str) -> str:
    """The :class:`Fingerprint` of ``value``, or the one-line error users of keys see."""
    try:
        return Fingerprint(value)
    except FingerprintError as exc:
        raise SignatureError(
            str(exc), hint="copy the full fingerprint the mirror's key listing shows"
        ) from None


def normalize_fingerprints(values: Collection[str]) -> frozenset[str]:
    return frozenset(normalize_fingerprint(value) for value in values)


def key_infos(listing: Iterable[Mapping[str, Any]]) -> list[KeyInfo]:
    """KeyInfo for each primary key in a python-gnupg listing (``list_keys``/``scan_keys``)."""
    return [_key_info(entry) for entry in listing if entry.get("fingerprint")]


def _key_info(entry: Mapping[str, Any]) -> KeyInfo:
    algorithm = str(entry.get("algo", ""))
    return KeyInfo(
        fingerprint=str(entry["fingerprint"]).upper(),
        uids=tuple(_utf8(uid) for uid in entry.get("uids", ())),
        created=_number(entry.get("date")),
        expires=_number(entry.get("expires")),
        algorithm=_ALGORITHMS.get(algorithm, f"algorithm {algorithm}"),
        length=_number(entry.get("length")),
        has_secret=entry.get("type") == "sec",
    )


def _number(field: object) -> int | None:
    """gpg's numeric colon fields (empty when unset, e.g. a key that never expires)."""
    text = str(field or "")
    return int(text) if text.isdigit() else None


def _utf8(uid: str) -> str:
    """User ids are UTF-8 bytes; the gpg wrapper decodes output as Latin-1 so it never fails."""
    try:
        return uid.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return uid
