"""``spackcache``: the command-line front door.

Parsing and dispatch only: the sub-commands (grammar and handlers) are the command set of
:mod:`jupyter_spackcache.commands`, which the ``%spack`` magics share; each calls a use case of
:mod:`jupyter_spackcache.ops` with the parts a :class:`~jupyter_spackcache.session.Session`
holds and prints its result with :mod:`jupyter_spackcache.present`. What is the CLI's own:
every failure the user can cause ends in one ``error:`` line (plus a ``hint:`` line saying what
to do) and exit status 1.
"""

from __future__ import annotations

import argparse
import logging
import os
import sqlite3
import sys
from collections.abc import Sequence

from .. import __version__
from ..commands import (
    Handler,
    config,
    demo,
    doctor,
    install,
    kernel,
    keys,
    lock,
    mirror,
    module,
    push,
    query,
    spackdb,
)
from ..errors import SpackCacheError, state_error
from ..present import error_text
from ..session import Session


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spackcache",
        description="Install Spack binaries from build caches, no Spack needed.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    mirror.register(sub)
    keys.register(sub)
    query.register(sub)
    demo.register(sub)
    install.register(sub)
    kernel.register(sub)
    push.register(sub)
    module.register(sub)
    config.register(sub)
    spackdb.register(sub)
    lock.register(sub)
    doctor.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    _show_warnings()
    try:
        if not getattr(args, "needs_session", True):  # e.g. checking a broken config
            code: int = args.handler(None, args)
            return code
        with Session() as session:  # its warnings reach stderr through _show_warnings
            return handler(session, args)
    except SpackCacheError as exc:
        print(error_text(exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        if argv is None:  # the command itself, not a caller: stop now (see _stop_now)
            _stop_now(130)
        return 130
    except BrokenPipeError:  # `spackcache list | head`: the reader left, which is fine
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 0
    except (sqlite3.Error, OSError) as exc:  # after BrokenPipeError, itself an OSError
        problem = state_error(exc)
        if problem is None:
            raise
        print(error_text(problem), file=sys.stderr)
        return 1


class _Warnings(logging.Handler):
    """The core's log warnings (a damaged database row skipped, ...) as ``warning:`` lines on
    the current ``sys.stderr``."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"warning: {record.getMessage()}", file=sys.stderr)


def _show_warnings() -> None:
    logger = logging.getLogger("jupyter_spackcache")
    if not any(isinstance(h, _Warnings) for h in logger.handlers):
        logger.addHandler(_Warnings(logging.WARNING))
        logger.propagate = False


def _stop_now(code: int) -> None:
    """Exit without waiting for threads still blocked in the network (a plan's metadata
    fetches may be retrying for a while). Nothing is lost: the install has rolled back or
    left only what a ``kill -9`` would, and the kernel releases every lock."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
