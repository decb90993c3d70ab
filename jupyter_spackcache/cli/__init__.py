"""``spackcache``: the command-line front door.

Argument parsing and dispatch only; each sub-command lives in a small module, calls a use case
of :mod:`jupyter_spackcache.ops` with the parts a :class:`~jupyter_spackcache.session.Session`
holds, and prints its result with :mod:`jupyter_spackcache.present`. Every failure the user
can cause ends in one ``error:`` line (plus a ``hint:`` line saying what to do) and exit
status 1.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence

from .. import __version__
from ..errors import SpackCacheError, state_error
from ..present import error_text
from ..session import Session
from . import (
    config_cmd,
    demo_cmd,
    doctor_cmd,
    install_cmd,
    kernel_cmd,
    keys_cmd,
    lock_cmd,
    mirror_cmd,
    module_cmd,
    push_cmd,
    query_cmd,
    spackdb_cmd,
)

Handler = Callable[[Session, argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spackcache",
        description="Install Spack binaries from build caches, no Spack needed.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    mirror_cmd.register(sub)
    keys_cmd.register(sub)
    query_cmd.register(sub)
    demo_cmd.register(sub)
    install_cmd.register(sub)
    kernel_cmd.register(sub)
    push_cmd.register(sub)
    module_cmd.register(sub)
    config_cmd.register(sub)
    spackdb_cmd.register(sub)
    lock_cmd.register(sub)
    doctor_cmd.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        with _damage_warnings():
            return _run(handler, args)
    except SpackCacheError as exc:
        print(error_text(exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `spackcache list | head`: the reader left, which is fine
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 0
    except (sqlite3.Error, OSError) as exc:  # a full disk or a damaged database: one line
        problem = state_error(exc)
        if problem is None:
            raise
        print(error_text(problem), file=sys.stderr)
        return 1


def _run(handler: Handler, args: argparse.Namespace) -> int:
    if not getattr(args, "needs_session", True):  # e.g. checking a broken config
        code: int = args.handler(None, args)
        return code
    with Session() as session:
        try:
            return handler(session, args)
        finally:
            for warning in session.warnings:
                print(f"warning: {warning}", file=sys.stderr)


class _Warnings(logging.Handler):
    """The core's log warnings (a damaged database row skipped, ...) as ``warning:`` lines on
    the current ``sys.stderr``."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"warning: {record.getMessage()}", file=sys.stderr)


#: loggers whose warnings say that damaged local state was skipped or rebuilt (the rest of
#: the core's warnings reach the CLI as ``session.warnings``)
_DAMAGE_LOGGERS = ("jupyter_spackcache.store.db", "jupyter_spackcache.mirrors.catalog")


@contextlib.contextmanager
def _damage_warnings() -> Iterator[None]:
    """For one command: those warnings as ``warning:`` lines, then the loggers as they were."""
    handler = _Warnings(logging.WARNING)
    loggers = [logging.getLogger(name) for name in _DAMAGE_LOGGERS]
    saved = [lg.propagate for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.propagate = False
    try:
        yield
    finally:
        for lg, propagate in zip(loggers, saved, strict=True):
            lg.removeHandler(handler)
            lg.propagate = propagate


if __name__ == "__main__":
    sys.exit(main())
