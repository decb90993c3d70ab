"""Absolute symlinks into old prefixes (format doc §6.4); relative links need nothing."""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from jupyter_spackcache.formats.elf import substitute_prefix


def relocate_link(link: Path, prefix_map: Sequence[tuple[bytes, bytes]]) -> bool:
    """Point ``link`` at the new prefix if its absolute target starts with an old one."""
    target = os.readlink(os.fsencode(link))
    if not target.startswith(b"/"):
        return False
    new_target = substitute_prefix(target, prefix_map)
    if new_target == target:
        return False
    # Make the new link beside the old one, then swap: the name never dangles or disappears.
    temporary = link.with_name(f".{link.name}.relocate-{secrets.token_hex(4)}")
    os.symlink(new_target, os.fsencode(temporary))
    os.replace(temporary, link)
    return True
