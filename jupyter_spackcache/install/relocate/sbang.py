"""Overlong shebangs (format doc §6.6): route them through the store's ``bin/sbang``.

Linux reads at most 127 bytes of a ``#!`` line, and relocated (often padded) prefixes easily
exceed that. Such scripts get ``#!/bin/sh <root>/bin/sbang`` as a new first line; the old
one becomes line two, written as a comment of the script's language where ``#`` is not one.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import stat
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from jupyter_spackcache.errors import InstallError

#: the shortest kernel limit in use (Linux); macOS allows 511
SHEBANG_LIMIT = 127
#: lines longer than this are left alone, as Spack does
MAX_SHEBANG_READ = 4096

_INTERPRETER = re.compile(rb"#![ \t]*([^ \t\0\n]+)")
_EXECUTABLE = stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH


def sbang_line(sbang: str) -> bytes:
    """The first line a patched script gets; the sbang path itself must fit the limit."""
    line = f"#!/bin/sh {sbang}\n".encode()
    if len(sbang) > SHEBANG_LIMIT:
        raise InstallError(
            f"cannot patch long shebangs: {sbang} is longer than {SHEBANG_LIMIT} characters",
            hint="use a shorter store root",
        )
    return line


def patched_shebang(first_line: bytes, new_first_line: bytes) -> bytes | None:
    """The two lines replacing ``first_line`` (which ends in ``\\n``), or None to leave it."""
    if len(first_line) <= SHEBANG_LIMIT or first_line == new_first_line:
        return None
    match = _INTERPRETER.match(first_line)
    if match is None:
        return None
    interpreter = match.group(1)
    if interpreter.endswith((b"/lua", b"/luajit")):
        second = b"--!" + first_line[2:]
    elif interpreter.endswith(b"/node"):
        second = b"//!" + first_line[2:]
    elif interpreter.endswith(b"/php"):
        second = b"<?php " + first_line.rstrip(b"\n") + b" ?>\n"
    else:
        second = first_line
    return new_first_line + second


def filter_shebangs(prefix: Path, sbang: str) -> list[Path]:
    """Patch every executable regular file under ``prefix`` whose shebang is too long."""
    new_first_line: bytes | None = None
    patched: list[Path] = []
    for found, mode in _executables(str(prefix)):
        path = Path(found)
        first_line = _first_line(path)
        if first_line is None or len(first_line) <= SHEBANG_LIMIT:
            continue
        if new_first_line is None:
            new_first_line = sbang_line(sbang)
        lines = patched_shebang(first_line, new_first_line)
        if lines is not None:
            _rewrite_head(path, len(first_line), lines, stat.S_IMODE(mode))
            patched.append(path)
    return patched


def _executables(top: str) -> Iterator[tuple[str, int]]:
    """Every executable regular file under ``top`` with its mode; symlinks are not followed."""
    pending = [top]
    while pending:
        with os.scandir(pending.pop()) as listing:
            entries = list(listing)  # read whole, like os.walk: the caller renames files here
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                pending.append(entry.path)
            elif entry.is_file(follow_symlinks=False):
                mode = entry.stat(follow_symlinks=False).st_mode
                if mode & _EXECUTABLE:
                    yield entry.path, mode


def _first_line(path: Path) -> bytes | None:
    """The ``#!`` line including its newline; None if absent, unreadable or too long."""
    try:
        with open(path, "rb") as f:
            if f.read(2) != b"#!":
                return None
            line = b"#!" + f.readline(MAX_SHEBANG_READ - 2)
    except PermissionError:
        return None
    if not line.endswith(b"\n"):
        return None
    return line


def _rewrite_head(path: Path, old_length: int, head: bytes, mode: int) -> None:
    """Replace the first ``old_length`` bytes with ``head`` via a sibling file and rename."""
    temporary = path.with_name(f".{path.name}.sbang-{secrets.token_hex(4)}")
    try:
        with open(path, "rb") as src, open(temporary, "xb") as dst:
            src.seek(old_length)
            dst.write(head)
            shutil.copyfileobj(src, dst, 1 << 20)
            os.fchmod(dst.fileno(), mode)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def sbang_script() -> bytes:
    """The POSIX sh ``sbang`` shipped with this package."""
    return resources.files(__package__).joinpath("sbang.sh").read_bytes()


def install_sbang(store_root: Path) -> Path:
    """Make sure ``<store_root>/bin/sbang`` exists (mode 0755); never half-written."""
    target = store_root / "bin" / "sbang"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".sbang-{secrets.token_hex(4)}")
    try:
        with open(temporary, "xb") as f:
            f.write(sbang_script())
            os.fchmod(f.fileno(), 0o755)
        with contextlib.suppress(FileExistsError):  # a concurrent installer was quicker
            os.link(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return target
