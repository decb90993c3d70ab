"""python-gnupg for key management (import, export, sign, create), with a deadline per run.

Kept apart from :mod:`.gpg` so that commands that only verify signatures (every install) do
not import python-gnupg at all.
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path
from typing import Any

import gnupg

from .gpg import (
    COMMON_OPTIONS,
    GPG_TIMEOUT,
    OFFLINE_OPTIONS,
    cannot_run_error,
    gpg_binary,
    gpg_env,
    timed_out_error,
)


class TimedGPG(gnupg.GPG):  # type: ignore[misc]
    """python-gnupg with a deadline on every gpg run (a wedged agent must not hang installs)."""

    timeout: float = GPG_TIMEOUT

    def _collect_output(
        self, process: subprocess.Popen[bytes], result: Any, writer: Any = None, stdin: Any = None
    ) -> int:
        expired = threading.Event()

        def stop() -> None:
            expired.set()
            process.kill()

        timer = threading.Timer(self.timeout, stop)
        timer.daemon = True
        timer.start()
        try:
            returncode: int = super()._collect_output(process, result, writer, stdin)
        finally:
            timer.cancel()
        if expired.is_set():
            raise timed_out_error(self.timeout)
        return returncode


def open_gpg(home: Path, *, agent: bool) -> TimedGPG:
    """A gpg wrapper for `home`; without `agent`, gpg may not start gpg-agent at all.

    Verifying, listing and importing public keys need no agent, so they never start one: a
    keyring that only checks signatures leaves no daemon behind.
    """
    options = [*COMMON_OPTIONS, "--pinentry-mode", "loopback"] if agent else [*OFFLINE_OPTIONS]
    binary = gpg_binary()
    try:
        return TimedGPG(gpgbinary=binary, gnupghome=str(home), options=options, env=gpg_env())
    except (OSError, ValueError) as exc:
        raise cannot_run_error(home, exc) from None
