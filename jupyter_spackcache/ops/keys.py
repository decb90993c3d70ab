"""Keys trust and untrust: which signing keys this user's keyring accepts.

A mirror's keys are shown (inspected, not imported) before they are trusted, and trusting
names them: a front door asks the user (the CLI on a terminal, the panel with a preview), so
nothing here trusts a key nobody looked at. Fingerprints the site pins for a mirror are the
only ones that may be trusted for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import PolicyError, SignatureError
from ..trust.keys import normalize_fingerprint

if TYPE_CHECKING:
    from ..config import Config
    from ..mirrors.catalog import Catalog
    from ..trust import KeyInfo, Keyring


@dataclass(frozen=True, slots=True)
class TrustRequest:
    mirror: str
    #: the keys to trust; empty means every key the mirror publishes (pinned ones, if pinned)
    fingerprints: tuple[str, ...] = ()


def mirror_keys(
    mirror_name: str, *, config: Config, catalog: Catalog, keyring: Keyring
) -> list[KeyInfo]:
    """The keys a mirror publishes, inspected but not imported (for the user to check)."""
    mirror = config.mirror(mirror_name)
    if mirror.unsigned:
        return []
    reader = catalog.reader(mirror)
    found: dict[str, KeyInfo] = {}
    for armored in reader.public_keys():
        for info in keyring.inspect(armored):
            found[info.fingerprint] = info
    return list(found.values())


def trust_keys(
    request: TrustRequest, *, config: Config, catalog: Catalog, keyring: Keyring
) -> list[KeyInfo]:
    """Import the named keys of a mirror into the keyring; the keys imported."""
    mirror_name = request.mirror
    mirror = config.mirror(mirror_name)
    blocks = catalog.reader(mirror).public_keys()
    if not blocks:
        raise SignatureError(
            f"mirror '{mirror_name}' publishes no public keys",
            hint="get the key from its maintainers and run `spackcache keys import FILE`",
        )
    wanted = {normalize_fingerprint(f) for f in request.fingerprints}
    pinned = set(mirror.fingerprints)
    if pinned:
        outside = wanted - pinned
        if outside:  # the site (or the user's own config) decided: a policy refusal
            raise PolicyError(
                f"key(s) {', '.join(sorted(outside))} are not among the fingerprints pinned "
                f"for mirror '{mirror_name}'",
                hint="the site or your config pins this mirror's keys; trust only those",
            )
        wanted = wanted or pinned
    imported: list[KeyInfo] = []
    remaining = set(wanted)
    for armored in blocks:
        available = {k.fingerprint for k in keyring.inspect(armored)}
        take = available & wanted if wanted else available
        if take:
            imported.extend(keyring.import_keys(armored, only=sorted(take)))
            remaining -= take
    if remaining:
        raise SignatureError(
            f"mirror '{mirror_name}' does not publish key(s) {', '.join(sorted(remaining))}",
            hint=f"see `spackcache keys list --mirror {mirror_name}` for what it offers",
        )
    return imported


def untrust_key(fingerprint: str, *, keyring: Keyring) -> str:
    """Remove a key from the keyring; the fingerprint as normalised."""
    normal = normalize_fingerprint(fingerprint)
    keyring.remove(normal)
    return normal
