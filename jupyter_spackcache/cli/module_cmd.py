"""``spackcache module refresh`` and ``spackcache module use``: environment modules.

Modulefiles are written with every install and removed with every uninstall; ``refresh``
rewrites them all after a configuration change (another format, another root, all nodes), and
``use`` prints the line that makes them visible to ``module avail`` in a shell profile.
"""

from __future__ import annotations

import argparse
import os
import shlex

from ..config import MODULE_FORMATS
from ..modules import sync_modules
from ..modules.use import preferred_format
from ..present import print_json
from ..session import Session


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("module", help="environment modules (Lmod, Tcl) for installed stacks")
    msub = p.add_subparsers(dest="module_command", metavar="ACTION", required=True)
    r = msub.add_parser("refresh", help="rewrite every modulefile from what is installed")
    r.add_argument("--json", action="store_true")
    r.set_defaults(handler=_refresh)
    u = msub.add_parser("use", help="print the `module use` line for a shell profile")
    u.add_argument(
        "--format",
        choices=MODULE_FORMATS,
        help="lmod or tcl (default: the module system of this shell)",
    )
    u.set_defaults(handler=_use)


def _refresh(session: Session, args: argparse.Namespace) -> int:
    result = sync_modules(session.config, session.store)
    enabled = session.config.modules.enable
    if args.json:
        print_json(
            {
                "formats": {fmt: str(session.config.module_root(fmt)) for fmt in enabled},
                "modules": sorted(result.names.values()),
                "written": [str(p) for p in result.written],
                "removed": [str(p) for p in result.removed],
            }
        )
        return 0
    if not enabled:
        print("modules are turned off (modules.enable is empty)")
    for fmt in enabled:
        print(f"{fmt}: {len(result.names)} module(s) in {session.config.module_root(fmt)}")
    print(f"{len(result.written)} file(s) written, {len(result.removed)} removed")
    return 0


def _use(session: Session, args: argparse.Namespace) -> int:
    fmt = args.format or preferred_format(session.config, os.environ)
    print(f"module use {shlex.quote(str(session.config.module_root(fmt)))}")
    return 0
