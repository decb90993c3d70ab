"""Prefixes embedded anywhere in a binary (format doc §6.3, pass 2).

Strings in a binary cannot change length, so a shorter new prefix is left-padded with ``/``
(``/opt/x`` -> ``////new``), which path lookup reads as one slash. One catch: linkers merge
NUL-terminated strings that share a suffix, so another string may *start inside* the tail of
ours. Left-padding keeps that tail intact only if the old and new prefixes end alike. When a
NUL follows within ``SUFFIX_SAFETY`` bytes and they do not, the string is rewritten as
``new + tail + NUL`` instead: it ends before the original tail, which stays in place for any
merged string pointing into it; this needs the string to shrink by more than
``SUFFIX_SAFETY`` bytes. These are exactly Spack's rules.
"""

from __future__ import annotations

from collections.abc import Sequence

#: how far past a prefix to look for the NUL that ends a C string
SUFFIX_SAFETY = 7

Patch = tuple[int, bytes]


class StringRelocationError(ValueError):
    """A prefix in a binary cannot be replaced without changing its length."""


Buffer = bytes | bytearray
ByteMap = Sequence[tuple[bytes, bytes]]


def string_patches(data: Buffer, prefix_map: ByteMap) -> list[Patch]:
    """Same-length patches replacing every old prefix in ``data``.

    Matches are found left to right without overlap; where two old prefixes start at the
    same offset the earlier map entry wins, as in a regex alternation.
    """
    patches: list[Patch] = []
    resume = 0
    for start, index in _occurrences(data, prefix_map):
        if start < resume:
            continue  # inside (or tail of) a match already taken
        old, new = prefix_map[index]
        end = start + len(old)
        nul = data.find(b"\0", end, end + SUFFIX_SAFETY + 1)
        tail = None if nul == -1 else bytes(data[end : nul + 1])
        patches.append((start, _replacement(old, new, tail)))
        resume = end if tail is None else nul + 1
    return patches


def _occurrences(data: Buffer, prefix_map: ByteMap) -> list[tuple[int, int]]:
    """``(offset, map index)`` of every occurrence of every old prefix, in scan order."""
    found: list[tuple[int, int]] = []
    for index, (old, _) in enumerate(prefix_map):
        pos = data.find(old)
        while pos != -1:
            found.append((pos, index))
            pos = data.find(old, pos + 1)
    found.sort()
    return found


def _replacement(old: bytes, new: bytes, tail: bytes | None) -> bytes:
    shrink = len(old) - len(new)
    if shrink < 0:
        raise StringRelocationError(
            f"cannot grow the embedded path {old.decode(errors='replace')} to "
            f"{new.decode(errors='replace')}"
        )
    if tail is None:
        return b"/" * shrink + new
    keep = SUFFIX_SAFETY - (len(tail) - 1)  # prefix bytes a merged suffix string may still use
    if keep <= 0 or old[-keep:] == new[-keep:]:
        return b"/" * shrink + new
    if shrink > SUFFIX_SAFETY:
        return new + tail
    raise StringRelocationError(
        f"cannot shorten the C string {bytes(old + tail[:-1]).decode(errors='replace')} to "
        f"start with {new.decode(errors='replace')}"
    )
