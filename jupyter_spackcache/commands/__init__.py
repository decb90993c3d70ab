"""The ``spackcache`` command set: argument grammar and handlers, shared by two front doors.

The CLI (:mod:`jupyter_spackcache.cli`) and the ``%spack`` magics
(:mod:`jupyter_spackcache.magics`) accept the same sub-commands with the same arguments, help
and messages, so both build their parsers from the ``register(sub)`` functions here rather than
from each other. A handler takes the :class:`~jupyter_spackcache.session.Session` and the parsed
arguments, calls a use case of :mod:`jupyter_spackcache.ops`, prints its result with
:mod:`jupyter_spackcache.present` (or :mod:`.progress` for install progress on a terminal) and
returns the exit status. What is particular to one front door stays there: the CLI's ``error:``
lines and exit codes, the magics' kernel attachment, widgets and notebook locks.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from ..session import Session

#: a sub-command's handler: the parts, the parsed arguments -> the exit status
Handler = Callable[[Session, argparse.Namespace], int]
