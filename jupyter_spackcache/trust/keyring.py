"""The private GnuPG keyring: the only keys whose signatures an install accepts.

It lives in its own GnuPG home (never the user's ``~/.gnupg``), like Spack's
``$SPACK_GNUPGHOME``: a mirror's key is imported there on purpose (``keys trust``), marked
ultimately trusted, and from then on any good signature by it is accepted, unless the mirror
pins fingerprints. Verification needs no gpg-agent; threads verifying at the same time share
gpg runs (:mod:`.batch`).
"""

from __future__ import annotations

import functools
import re
import shutil
import tempfile
from collections.abc import Collection, Iterable
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..errors import SignatureError, SpackCacheError
from ..formats.clearsign import parse_cleartext
from .batch import Checked, GroupRunner, verify_files
from .gpg import make_private_dir, run_gpg, socket_safe_home, stop_agent
from .keys import KeyInfo, key_infos, normalize_fingerprint, normalize_fingerprints
from .verdict import Verified, last_gpg_message, parse_status, signer_from_status

if TYPE_CHECKING:
    from .pygpg import TimedGPG

_EMAIL = re.compile(r"[^@\s<>()]+@[^@\s<>()]+")
_KEY_TYPE = re.compile(r"[A-Za-z0-9-]+")
_REFETCH = "do not install it; fetch it again, and tell the mirror's owner if it persists"
#: Verifying needs no randomness and no trust database (the keyring's keys are the trusted
#: ones, hence ``--always-trust``). Without these options every gpg run rewrites
#: ``random_seed`` under a lock on exit, and concurrent runs back off on that lock for up to a
#: second each, which serialises a plan's parallel verifications (BENCHMARKS.md).
_VERIFY_OPTIONS = ["--always-trust", "--no-random-seed-file", "--no-auto-check-trustdb"]


class Keyring:
    """A private GnuPG home, created with mode 0700 on first use."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home).absolute()
        make_private_dir(self.home)
        self._gpg_home: Path | None = None
        self._offline: TimedGPG | None = None
        self._agent: TimedGPG | None = None
        #: concurrent verifications share gpg runs (a plan verifies one manifest per node)
        self._batches: GroupRunner[bytes, Checked] = GroupRunner(
            functools.partial(verify_files, self.home, _VERIFY_OPTIONS)
        )

    def __repr__(self) -> str:
        return f"Keyring({str(self.home)!r})"

    def __enter__(self) -> Keyring:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def gpg_home(self) -> Path:
        """The home as given to gpg when an agent is involved: `home`, or a short alias of it.

        gpg-agent's sockets live in the home and must fit in 108 bytes; runs that need no
        agent use `home` directly, so verifying never depends on the alias.
        """
        if self._gpg_home is None:
            self._gpg_home = socket_safe_home(self.home)
        return self._gpg_home

    def close(self) -> None:
        """Stop the gpg-agent that signing, key creation or secret imports may have started."""
        if self._agent is not None or (self.home / "S.gpg-agent").exists():
            stop_agent(self.gpg_home)
            self._agent = None

    # ---- verification (hot path: shared gpg runs, no agent) -------------------------------------

    def verify_clearsigned(
        self, text: str | bytes, *, allowed: Collection[str] | None = None
    ) -> Verified:
        """Check a clear-signed text against the keyring (and the pins), return its signed body.

        Only the signed body is returned, and only if it is exactly what gpg verified; text
        appended after the signature block is refused rather than silently dropped.
        """
        message = _as_text(text)
        cleartext = parse_cleartext(message)
        pins = None if allowed is None else normalize_fingerprints(allowed)
        if cleartext.trailer.strip():
            raise SignatureError(
                "unsigned text follows the signature block: the file was altered",
                hint=_REFETCH,
            )
        data = message.encode("utf-8")
        checked = self._batches.run(data)
        if checked is not None:
            signer, verified = checked.signer, checked.data
        else:  # on its own: gpg's verdict for this one file, worded as such
            result = run_gpg(self.home, [*_VERIFY_OPTIONS, "--decrypt"], data)
            signer = signer_from_status(
                parse_status(result.stderr), result.returncode, result.stderr
            )
            verified = result.data
        if verified.decode("utf-8", "replace") != cleartext.payload:
            raise SignatureError(
                "the text gpg verified differs from the file's signed block: the file is malformed",
                hint=_REFETCH,
            )
        if pins is not None and not signer.matches(pins):
            raise SignatureError(
                f"signed by key {signer.fingerprint}, which is not a pinned key of this mirror",
                hint="if the mirror's owner confirms a new key, add its fingerprint to the "
                "mirror's pinned fingerprints",
            )
        return Verified(cleartext.payload, signer.fingerprint, signer.signed_at)

    # ---- public keys ------------------------------------------------------------------------

    def inspect(self, armored: str) -> list[KeyInfo]:
        """What a key block holds, without importing anything (to show before trusting)."""
        found = key_infos(self._gpg().scan_keys_mem(_as_bytes(armored)))
        if not found:
            raise SignatureError(
                "no OpenPGP key found in the key data",
                hint="expected an ASCII-armored -----BEGIN PGP PUBLIC KEY BLOCK-----",
            )
        return found

    def import_keys(self, armored: str, *, only: Collection[str] | None = None) -> list[KeyInfo]:
        """Import and ultimately trust the public keys of a block (or just the `only` ones).

        Secret parts in the block are never imported here (see :meth:`import_secret`). When a
        requested fingerprint is missing, nothing is imported.
        """
        present = {key.fingerprint for key in self.inspect(armored)}
        wanted = sorted(present) if only is None else sorted(normalize_fingerprints(only))
        missing = [fingerprint for fingerprint in wanted if fingerprint not in present]
        if missing:
            raise SignatureError(
                f"key {missing[0]} is not in the key data (it holds {', '.join(sorted(present))})",
                hint="the mirror may have changed its key; confirm the fingerprint with its owner",
            )
        result = self._gpg().import_keys(self._public_part(armored, wanted))
        self._check_imported(result, wanted)
        self._trust(wanted)
        return self._listed(wanted)

    def list_keys(self, *, secret: bool = False) -> list[KeyInfo]:
        """Keys in the keyring; with `secret`, only those whose secret part is here too."""
        if secret:
            if not self._may_hold_secrets():
                return []
            listing = key_infos(self._gpg(agent=True).list_keys(secret=True))
            return [replace(key, has_secret=True) for key in listing]
        secrets = {key.fingerprint for key in self.list_keys(secret=True)}
        return [
            replace(key, has_secret=key.fingerprint in secrets)
            for key in key_infos(self._gpg().list_keys())
        ]

    def remove(self, fingerprint: str) -> None:
        """Delete a key, secret part included; an unknown fingerprint changes nothing."""
        wanted = normalize_fingerprint(fingerprint)
        known = {key.fingerprint: key for key in self.list_keys()}
        if wanted not in known:
            raise SpackCacheError(
                f"no key {wanted} in the keyring", hint="`spackcache keys list` shows its keys"
            )
        if known[wanted].has_secret:
            result = self._gpg(agent=True).delete_keys(wanted, secret=True, expect_passphrase=False)
            _check_deleted(result, wanted)
        _check_deleted(self._gpg().delete_keys(wanted), wanted)

    def export_public(self, fingerprint: str) -> str:
        """The ASCII-armored public key, as a mirror publishes it (``_pgp/<FPR>.pub``)."""
        wanted = normalize_fingerprint(fingerprint)
        exported = self._gpg().export_keys(wanted)
        if not exported.strip():
            raise SpackCacheError(
                f"no key {wanted} in the keyring", hint="`spackcache keys list` shows its keys"
            )
        return str(exported)

    # ---- signing (needs gpg-agent, which gpg starts; no pinentry is ever shown) --------------

    def create_key(
        self, name: str, email: str, *, key_type: str = "RSA", key_length: int = 4096
    ) -> KeyInfo:
        """Create an unprotected signing key (like ``spack gpg create``) and return it."""
        _check_user_id(name, email)
        if not _KEY_TYPE.fullmatch(key_type) or key_length <= 0:
            raise SpackCacheError(f"unsupported key type {key_type!r}/{key_length}")
        gpg = self._gpg(agent=True)
        parameters = gpg.gen_key_input(
            key_type=key_type,
            key_length=key_length,
            key_usage="sign",
            name_real=name,
            name_email=email,
            expire_date=0,
            no_protection=True,
        )
        result = gpg.gen_key(parameters)
        if not result.fingerprint:
            raise SpackCacheError(
                f"gpg could not create the key: {last_gpg_message(result.stderr)}",
                hint="check that gpg-agent can start (`gpg-agent --version`)",
            )
        return self._listed([str(result.fingerprint).upper()])[0]

    def import_secret(self, armored: str) -> list[KeyInfo]:
        """Import secret keys (to sign with them here); they are ultimately trusted too."""
        found = [key for key in self.inspect(armored) if key.has_secret]
        if not found:
            raise SignatureError(
                "the key data holds no secret key",
                hint="export it with `gpg --export-secret-keys --armor FINGERPRINT`",
            )
        result = self._gpg(agent=True).import_keys(_as_bytes(armored))
        wanted = [key.fingerprint for key in found]
        self._check_imported(result, wanted)
        if result.sec_read > result.sec_imported + result.sec_dups:
            raise SpackCacheError(
                f"gpg could not import the secret key: {last_gpg_message(result.stderr)}",
                hint="export the key without a passphrase; this keyring never asks for one",
            )
        self._trust(wanted)
        return self._listed(wanted)

    def sign_clear(self, text: str, fingerprint: str) -> str:
        """Clear-sign `text` with a secret key of this keyring (SHA-512, as Spack does)."""
        signer = normalize_fingerprint(fingerprint)
        result = self._gpg(agent=True).sign(
            text.encode("utf-8"),
            clearsign=True,
            extra_args=["--local-user", signer, "--digest-algo", "SHA512"],
        )
        if not result.data or result.status != "signature created":
            raise SpackCacheError(
                f"gpg could not sign with key {signer}: {last_gpg_message(result.stderr)}",
                hint="`spackcache keys list` shows which keys can sign (they need a secret part)",
            )
        return str(result.data.decode("utf-8"))

    # ---- helpers ----------------------------------------------------------------------------

    def _gpg(self, *, agent: bool = False) -> TimedGPG:
        from .pygpg import open_gpg

        if agent:
            if self._agent is None:
                self._agent = open_gpg(self.gpg_home, agent=True)
            return self._agent
        if self._offline is None:
            self._offline = open_gpg(self.home, agent=False)
        return self._offline

    def _may_hold_secrets(self) -> bool:
        """Whether gpg-agent must be asked about secret keys; a verify-only home never does.

        gpg keeps secret keys in ``private-keys-v1.d/*.key``; when there is none, starting an
        agent just to hear "no secret keys" is skipped.
        """
        return any((self.home / "private-keys-v1.d").glob("*.key"))

    def _public_part(self, armored: str, fingerprints: Iterable[str]) -> bytes:
        """The public keys `fingerprints` of a block, filtered through a throwaway home."""
        from .pygpg import open_gpg

        scratch = Path(tempfile.mkdtemp(prefix="spackcache-gpg-"))
        try:
            gpg = open_gpg(scratch, agent=False)
            gpg.import_keys(_as_bytes(armored))
            exported: bytes = gpg.export_keys(list(fingerprints), armor=False)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return exported

    def _check_imported(self, result: Any, wanted: Iterable[str]) -> None:
        imported = {str(fingerprint).upper() for fingerprint in result.fingerprints}
        lost = [fingerprint for fingerprint in wanted if fingerprint not in imported]
        if lost:
            raise SignatureError(
                f"gpg did not import key {lost[0]}: {last_gpg_message(result.stderr)}",
                hint="the key may be damaged or unusable (e.g. no valid user id)",
            )

    def _trust(self, fingerprints: list[str]) -> None:
        """Mark keys ultimately trusted, as ``spack buildcache keys --trust`` does."""
        try:
            self._gpg().trust_keys(fingerprints, "TRUST_ULTIMATE")
        except ValueError as exc:
            raise SpackCacheError(f"gpg could not record trust in the keys: {exc}") from None

    def _listed(self, fingerprints: list[str]) -> list[KeyInfo]:
        wanted = set(fingerprints)
        return [key for key in self.list_keys() if key.fingerprint in wanted]


def _check_deleted(result: Any, fingerprint: str) -> None:
    if str(result) != "ok":
        raise SpackCacheError(
            f"gpg could not delete key {fingerprint}: {last_gpg_message(result.stderr)}"
        )


def _check_user_id(name: str, email: str) -> None:
    """gpg's batch key parameters are line-based; a newline in a name would inject one."""
    if not name.strip() or any(ord(ch) < 32 or ch in "<>" for ch in name):
        raise SpackCacheError(f"unusable key name {name!r}", hint="use a plain name")
    if not _EMAIL.fullmatch(email):
        raise SpackCacheError(
            f"unusable e-mail address {email!r}", hint="use a plain address like you@example.org"
        )


def _as_text(text: str | bytes) -> str:
    if isinstance(text, str):
        return text
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError:
        raise SignatureError(
            "the signed file is not UTF-8 text", hint="the file is damaged; fetch it again"
        ) from None


def _as_bytes(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode("utf-8")
