"""``spackcache list``, ``info`` and ``host``: what this host can install, and why not."""

from __future__ import annotations

import argparse
import sys

from ..errors import ResolveError
from ..mirrors.catalog import MirrorProblem
from ..ops.query import listing, package_metadata, resolve_specs
from ..present import (
    host_json,
    listing_json,
    print_json,
    resolution_json,
    resolution_text,
    table,
    variants_text,
)
from ..session import Session
from ..spec.parser import join_argv


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ls = sub.add_parser("list", help="what this host can install from the mirrors")
    ls.add_argument("spec", nargs="*", help="filter, e.g. 'zlib@1.3' or '+shared'")
    ls.add_argument(
        "--all-targets",
        action="store_true",
        help="also show builds this host cannot run, with the reason",
    )
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=_list)

    info = sub.add_parser("info", help="the build that would be installed for SPEC, and why")
    info.add_argument("spec", nargs="+")
    info.add_argument("--json", action="store_true")
    info.set_defaults(handler=_info)

    host = sub.add_parser("host", help="what this machine can run (target, libc)")
    host.add_argument("--json", action="store_true")
    host.set_defaults(handler=_host)


def warn_problems(problems: list[MirrorProblem]) -> None:
    for p in problems:
        state = "using the cached index" if p.stale else "skipped"
        print(f"warning: mirror '{p.mirror}' {state}: {p.error.message}", file=sys.stderr)


def _list(session: Session, args: argparse.Namespace) -> int:
    query = join_argv(args.spec) or None
    items, problems = listing(
        query, catalog=session.catalog, checks=session.host_checks, all_targets=args.all_targets
    )
    warn_problems(problems)
    if args.json:
        print_json([listing_json(i) for i in items])
        return 0
    if not items:
        where = f" matching '{query}'" if query else ""
        print(f"nothing installable on this host{where} ({session.host.describe()})")
        if not session.config.mirrors:
            print("no mirrors configured; add one with `spackcache mirror add NAME URL`")
        return 0
    rows = []
    for i in items:
        n = i.node
        row = [n.name, n.version, n.hash[:7], n.target, i.mirror, variants_text(n)]
        if args.all_targets:
            row.append("ok" if i.compatible else (i.reason or "no"))
        rows.append(row)
    headers = ["name", "version", "hash", "target", "mirror", "variants"]
    print(table(rows, headers + (["runs here"] if args.all_targets else [])))
    return 0


def _info(session: Session, args: argparse.Namespace) -> int:
    text = join_argv(args.spec)
    resolutions = resolve_specs(text, catalog=session.catalog, host=session.host)
    metadata = [
        package_metadata(r.chosen, catalog=session.catalog) if r.chosen is not None else {}
        for r in resolutions
    ]
    if args.json:
        print_json([resolution_json(r, m) for r, m in zip(resolutions, metadata, strict=True)])
    else:
        from ..store.recipes import descriptions_named

        names = [r.chosen.root.name for r in resolutions if r.chosen is not None]
        known = descriptions_named(names, store=session.store, upstreams=session.upstreams)
        for r, m in zip(resolutions, metadata, strict=True):
            named = known.get(r.chosen.root.name) if r.chosen is not None else None
            print(resolution_text(r, m, named))
    unresolved = [r for r in resolutions if r.chosen is None]
    if unresolved:
        if args.json:
            return 1
        first = unresolved[0]
        raise ResolveError(
            f"nothing installable matches '{first.request}'",
            hint="available versions: " + ", ".join(first.available_versions[:12])
            if first.available_versions
            else "see `spackcache list --all-targets` for every build in the mirrors",
        )
    return 0


def _host(session: Session, args: argparse.Namespace) -> int:
    host = session.host
    if args.json:
        print_json({**host_json(host), "install_root": str(session.config.store_root)})
        return 0
    print(f"platform  {host.platform}")
    print(f"os        {host.os}")
    print(f"target    {host.target} (binaries for {', '.join(host.compatible_targets)} run here)")
    print(f"libc      {host.libc or 'not detected'}")
    print(f"store     {session.config.store_root}")
    return 0


__all__ = ["register", "table"]
