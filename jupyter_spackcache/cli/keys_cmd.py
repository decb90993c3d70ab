"""``spackcache keys list|trust|untrust|create|import``: the private keyring.

It verifies mirrors (public keys) and signs pushes (secret keys).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import SignatureError, SpackCacheError
from ..ops.keys import TrustRequest, mirror_keys, trust_keys, untrust_key
from ..present import key_json, print_json, table
from ..session import Session
from ..trust import KeyInfo
from ..trust.keys import normalize_fingerprint


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

    create = ksub.add_parser("create", help="create a signing key for `spackcache push`")
    create.add_argument("name", help="the key owner's name, e.g. 'HPC Team'")
    create.add_argument("email")
    create.add_argument("--length", type=int, default=4096, help="RSA key length (default 4096)")
    create.add_argument("--export", metavar="FILE", help="also write the public key to FILE")
    create.add_argument("--json", action="store_true")
    create.set_defaults(handler=_create)

    imp = ksub.add_parser(
        "import", help="import a key file: public keys are trusted, secret keys can sign"
    )
    imp.add_argument("file", help="ASCII-armored OpenPGP key file")
    imp.add_argument("--json", action="store_true")
    imp.set_defaults(handler=_import)


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
    if args.mirror:
        keys = mirror_keys(
            args.mirror, config=session.config, catalog=session.catalog, keyring=session.keyring
        )
        # read after opening the mirror: that trusts a site mirror's pinned keys
        trusted = {k.fingerprint for k in session.keyring.list_keys()}
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
    offered = mirror_keys(
        args.mirror, config=session.config, catalog=session.catalog, keyring=session.keyring
    )
    if not offered:
        raise SignatureError(
            f"mirror '{args.mirror}' publishes no public keys",
            hint="get the key from its maintainers and import it with `spackcache keys import`",
        )
    wanted = [normalize_fingerprint(f) for f in args.fingerprints]
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
    request = TrustRequest(args.mirror, tuple(wanted))
    imported = trust_keys(
        request, config=session.config, catalog=session.catalog, keyring=session.keyring
    )
    if args.json:
        print_json([key_json(k, trusted=True) for k in imported])
    else:
        for k in imported:
            print(f"trusted {k.fingerprint} ({'; '.join(k.uids)})")
    return 0


def _untrust(session: Session, args: argparse.Namespace) -> int:
    fingerprint = untrust_key(args.fingerprint, keyring=session.keyring)
    print(f"removed key {fingerprint}")
    return 0


def _create(session: Session, args: argparse.Namespace) -> int:
    export = Path(args.export) if args.export else None
    if export is not None and not export.parent.is_dir():
        raise SpackCacheError(f"cannot export the key to {export}: no such directory")
    key = session.keyring.create_key(args.name, args.email, key_length=args.length)
    if export is not None:
        export.write_text(session.keyring.export_public(key.fingerprint), encoding="utf-8")
    if args.json:
        print_json(key_json(key, trusted=True))
        return 0
    print(f"created key {key.fingerprint} ({'; '.join(key.uids)})")
    if export is not None:
        print(f"public key written to {export}")
    print(f"next: `spackcache push --mirror DIR --key {key.fingerprint} SPEC`")
    return 0


def _import(session: Session, args: argparse.Namespace) -> int:
    try:
        armored = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a text file"
        raise SpackCacheError(
            f"cannot read key file {args.file}: {reason}",
            hint="pass an ASCII-armored key (`gpg --export --armor FINGERPRINT`)",
        ) from None
    found = session.keyring.inspect(armored)
    secret = {k.fingerprint for k in found if k.has_secret}
    imported = session.keyring.import_secret(armored) if secret else []
    public = [k.fingerprint for k in found if k.fingerprint not in secret]
    if public:
        imported += session.keyring.import_keys(armored, only=public)
    if args.json:
        print_json([key_json(k, trusted=True) | {"secret": k.has_secret} for k in imported])
        return 0
    for k in imported:
        kind = "secret key (can sign)" if k.has_secret else "public key (trusted)"
        print(f"imported {kind} {k.fingerprint} ({'; '.join(k.uids)})")
    return 0
