"""``python -m jupyter_spackcache.demo DEST [--unsigned]``: build a demo mirror, no network."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from jupyter_spackcache.demo.build import build_demo_mirror
from jupyter_spackcache.errors import SpackCacheError
from jupyter_spackcache.trust import Keyring


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m jupyter_spackcache.demo",
        description="Build the demo stack with the local gcc and push it into a v3 mirror.",
    )
    parser.add_argument("dest", type=Path, help="mirror directory to create or extend")
    parser.add_argument("--unsigned", action="store_true", help="do not sign the manifests")
    parser.add_argument(
        "--gnupghome",
        type=Path,
        help="GnuPG home for the demo signing key (default: a new temporary directory)",
    )
    args = parser.parse_args(argv)
    home: Path | None = None
    try:
        if args.unsigned:
            mirror = build_demo_mirror(args.dest, keyring=None)
        else:
            home = args.gnupghome or Path(tempfile.mkdtemp(prefix="g", dir="/tmp"))
            with Keyring(home) as keyring:
                mirror = build_demo_mirror(args.dest, keyring=keyring)
    except SpackCacheError as exc:
        print(f"error: {exc.render()}", file=sys.stderr)
        return 1
    print(f"demo mirror: {mirror.path.resolve()}")
    for pkg in mirror.specs:
        print(f"  {pkg.name}@{pkg.version}/{pkg.hash}")
    if mirror.fingerprint:
        print(f"signed with: {mirror.fingerprint} (secret key in GnuPG home {home})")
    else:
        print("unsigned")
    return 0


if __name__ == "__main__":
    sys.exit(main())
