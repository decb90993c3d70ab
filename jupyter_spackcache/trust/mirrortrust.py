"""How far one mirror's packages can be checked here: its own keys against the user's keyring.

A badge that turns green because *some* key is trusted lies about every other mirror, so the
state is worked out per mirror from what that mirror publishes (or what the site pins for it)
and the fingerprints in this user's keyring. Pure: the caller reads the keyring and the
mirror's keys, which keeps this testable without gpg or a network.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

TrustState = Literal["trusted", "untrusted", "unsigned", "unknown"]


@dataclass(frozen=True, slots=True)
class MirrorTrust:
    """``state``: trusted (a key that may sign it is trusted), untrusted (signed, but none of
    its keys is trusted yet), unsigned (not verified at all) or unknown (its keys could not be
    read: ``problem`` says why)."""

    state: TrustState
    #: fingerprints that may sign this mirror: the pinned ones, else the ones it publishes
    keys: tuple[str, ...]
    #: those of ``keys`` that the keyring trusts
    trusted_keys: tuple[str, ...]
    problem: str | None = None


def mirror_trust(
    *,
    unsigned: bool,
    pinned: Sequence[str],
    published: Sequence[str] | None,
    trusted: Collection[str],
    problem: str | None = None,
) -> MirrorTrust:
    """The trust state of a mirror.

    ``published`` is None when the mirror's keys could not be read (``problem`` says why);
    pinned fingerprints still decide then, since only they may sign its packages anyway.
    """
    if unsigned:
        return MirrorTrust("unsigned", (), ())
    keys = tuple(pinned) if pinned else tuple(published or ())
    ok = tuple(f for f in keys if f in trusted)
    if ok:
        return MirrorTrust("trusted", keys, ok)
    if published is None and not pinned:
        return MirrorTrust("unknown", keys, (), problem)
    return MirrorTrust("untrusted", keys, (), problem)
