"""``spackcache spack-db [--root DIR]``: make an install root usable as a Spack upstream."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..configschema import expand_path
from ..session import Session


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "spack-db",
        help="write ROOT/.spack-db/index.json so the install root can be an upstream "
        "(for other users and for Spack 1.x)",
    )
    p.add_argument("--root", help="the install root (default: the configured install_root)")
    p.set_defaults(handler=_write)


def _write(session: Session, args: argparse.Namespace) -> int:
    from ..store.spackdb import write_spack_db

    root = expand_path(args.root, "--root") if args.root else session.config.store_root
    root = Path(root)
    records = session.store.installed(root)
    index = write_spack_db(root, records)
    print(f"wrote {index} ({len(records)} installed packages)")
    return 0
