"""Child processes that end with their parent, even when the parent is killed.

A process killed with SIGKILL (the OOM killer, a hub culling a server, ``kill -9``) runs no
clean-up, so its helpers (unpacker workers, the server's install worker) must notice by
themselves. On Linux the kernel does it: ``prctl(PR_SET_PDEATHSIG)`` asks for a signal when the
parent goes. The parent may already be gone by the time the child asks; the child then sees
another parent (init or a subreaper) and leaves at once. Elsewhere (no prctl) the helpers keep
their other signal: the end of their stdin pipe.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

#: <linux/prctl.h>
PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int, sig: int = signal.SIGTERM) -> bool:
    """Have ``sig`` sent to this process when ``parent`` ends; exit now if it has already.

    Returns whether the kernel will do it (False where prctl is unavailable). Note that Linux
    sends the signal when the parent *thread* that started us ends, so parents start their
    helpers from a thread that outlives them.
    """
    armed = _prctl_pdeathsig(sig)
    if os.getppid() != parent:  # the parent died before prctl: nobody would tell us
        os._exit(1)
    return armed


def _prctl_pdeathsig(sig: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return bool(libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False
