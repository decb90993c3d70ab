"""Turning gpg's machine-readable status lines into one verdict about one signature.

Pure functions over the ``[GNUPG:] KEYWORD args...`` lines (gpg's doc/DETAILS), so that every
way a signature can fail maps to exactly one user-facing message, testable without gpg.
Note that gpg itself exits 0 for signatures made by expired or revoked keys; this module does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ..errors import SignatureError

TRUST_HINT = "check the key with the mirror's owner, then run `spackcache keys trust --mirror NAME`"
_STATUS_PREFIX = "[GNUPG:] "
# gpg error code in ERRSIG for "no public key"
_NO_PUBKEY = "9"
_VERDICTS = ("GOODSIG", "BADSIG", "EXPSIG", "EXPKEYSIG", "REVKEYSIG", "ERRSIG")


@dataclass(frozen=True)
class Verified:
    """A clear-signed text whose signature checked out against the keyring."""

    payload: str
    fingerprint: str  # the signer's primary key
    signed_at: int | None  # seconds since the epoch, as claimed by the signature


@dataclass(frozen=True)
class Status:
    keyword: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class Signer:
    """Who made a good signature: the primary key, and the (sub)key that actually signed."""

    fingerprint: str
    signing_key: str
    signed_at: int | None

    def matches(self, pins: frozenset[str]) -> bool:
        return self.fingerprint in pins or self.signing_key in pins


def parse_status(stderr: str) -> list[Status]:
    """The status lines of a gpg run made with ``--status-fd 2`` (other stderr text skipped)."""
    found = []
    for line in stderr.splitlines():
        if line.startswith(_STATUS_PREFIX):
            keyword, *args = line[len(_STATUS_PREFIX) :].split()
            found.append(Status(keyword, tuple(args)))
    return found


def signer_from_status(status: Sequence[Status], returncode: int | None, stderr: str) -> Signer:
    """The good signer of a single-signature message, or the SignatureError saying why not."""
    signatures = sum(1 for line in status if line.keyword == "NEWSIG")
    verdicts = [line for line in status if line.keyword in _VERDICTS]
    if signatures > 1 or len(verdicts) > 1:
        raise SignatureError(
            f"the message carries {max(signatures, len(verdicts))} signatures; "
            "expected exactly one",
            hint="mirrors sign each file once; fetch it again or ask the mirror's owner",
        )
    if not verdicts:
        raise SignatureError(
            f"gpg found no usable signature: {last_gpg_message(stderr)}",
            hint="the file is damaged; fetch it again from the mirror",
        )
    verdict = verdicts[0]
    key_id = verdict.args[0] if verdict.args else "?"
    if verdict.keyword == "BADSIG":
        raise SignatureError(
            "signature does not match the signed text: the file was altered",
            hint="do not install it; fetch it again, and tell the mirror's owner if it persists",
        )
    if verdict.keyword == "ERRSIG":
        raise _errsig(verdict.args, stderr)
    valid = next((line for line in status if line.keyword == "VALIDSIG"), None)
    primary = _primary_fingerprint(valid) or key_id
    if verdict.keyword == "EXPKEYSIG":
        raise SignatureError(
            f"signing key {primary} has expired",
            hint="the mirror's owner must renew it; then run `spackcache keys trust --mirror NAME`",
        )
    if verdict.keyword == "REVKEYSIG":
        raise SignatureError(
            f"signing key {primary} has been revoked: its signatures are no longer trusted",
            hint="do not install from this mirror until its owner re-signs with a valid key",
        )
    if verdict.keyword == "EXPSIG":
        raise SignatureError(
            f"the signature by key {primary} has expired",
            hint="the mirror's owner must re-sign the file",
        )
    if valid is None or returncode != 0:
        raise SignatureError(
            f"gpg could not confirm the signature by key {primary}: {last_gpg_message(stderr)}",
            hint="fetch the file again; if it persists, report it with this message",
        )
    return Signer(primary, valid.args[0].upper(), _timestamp(valid.args[2:3]))


def last_gpg_message(stderr: str) -> str:
    """gpg's last human-readable complaint, as one line for an error message."""
    messages = [
        line.removeprefix("gpg: ").strip()
        for line in stderr.splitlines()
        if line.strip() and not line.startswith(_STATUS_PREFIX)
    ]
    useful = [m for m in messages if not m.startswith(("WARNING", "Note:"))] or messages
    return useful[-1] if useful else "no details given"


def _errsig(args: tuple[str, ...], stderr: str) -> SignatureError:
    """ERRSIG keyid pkalgo hashalgo class time rc [fingerprint]: the signature was not checked."""
    key_id = args[0] if args else "?"
    fingerprint = args[6] if len(args) > 6 and args[6] != "-" else None
    who = fingerprint or key_id
    if len(args) > 5 and args[5] == _NO_PUBKEY:
        return SignatureError(
            f"signed by key {who}, which is not in the trusted keyring",
            hint=TRUST_HINT,
        )
    return SignatureError(
        f"cannot check the signature by key {who}: {last_gpg_message(stderr)}",
        hint="the signature uses an algorithm this gpg does not support; update GnuPG",
    )


def _primary_fingerprint(valid: Status | None) -> str | None:
    """VALIDSIG carries the signing key first and, since GnuPG 1.4, the primary key tenth."""
    if valid is None or not valid.args:
        return None
    return (valid.args[9] if len(valid.args) > 9 else valid.args[0]).upper()


def _timestamp(field: Sequence[str]) -> int | None:
    """Seconds since the epoch; gpg may print ISO 8601 (``20261122T011308``) instead."""
    text = field[0] if field else ""
    if text.isdigit():
        return int(text)
    try:
        parsed = datetime.strptime(text, "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        return int(parsed.timestamp())
    except ValueError:
        return None
