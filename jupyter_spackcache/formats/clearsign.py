"""Reading PGP cleartext-signed messages (RFC 4880 §7) without verifying them.

Spack marks a signed file only by its first line and, with signatures off, simply takes the
body. Verification (``keyring.py``) compares what gpg says was signed with what this module
reads, so the two must agree byte for byte: the body is returned exactly as gpg emits it
(dash-escapes removed, trailing blanks of each line dropped, line endings kept).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import SignatureError

BEGIN_MESSAGE = "-----BEGIN PGP SIGNED MESSAGE-----"
BEGIN_SIGNATURE = "-----BEGIN PGP SIGNATURE-----"
END_SIGNATURE = "-----END PGP SIGNATURE-----"

# one line and its ending; \r\n and \n are the only line breaks the format knows
_LINE = re.compile(r"([^\n]*?)(\r?\n|\Z)")


@dataclass(frozen=True)
class Cleartext:
    """The parts of a clear-signed message."""

    headers: tuple[str, ...]  # armor headers such as "Hash: SHA512"
    payload: str  # the signed text, as gpg outputs it
    signature: str  # the armored signature block, BEGIN to END line
    trailer: str  # whatever follows the END line (never signed)

    @property
    def signed_text(self) -> str:
        """The payload without the line break ahead of the signature block, which belongs to
        the armor, not to the text (RFC 4880 §7.1): for Spack's manifests, the exact bytes
        that were signed."""
        for ending in ("\r\n", "\n"):
            if self.payload.endswith(ending):
                return self.payload[: -len(ending)]
        return self.payload


def is_clearsigned(text: str) -> bool:
    """True when `text` is a clear-signed message (Spack's own test: the first line)."""
    return text.startswith(BEGIN_MESSAGE)


def clearsigned_payload(text: str) -> str:
    """The signed body of a clear-signed message, dash-unescaped; nothing is verified."""
    return parse_cleartext(text).payload


def strip_clearsign(text: str) -> str:
    """The signed body when ``text`` is clear-signed, else ``text`` itself; nothing is verified.

    For files whose signature does not matter (indices and keys, which Spack never signs, an
    unsigned mirror's metadata, a mirror being written); trust decisions use the keyring.
    """
    return parse_cleartext(text).signed_text if is_clearsigned(text) else text


def parse_cleartext(text: str) -> Cleartext:
    """Split a clear-signed message into its parts, or raise :class:`SignatureError`."""
    if not is_clearsigned(text):
        raise SignatureError(
            f"not clear-signed: the text does not start with {BEGIN_MESSAGE}",
            hint="the mirror served an unsigned or damaged file; fetch it again",
        )
    lines = _split_lines(text)
    if lines[0][0].rstrip() != BEGIN_MESSAGE:
        raise _malformed("its first line has extra text after the armor marker")
    index = 1
    headers: list[str] = []
    while index < len(lines) and lines[index][0].strip():
        headers.append(lines[index][0].strip())
        index += 1
    index += 1  # the blank line between headers and text
    body: list[str] = []
    while index < len(lines) and lines[index][0].rstrip() != BEGIN_SIGNATURE:
        content, ending = lines[index]
        if content.startswith("- "):
            content = content[2:]
        body.append(content.rstrip(" \t") + ending)
        index += 1
    start = index
    while index < len(lines) and lines[index][0].rstrip() != END_SIGNATURE:
        index += 1
    if index >= len(lines):
        raise _malformed("the signature block is missing or cut off")
    signature = "".join(content + ending for content, ending in lines[start : index + 1])
    trailer = "".join(content + ending for content, ending in lines[index + 1 :])
    return Cleartext(tuple(headers), "".join(body), signature, trailer)


def _split_lines(text: str) -> list[tuple[str, str]]:
    """(content, line ending) pairs; the ending is "" only for an unterminated last line."""
    pairs = [(m.group(1), m.group(2)) for m in _LINE.finditer(text)]
    if pairs and pairs[-1] == ("", ""):
        pairs.pop()
    return pairs


def _malformed(why: str) -> SignatureError:
    return SignatureError(
        f"malformed clear-signed message: {why}",
        hint="the file is truncated or damaged; fetch it again from the mirror",
    )
