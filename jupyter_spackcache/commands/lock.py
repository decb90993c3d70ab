"""``spackcache lock export``: hand an installed stack (or a notebook's lock) to Spack users.

The file written is a ``spack.lock`` that ``spack env create NAME FILE`` accepts; its nodes are
the spec files the mirror signed, so ``spack -e NAME install --cache-only`` installs the same
hashes from the same mirror.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import EnvFileError
from ..ops.environments import export_lock, read_env_file, write_text_atomic
from ..session import Session


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("lock", help="Spack environment lockfiles")
    lock_sub = p.add_subparsers(dest="lock_command", metavar="COMMAND", required=True)
    e = lock_sub.add_parser(
        "export", help="write a spack.lock of the installed roots (or of a notebook's lock)"
    )
    e.add_argument("file", metavar="FILE", help="the spack.lock to write")
    e.add_argument(
        "--from",
        dest="from_file",
        metavar="NOTEBOOK_LOCK",
        help="export this notebook lock (a .spack-lock.json or an .ipynb holding one)",
    )
    e.set_defaults(handler=_export)


def _export(session: Session, args: argparse.Namespace) -> int:
    notebook = None
    if args.from_file:
        env = read_env_file(Path(args.from_file).expanduser())
        if env.notebook is None:
            raise EnvFileError(
                f"{env.source} is a {env.kind}, not a notebook lock",
                hint="--from takes a NOTEBOOK.spack-lock.json or a notebook",
            )
        notebook = env.notebook
    text = export_lock(
        notebook,
        catalog=session.catalog,
        store=session.store,
        host=session.host,
        upstreams=session.upstreams,
    )
    dest = Path(args.file).expanduser()
    write_text_atomic(dest, text)
    print(f"wrote {dest}; use it with `spack env create NAME {dest}`")
    return 0
