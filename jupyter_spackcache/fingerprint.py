"""An OpenPGP key fingerprint, written one way everywhere it is compared.

Users paste fingerprints as gpg prints them (groups of four separated by spaces), with a ``0x``
prefix, or in lower case; pins in a site file and keys in a keyring must still compare equal.
Only full fingerprints are accepted (40 hex digits for v4 keys, 64 for v5/v6 keys): short and
long key ids can be forged cheaply, so accepting them would make a pin worthless.
"""

from __future__ import annotations

import re

_FULL = re.compile(r"[0-9A-F]{40}|[0-9A-F]{64}")


class FingerprintError(ValueError):
    """Not a full key fingerprint; callers turn it into their own one-line error."""


class Fingerprint(str):
    """Upper-case hex, no spaces, no ``0x``: the form gpg's machine output uses.

    A ``str`` so that it goes wherever a fingerprint string went before (JSON, gpg arguments,
    sets of strings) without conversions at every edge.
    """

    __slots__ = ()

    def __new__(cls, value: object) -> Fingerprint:
        compact = "".join(str(value).split()).upper().removeprefix("0X")
        if not _FULL.fullmatch(compact):
            raise FingerprintError(
                f"not a key fingerprint: {value!r} (expected 40 or 64 hexadecimal digits)"
            )
        return super().__new__(cls, compact)


def fingerprints(values: object) -> tuple[Fingerprint, ...]:
    """Each of ``values`` (a list, or one string) as a :class:`Fingerprint`, order kept."""
    items = [values] if isinstance(values, str) else list(values or ())  # type: ignore[call-overload]
    return tuple(dict.fromkeys(Fingerprint(v) for v in items))
