"""Prefix substitution in text files (format doc §6.2), matching Spack's rule byte for byte.

An old prefix is replaced only where it starts a path: it may be glued to a run of
``[A-Za-z0-9_-]`` (``-I``, ``-L``...), but the character before that run must not itself be
a word character, ``-``, ``_`` or ``/``. So ``/opt/x`` is replaced in ``-I/opt/x/include`` but
not in ``/data/opt/x``. All prefixes share one alternation in map order, so the first (most
specific) one wins where several start at the same place.

Running that regex over a whole file costs a Python-level step per byte. Every match contains
an old prefix, and old prefixes start with ``/``, which cannot be part of the glued run: so a
match can only start at the beginning of the run just before an occurrence. We find the
occurrences with ``bytes.find`` and apply the regex's rule there by hand (the regex itself is
compiled only for maps with a prefix that does not start with ``/``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from jupyter_spackcache.formats.buildinfo import prefix_reference_regex

#: bytes allowed in the run glued before a prefix (``\w`` and ``-`` in a bytes regex)
_RUN = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


#: bytes that may not come just before the glued run (the regex's lookbehind)
_BLOCKED = _RUN | frozenset(b"/")


@dataclass(frozen=True)
class TextRelocator:
    """A prefix map compiled once and applied to any number of file contents."""

    olds: tuple[bytes, ...]
    news: dict[bytes, bytes]

    @classmethod
    def from_map(cls, prefix_map: Sequence[tuple[str, str]]) -> TextRelocator:
        olds = tuple(old.encode("utf-8") for old, _ in prefix_map)
        news = {old.encode("utf-8"): new.encode("utf-8") for old, new in prefix_map}
        return cls(olds, news)

    @cached_property
    def pattern(self) -> re.Pattern[bytes]:
        """Spack's rule as a regex. Compiling an alternation of long padded prefixes is slow
        next to relocating a small package, so it is built only for maps with a prefix not
        starting with ``/``."""
        return prefix_reference_regex(self.olds)

    def apply(self, data: bytes) -> bytes:
        """``data`` with every old prefix replaced; the same object when nothing matched."""
        starts = self._occurrences(data)
        if not starts:
            return data
        if not all(old.startswith(b"/") for old in self.olds):
            return self.pattern.sub(self._replacement, data)  # the shortcut needs the '/'
        pieces: list[bytes] = []
        done = 0
        for position in starts:
            if position < done:
                continue  # swallowed by the previous match's path tail
            start = position
            while start > done and data[start - 1] in _RUN:
                start -= 1
            if start > 0 and data[start - 1] in _BLOCKED:
                continue  # the regex's lookbehind fails: no match starts here
            old = next(o for o in self.olds if data.startswith(o, position))
            end = position + len(old)
            while end < len(data) and data[end] in _BLOCKED:
                end += 1  # the path tail: [\w\-/]*
            pieces += (
                data[done:start],
                data[start:position],
                self.news[old],
                data[position + len(old) : end],
            )
            done = end
        if not pieces:
            return data
        pieces.append(data[done:])
        return b"".join(pieces)

    def _occurrences(self, data: bytes) -> list[int]:
        found: set[int] = set()
        for old in self.olds:
            position = data.find(old)
            while position != -1:
                found.add(position)
                position = data.find(old, position + 1)
        return sorted(found)

    def _replacement(self, match: re.Match[bytes]) -> bytes:
        return match.group(1) + self.news[match.group(2)] + match.group(3)
