"""``spackcache keys list|trust|untrust``: the private keyring that verifies mirrors."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import SignatureError
from ..session import Session
from ..trust import KeyInfo
from .render import print_json, table


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("keys", help="list and trust the keys that sign mirrors")
    ksub = p.add_subparsers(dest="keys_command", metavar="ACTION", required=True)

    ls = ksub.add_parser("list", help="trusted keys, or the keys a mirror publishes")
    ls.add_argument("--mirror", help="show the keys this mirror publishes instead")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=_list)

    trust = ksub.add_parser("trust", help="import a mirror's keys after showing them")
    trust.add_argument("--mirror", required=True)
    trust.add_argument(
        "fingerprints",
        nargs="*",
        metavar="FINGERPRINT",
        help="trust only these (default: all the mirror publishes, after asking)",
    )
    trust.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    trust.add_argument("--json", action="store_true")
    trust.set_defaults(handler=_trust)

    untrust = ksub.add_parser("untrust", help="remove a key from the keyring")
    untrust.add_argument("fingerprint")
    untrust.set_defaults(handler=_untrust)


def key_json(k: KeyInfo, *, trusted: bool | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "fingerprint": k.fingerprint,
        "uids": list(k.uids),
        "created": k.created,
        "expires": k.expires,
        "algorithm": k.algorithm,
        "length": k.length,
    }
    if trusted is not None:
        out["trusted"] = trusted
    return out


def _rows(keys: list[KeyInfo], trusted: set[str] | None) -> str:
    rows = []
    for k in keys:
        row = [k.fingerprint, "; ".join(k.uids) or "-"]
        if trusted is not None:
            row.append("yes" if k.fingerprint in trusted else "no")
        rows.append(row)
    headers = ["fingerprint", "user id"] + (["trusted"] if trusted is not None else [])
    return table(rows, headers)


def _list(session: Session, args: argparse.Namespace) -> int:
    trusted = {k.fingerprint for k in session.keyring.list_keys()}
    if args.mirror:
        keys = session.mirror_keys(args.mirror)
        if args.json:
            print_json([key_json(k, trusted=k.fingerprint in trusted) for k in keys])
        elif not keys:
            print(f"mirror '{args.mirror}' publishes no keys")
        else:
            print(_rows(keys, trusted))
        return 0
    keys = session.keyring.list_keys()
    if args.json:
        print_json([key_json(k) for k in keys])
    elif not keys:
        print("no trusted keys; see `spackcache keys trust --mirror NAME`")
    else:
        print(_rows(keys, None))
    return 0


def _trust(session: Session, args: argparse.Namespace) -> int:
    offered = session.mirror_keys(args.mirror)
    if not offered:
        raise SignatureError(
            f"mirror '{args.mirror}' publishes no public keys",
            hint="get the key from its maintainers and import it with `spackcache keys import`",
        )
    wanted = [f.replace(" ", "").upper() for f in args.fingerprints]
    shown = [k for k in offered if not wanted or k.fingerprint in wanted]
    if not args.json:
        print(f"mirror '{args.mirror}' publishes:")
        print(_rows(offered, {k.fingerprint for k in shown}) if wanted else _rows(offered, None))
    if not wanted and not args.yes:
        if not sys.stdin.isatty():
            raise SignatureError(
                "refusing to trust keys without confirmation",
                hint="check the fingerprints above, then name them: "
                f"`spackcache keys trust --mirror {args.mirror} FINGERPRINT`, or pass --yes",
            )
        answer = input("Trust these keys for verifying packages? [y/N] ").strip().lower()
        if answer not in {"y", "yes"}:
            print("nothing trusted")
            return 1
    imported = session.trust_keys(args.mirror, wanted)
    if args.json:
        print_json([key_json(k, trusted=True) for k in imported])
    else:
        for k in imported:
            print(f"trusted {k.fingerprint} ({'; '.join(k.uids)})")
    return 0


def _untrust(session: Session, args: argparse.Namespace) -> int:
    fingerprint = args.fingerprint.replace(" ", "").upper()
    session.keyring.remove(fingerprint)
    print(f"removed key {fingerprint}")
    return 0
