"""``spackcache module refresh`` and ``spackcache module use``: environment modules.

Modulefiles are written with every install and removed with every uninstall; ``refresh``
rewrites them all after a configuration change (another format, another root, all nodes), and
``use`` prints the line that makes them visible to ``module avail`` in a shell profile.
"""

from __future__ import annotations

import argparse
import os

from ..config import MODULE_FORMATS
from ..ops.modules import refresh, use_line
from ..present import module_sync_json, module_sync_text, print_json
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
    result = refresh(store=session.store, config=session.config)
    if args.json:
        print_json(module_sync_json(result, session.config))
    else:
        print(module_sync_text(result, session.config))
    return 0


def _use(session: Session, args: argparse.Namespace) -> int:
    print(use_line(session.config, os.environ, args.format))
    return 0
