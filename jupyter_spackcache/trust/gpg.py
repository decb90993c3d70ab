"""Running gpg against a private home: deadlines, a clean environment, short socket paths.

Verification runs gpg directly (:func:`run_gpg`, the hot path of a plan); key management goes
through python-gnupg (:mod:`.pygpg`, imported only then). This module adds what an installer
needs around both: no run may hang forever, gpg's messages come out in English, and a home too
deep for gpg-agent's Unix sockets (108 bytes, including the file name) is reached through a
short private alias.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import SpackCacheError

GPG_TIMEOUT = 60.0
# sun_path holds 108 bytes including the terminating NUL; the longest socket gpg-agent makes
_SOCKET_PATH_MAX = 107
_LONGEST_SOCKET = "/S.gpg-agent.browser"
_ALIAS_ROOT = Path("/tmp")


def timed_out_error(seconds: float) -> SpackCacheError:
    return SpackCacheError(
        f"gpg did not finish within {seconds:g} seconds and was stopped",
        hint="check that `gpg --version` runs and that no other gpg holds the keyring lock",
    )


@dataclass(frozen=True)
class GpgRun:
    """What one gpg run printed: the output, the ``--status-fd 2`` text and the exit code."""

    returncode: int
    data: bytes
    stderr: str


def run_gpg(home: Path, args: Sequence[str], data: bytes) -> GpgRun:
    """One gpg run on ``home`` without an agent, ``data`` on stdin: the hot path of a plan.

    python-gnupg's three helper threads per run slow a plan's many verifications down
    measurably on few cores (BENCHMARKS.md); everything else goes through python-gnupg.
    Same deadline, environment and agent-less options as :func:`.pygpg.open_gpg`.
    """
    command = [
        gpg_binary(),
        "--homedir",
        str(home),
        "--status-fd",
        "2",
        "--no-tty",
        "--batch",
        "--no-verbose",
        *OFFLINE_OPTIONS,
        *args,
    ]
    try:
        done = subprocess.run(
            command,
            input=data,
            capture_output=True,
            env=gpg_env(),
            timeout=GPG_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise timed_out_error(GPG_TIMEOUT) from None
    except OSError as exc:
        raise cannot_run_error(home, exc) from None
    return GpgRun(done.returncode, done.stdout, done.stderr.decode("utf-8", "replace"))


def gpg_binary() -> str:
    binary = shutil.which("gpg") or shutil.which("gpg2")
    if binary is None:
        raise SpackCacheError(
            "gpg (GnuPG 2) is not installed or not on PATH",
            hint="install GnuPG, e.g. `apt install gnupg` or `conda install gnupg`",
        )
    return binary


#: every run: no key fetched from the network, no banner
COMMON_OPTIONS = ("--no-auto-key-retrieve", "--no-greeting")
#: runs that must not start gpg-agent (verifying, listing, importing public keys)
OFFLINE_OPTIONS = (*COMMON_OPTIONS, "--no-autostart")


def cannot_run_error(home: Path, exc: BaseException) -> SpackCacheError:
    return SpackCacheError(
        f"cannot run gpg on {home}: {exc}", hint="check that `gpg --version` works"
    )


def gpg_env() -> dict[str, str]:
    """The caller's environment, minus what could redirect gpg, with messages in English."""
    env = {k: v for k, v in os.environ.items() if k not in ("GNUPGHOME", "GPG_AGENT_INFO")}
    env["LC_ALL"] = "C"
    return env


def stop_agent(home: Path) -> None:
    """Stop the gpg-agent serving `home`, if one runs (signing and key creation start one)."""
    gpgconf = shutil.which("gpgconf")
    if gpgconf is None:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        subprocess.run(
            [gpgconf, "--homedir", str(home), "--kill", "gpg-agent"],
            env=gpg_env(),
            capture_output=True,
            timeout=GPG_TIMEOUT,
            check=False,
        )


def make_private_dir(path: Path) -> None:
    """Create `path` (and parents) with the 0700 mode gpg insists on for its home."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.stat()
        if info.st_mode & 0o077 and info.st_uid == os.geteuid():
            path.chmod(stat.S_IMODE(info.st_mode) & 0o700)
    except OSError as exc:
        raise SpackCacheError(
            f"cannot create the GnuPG home {path}: {exc.strerror or exc}",
            hint="check the permissions of SPACKCACHE_HOME",
        ) from None


def socket_safe_home(home: Path) -> Path:
    """`home` itself, or a short alias of it when gpg-agent's sockets would not fit sun_path."""
    if len(os.fsencode(home)) + len(_LONGEST_SOCKET) <= _SOCKET_PATH_MAX:
        return home
    return _short_alias(home)


def _short_alias(home: Path) -> Path:
    """A stable symlink /tmp/spackcache-gpg-UID/<hash of home> -> home, in a private directory.

    The directory must be ours and closed to others, or another local user could point the
    alias at a keyring of their choosing.
    """
    root = _ALIAS_ROOT / f"spackcache-gpg-{os.geteuid()}"
    try:
        root.mkdir(mode=0o700, exist_ok=True)
        info = root.lstat()
    except OSError as exc:
        raise _alias_error(home, str(exc)) from None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise _alias_error(home, f"{root} is not a private directory of this user")
    link = root / hashlib.sha256(os.fsencode(home)).hexdigest()[:16]
    try:
        if os.readlink(link) == str(home):
            return link
    except OSError:
        pass
    staging = root / f".{link.name}.{os.getpid()}.{threading.get_ident()}"
    try:
        staging.unlink(missing_ok=True)
        staging.symlink_to(home, target_is_directory=True)
        os.replace(staging, link)
    except OSError as exc:
        raise _alias_error(home, str(exc)) from None
    _prune_dangling(root)
    return link


def _prune_dangling(root: Path) -> None:
    """Drop aliases whose keyring is gone (deleted temporary homes)."""
    for entry in root.iterdir():
        if entry.is_symlink() and not entry.exists():
            entry.unlink(missing_ok=True)


def _alias_error(home: Path, why: str) -> SpackCacheError:
    return SpackCacheError(
        f"the GnuPG home {home} is too long for gpg-agent's sockets, and no short alias "
        f"could be made: {why}",
        hint="use a shorter SPACKCACHE_HOME, or make /tmp writable",
    )
