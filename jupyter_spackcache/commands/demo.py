"""``spackcache demo``: build the bundled demo stack into a signed local mirror and trust it.

This gives a fresh machine, with no network, a real signed v3 mirror to explore: the packages
are compiled here with gcc, pushed and signed with a fresh demo key, and the mirror is added and
its key trusted through the same steps a user follows for any mirror.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import ConfigError
from ..ops.keys import TrustRequest, trust_keys
from ..ops.mirrors import MirrorRequest, add_mirror
from ..session import Session


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="build a signed demo mirror locally (gcc, no network)")
    p.add_argument(
        "--dest", type=Path, help="mirror directory (default: $SPACKCACHE_HOME/demo-mirror)"
    )
    p.add_argument("--name", default="demo", help="mirror name to configure (default: demo)")
    p.set_defaults(handler=_demo)


def _demo(session: Session, args: argparse.Namespace) -> int:
    from ..demo.build import build_demo_mirror
    from ..trust import Keyring

    dest: Path = (args.dest or session.config.home / "demo-mirror").absolute()
    existing = next((m for m in session.config.mirrors if m.name == args.name), None)
    if existing is not None:
        if existing.url != dest.as_uri():
            raise ConfigError(
                f"a mirror named '{args.name}' already points to {existing.url}",
                hint="choose another name with --name, or remove it first",
            )
        print(f"demo mirror '{args.name}' is already set up at {dest}")
        return 0
    if (dest / "v3").exists():
        raise ConfigError(
            f"{dest} already holds a mirror that is not configured here",
            hint=f"add it with `spackcache mirror add {args.name} {dest}`, or pick --dest",
        )
    print(f"building the demo stack with gcc and pushing it to {dest} …", flush=True)
    with Keyring(session.config.home / "demo-gnupg") as signer:
        built = build_demo_mirror(dest, keyring=signer)
    assert built.fingerprint is not None
    change = add_mirror(
        MirrorRequest(args.name, str(dest)), config=session.config, keyring=session.keyring
    )
    session.adopt(change.config)
    trust = TrustRequest(args.name, (built.fingerprint,))
    for key in trust_keys(
        trust, config=session.config, catalog=session.catalog, keyring=session.keyring
    ):
        print(f"trusted the demo key {key.fingerprint} ({'; '.join(key.uids)})")
    print(f"mirror '{args.name}' ready with {len(built.specs)} packages:")
    for pkg in built.specs:
        print(f"  {pkg.name}@{pkg.version}/{pkg.hash[:7]}")
    return 0
