"""Delete a directory tree of any depth, even one a package made read-only.

``shutil.rmtree`` recurses once per directory level (on Python 3.11), so a tarball with a
thousand nested directories leaves a staging directory it cannot delete, and every later
install into that root fails. This walk is iterative and holds one directory descriptor at a
time (it climbs back with ``..``), so neither the call stack nor the open files grow with
depth, and no path longer than one name is ever handed to the kernel.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def remove_tree(path: str | os.PathLike[str], *, ignore_errors: bool = False) -> None:
    """Remove ``path`` and everything under it (symlinks are removed, never followed)."""
    try:
        _remove(Path(path))
    except FileNotFoundError:
        pass
    except OSError:
        if not ignore_errors:
            raise


def _remove(path: Path) -> None:
    if not path.is_dir() or path.is_symlink():
        path.unlink()
        return
    with contextlib.suppress(OSError):
        os.chmod(path, 0o700)
    fd = os.open(path, _DIR_FLAGS)
    try:
        #: the current path below ``path``, and the subdirectories left to remove per level
        names: list[str] = []
        pending = [_clear(fd)]
        while pending:
            if pending[-1]:
                name = pending[-1].pop()
                with contextlib.suppress(OSError):
                    os.chmod(name, 0o700, dir_fd=fd)
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = child
                names.append(name)
                pending.append(_clear(fd))
                continue
            pending.pop()
            if names:
                parent = os.open("..", _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = parent
                os.rmdir(names.pop(), dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(path)


def _clear(fd: int) -> list[str]:
    """Unlink every non-directory in the directory ``fd``; return its subdirectories."""
    subdirs: list[str] = []
    with os.scandir(fd) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                subdirs.append(entry.name)
            else:
                os.unlink(entry.name, dir_fd=fd)
    return subdirs
