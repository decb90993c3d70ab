"""The signature policy shared by every signed layout (v2 ``.spec.json.sig``, v3 manifests).

Signed unless the mirror is *explicitly* configured unsigned: an unsigned mirror may still serve
signed files (their signature is then ignored, as Spack does with ``signed: false``), but a
signed mirror may never serve unsigned metadata.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import SignatureError
from ..formats.clearsign import is_clearsigned, strip_clearsign

if TYPE_CHECKING:
    from ..config import MirrorConfig
    from ..trust import Keyring


def signed_payload(
    text: str, *, mirror: MirrorConfig, keyring: Keyring | None, what: str
) -> tuple[str, str | None]:
    """Return ``(payload, signer fingerprint or None)`` for a metadata file, or raise."""
    if mirror.unsigned:
        return strip_clearsign(text), None
    if not is_clearsigned(text):
        raise SignatureError(
            f"{what} from mirror '{mirror.name}' is not signed, and the mirror is not marked "
            "unsigned",
            hint=f"if you trust it without signatures: `spackcache mirror remove {mirror.name}` "
            f"then `spackcache mirror add {mirror.name} {mirror.url} --unsigned`",
        )
    if keyring is None:
        raise SignatureError(f"cannot verify {what}: no keyring available")
    try:
        verified = keyring.verify_clearsigned(text, allowed=mirror.fingerprints or None)
    except SignatureError as exc:
        hint = exc.hint or "trust the mirror's key with `spackcache keys trust --mirror NAME`"
        raise SignatureError(
            f"{what} from mirror '{mirror.name}': {exc.message}",
            hint=hint.replace("--mirror NAME", f"--mirror {mirror.name}"),
        ) from None
    return verified.payload, verified.fingerprint
