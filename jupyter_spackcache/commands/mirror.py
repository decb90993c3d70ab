"""``spackcache mirror add|list|remove``."""

from __future__ import annotations

import argparse

from ..netconfig import redact_url
from ..ops.mirrors import MirrorRequest, add_mirror, mirror_statuses, remove_mirror
from ..present import mirror_json, print_json, table
from ..session import Session


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("mirror", help="manage binary mirrors")
    msub = p.add_subparsers(dest="mirror_command", metavar="ACTION", required=True)

    add = msub.add_parser("add", help="add a mirror (checks that it is a readable build cache)")
    add.add_argument("name")
    add.add_argument("url", help="file://, path, http(s)://, s3://, oci:// or oci+http:// URL")
    add.add_argument(
        "--unsigned",
        action="store_true",
        help="accept unsigned packages from this mirror (signatures are not checked)",
    )
    add.add_argument("--no-check", action="store_true", help="do not contact the mirror now")
    add.add_argument(
        "--s3-endpoint", metavar="URL", help="endpoint of an S3-compatible server for s3:// URLs"
    )
    add.add_argument("--view", help="a named index view of a v3 mirror (Spack 1.2+)")
    add.set_defaults(handler=_add)

    ls = msub.add_parser("list", help="list configured mirrors")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=_list)

    rm = msub.add_parser("remove", help="remove a mirror you added")
    rm.add_argument("name")
    rm.set_defaults(handler=_remove)


def _add(session: Session, args: argparse.Namespace) -> int:
    request = MirrorRequest(
        args.name,
        args.url,
        unsigned=args.unsigned,
        check=not args.no_check,
        s3_endpoint=args.s3_endpoint,
        view=args.view,
    )
    change = add_mirror(request, config=session.config, keyring=session.keyring)
    session.adopt(change.config)
    mirror = change.mirror
    kind = "unsigned" if mirror.unsigned else "signed"
    print(f"added {kind} mirror '{mirror.name}' ({redact_url(mirror.url)})")
    if not mirror.unsigned:
        print(f"next: check and trust its keys with `spackcache keys trust --mirror {mirror.name}`")
    return 0


def _list(session: Session, args: argparse.Namespace) -> int:
    infos = [
        (s.mirror, s.layout, s.nodes)
        for s in mirror_statuses(config=session.config, catalog=session.catalog)
    ]
    if args.json:
        print_json([mirror_json(m, layout, nodes) for m, layout, nodes in infos])
        return 0
    if not infos:
        print("no mirrors configured; add one with `spackcache mirror add NAME URL`")
        return 0
    rows = [
        [
            m.name,
            redact_url(m.url),
            "unsigned" if m.unsigned else "signed",
            layout or "-",
            str(nodes) if nodes is not None else "-",
            m.origin,
        ]
        for m, layout, nodes in infos
    ]
    print(table(rows, ["name", "url", "trust", "layout", "nodes", "origin"]))
    return 0


def _remove(session: Session, args: argparse.Namespace) -> int:
    change = remove_mirror(args.name, config=session.config, catalog=session.catalog)
    session.adopt(change.config)
    print(f"removed mirror '{change.mirror.name}'")
    return 0
