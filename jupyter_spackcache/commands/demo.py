"""``spackcache demo``: build the bundled demo stack into a signed local mirror and trust it.

This gives a fresh machine, with no network, a real signed v3 mirror to explore: the packages
are compiled here with gcc, pushed and signed with a fresh demo key, and the mirror is added and
its key trusted through the same steps a user follows for any mirror (``ops/demo.py``, which
the panel's "Add the demo mirror" uses too).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..ops.demo import DemoRequest, setup_demo_mirror
from ..session import Session


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="build a signed demo mirror locally (gcc, no network)")
    p.add_argument(
        "--dest", type=Path, help="mirror directory (default: $SPACKCACHE_HOME/demo-mirror)"
    )
    p.add_argument("--name", default="demo", help="mirror name to configure (default: demo)")
    p.set_defaults(handler=_demo)


def _demo(session: Session, args: argparse.Namespace) -> int:
    done = setup_demo_mirror(
        DemoRequest(args.name, args.dest),
        config=session.config,
        keyring=session.keyring,
        say=lambda message: print(message, flush=True),
    )
    session.adopt(done.config)
    for package in done.packages:
        print(f"  {package}")
    return 0
