"""Offer a notebook lock to the JupyterLab frontend, which keeps it in the notebook's metadata.

Each ``%spack lock`` opens a comm to the target :data:`COMM_TARGET` with the lock document as
its data. The jupyter-spackcache labextension stores it as ``metadata.spackcache.lock`` and
answers ``{"saved": true}``; a frontend without the extension closes the comm, and a headless
client (nbclient) does nothing.

Why the answer cannot be awaited inside the cell: the kernel dispatches comm messages on the
same loop that is running the cell, so a reply is only handled once ``%spack lock`` has
returned. The bridge therefore remembers that this kernel's frontend stored a lock, and later
locks say so; the lock file beside the notebook is always written as well.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import comm
from comm.base_comm import BaseComm

COMM_TARGET = "jupyter_spackcache.lock"


def is_saved_reply(msg: Mapping[str, Any]) -> bool:
    """True for the frontend's ``{"saved": true}`` answer (a comm_msg message)."""
    content = msg.get("content")
    data = content.get("data") if isinstance(content, Mapping) else None
    return isinstance(data, Mapping) and data.get("saved") is True


@dataclass
class LockBridge:
    """The kernel's side of the lock comm: offers locks, remembers confirmations."""

    #: a frontend of this kernel has stored a lock in its notebook's metadata
    confirmed: bool = False
    _pending: list[BaseComm] = field(default_factory=list, repr=False)

    def offer(self, doc: Mapping[str, Any]) -> None:
        """Send ``doc`` to the frontend; comms left unanswered by earlier offers are closed."""
        for stale in self._pending:
            stale.close()
        self._pending.clear()
        channel = comm.create_comm(target_name=COMM_TARGET, data=dict(doc))
        channel.on_msg(lambda msg: self._answered(channel, msg))
        channel.on_close(lambda _msg: self._forget(channel))
        self._pending.append(channel)

    def _answered(self, channel: BaseComm, msg: Mapping[str, Any]) -> None:
        if is_saved_reply(msg):
            self.confirmed = True
        self._forget(channel)
        channel.close()

    def _forget(self, channel: BaseComm) -> None:
        if channel in self._pending:
            self._pending.remove(channel)
