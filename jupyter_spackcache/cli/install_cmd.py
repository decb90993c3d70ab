"""``spackcache install``, ``find``, ``uninstall``, ``gc`` and ``load``.

``install`` always shows its plan first. On a terminal it asks before going on unless
``--yes``; without a terminal (scripts, CI) it proceeds, as Spack does, since nobody could
answer: the plan is still printed for the log, and ``--dry-run`` stops after it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from ..env import apply, load_environment, render
from ..errors import InstallCancelled
from ..install.installed import garbage, match_installed, one_installed, removal_order
from ..install.pipeline import InstallResult, install
from ..install.plan import Plan, make_plan
from ..install.unpacker import UnpackerPool
from ..install.workers import default_jobs
from ..kernels import KernelInfo, kernels_using, remove_packages
from ..session import Session
from ..spec.parser import parse_specs
from ..store.db import InstalledRecord
from .progress import BarProgress, LineProgress
from .render import human_size, node_json, print_json, table


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("install", help="install SPEC... and their runtime dependencies")
    p.add_argument("spec", nargs="+")
    p.add_argument("--dry-run", action="store_true", help="show the plan and stop")
    p.add_argument("-j", "--jobs", type=int, default=default_jobs(),
                   help="parallel downloads and installs (default: one per CPU, 2 to 8)")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_install)

    f = sub.add_parser("find", help="list installed packages (explicit ones first)")
    f.add_argument("spec", nargs="*")
    f.add_argument("--json", action="store_true")
    f.set_defaults(handler=_find)

    u = sub.add_parser("uninstall", help="remove an installed package")
    u.add_argument("spec", nargs="+")
    u.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    u.add_argument("--dependents", action="store_true",
                   help="also remove the installed packages that need it")
    u.set_defaults(handler=_uninstall)

    g = sub.add_parser("gc", help="remove dependencies no explicitly installed package needs")
    g.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    g.set_defaults(handler=_gc)

    ld = sub.add_parser("load", help="print shell commands that make SPEC usable")
    ld.add_argument("spec", nargs="+")
    shells = ld.add_mutually_exclusive_group()
    for shell in ("sh", "csh", "fish", "json"):
        shells.add_argument(f"--{shell}", dest="shell", action="store_const", const=shell)
    ld.set_defaults(handler=_load, shell="sh")


# ---- install -----------------------------------------------------------------------------------


def _install(session: Session, args: argparse.Namespace) -> int:
    if args.dry_run:
        return _plan_only(session, args)
    # the unpacking processes start up (~0.1 s of imports each) on a core that is idle while
    # this one resolves and plans, rather than when the downloads begin
    with UnpackerPool(args.jobs) as unpackers:
        return _install_with(session, args, unpackers)


def _plan_only(session: Session, args: argparse.Namespace) -> int:
    plan = _plan(session, args)
    if args.json:
        print_json(plan_json(plan))
    return 0 if plan.ok else 1


def _plan(session: Session, args: argparse.Namespace) -> Plan:
    resolutions = session.resolve_install(" ".join(args.spec))
    for r in resolutions:
        r.raise_if_unresolved()
    plan = make_plan(session, resolutions, store=session.store)
    if not args.json:
        print(plan_text(plan))
    return plan


def _install_with(session: Session, args: argparse.Namespace, unpackers: UnpackerPool) -> int:
    plan = _plan(session, args)
    if not args.yes and not args.json and sys.stdin.isatty() and not _confirm("Install?"):
        raise InstallCancelled("install cancelled; nothing was changed")
    renderer = _renderer(plan, quiet=args.json)
    try:
        result = install(session, plan, jobs=args.jobs, progress=renderer, unpackers=unpackers)
    finally:
        renderer.close()
    if args.json:
        print_json({**plan_json(plan), "result": result_json(result)})
    else:
        retried = f" ({result.retry_count} network retries)" if result.retry_count else ""
        print(f"installed {len(result.installed)} package(s), "
              f"{len(result.reused)} already installed{retried}")
    return 0


def _renderer(plan: Plan, *, quiet: bool) -> BarProgress | LineProgress:
    if quiet:
        return LineProgress(open(os.devnull, "w"))  # closed with the process
    if sys.stderr.isatty():
        return BarProgress(len(plan.downloads))
    return LineProgress()


def plan_text(plan: Plan) -> str:
    rows = [
        [p.action, p.node.name, p.node.version, p.hash[:7],
         human_size(p.size) if p.action == "download" else "",
         str(p.prefix) if p.prefix is not None else (p.node.external or "")]
        for p in plan.nodes
    ]
    lines = [table(rows, ["action", "name", "version", "hash", "size", "prefix"])]
    downloads = len(plan.downloads)
    total = human_size(plan.download_bytes) if plan.download_bytes is not None else "unknown size"
    lines.append(f"download: {downloads} package(s), {total}")
    lines.append(f"install root: {plan.install_root}")
    for c in plan.checks:
        lines.append(f"check {c.name}: {'ok' if c.ok else 'FAILED'} - {c.message}")
    return "\n".join(lines)


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "install_root": str(plan.install_root),
        "download_bytes": plan.download_bytes,
        "roots": list(plan.roots),
        "nodes": [
            {"action": p.action, "name": p.node.name, "version": p.node.version,
             "hash": p.hash, "size": p.size, "mirror": p.mirror, "explicit": p.explicit,
             "prefix": str(p.prefix) if p.prefix is not None else p.node.external}
            for p in plan.nodes
        ],
        "checks": [{"name": c.name, "ok": c.ok, "message": c.message} for c in plan.checks],
    }


def result_json(result: InstallResult) -> dict[str, Any]:
    return {
        "installed": [r.hash for r in result.installed],
        "reused": list(result.reused),
        "external": list(result.external),
        "retries": result.retry_count,
        "retries_by_kind": dict(sorted(result.retries.items())),
    }


# ---- find / uninstall / gc / load ------------------------------------------------------------


def record_json(r: InstalledRecord) -> dict[str, Any]:
    return {**node_json(r.node), "prefix": r.prefix, "root": r.root, "mirror": r.mirror,
            "explicit": r.explicit, "installed_at": r.installed_at}


def _find(session: Session, args: argparse.Namespace) -> int:
    records = match_installed(session.store, " ".join(args.spec) or None)
    if args.json:
        print_json([record_json(r) for r in records])
        return 0
    if not records:
        print("nothing installed" + (f" matches '{' '.join(args.spec)}'" if args.spec else ""))
        return 0
    rows = [[r.name, r.version, r.hash[:7], "explicit" if r.explicit else "dependency", r.prefix]
            for r in records]
    print(table(rows, ["name", "version", "hash", "installed as", "prefix"]))
    return 0


def _uninstall(session: Session, args: argparse.Namespace) -> int:
    store = session.store
    targets = [one_installed(store, text) for text in _split(args.spec)]
    order = removal_order(store, targets, dependents=args.dependents)
    return _remove(session, order, yes=args.yes, verb="uninstall", done="uninstalled")


def _gc(session: Session, args: argparse.Namespace) -> int:
    order = garbage(session.store)
    if not order:
        print("nothing to remove: every installed package is needed")
        return 0
    return _remove(session, order, yes=args.yes, verb="remove", done="removed", what="gc")


def _remove(
    session: Session,
    order: list[InstalledRecord],
    *,
    yes: bool,
    verb: str,
    done: str,
    what: str | None = None,
) -> int:
    """Show what goes (packages and the kernels that need them), confirm on a TTY, remove."""
    kernels = kernels_using([r.hash for r in order], session.config)
    _show_removal(order, verb, kernels)
    if not yes and sys.stdin.isatty() and not _confirm(f"{verb.capitalize()}?"):
        raise InstallCancelled(f"{what or verb} cancelled; nothing was changed")
    removal = remove_packages(session.store, order, session.config)
    print(f"{done} {len(removal.packages)} package(s)"
          + (f" and {len(removal.kernels)} kernel(s)" if removal.kernels else ""))
    return 0


def _load(session: Session, args: argparse.Namespace) -> int:
    store = session.store
    records = [one_installed(store, text) for text in _split(args.spec)]
    values = apply(load_environment(records, store=store), os.environ)
    print(render(values, args.shell))
    return 0


def _split(argv: list[str]) -> list[str]:
    """The separate specs in the words ``argv`` (``zlib @1.3 cmake`` is two specs)."""
    return [str(spec) for spec in parse_specs(" ".join(argv))]


def _show_removal(order: list[InstalledRecord], verb: str,
                  kernels: Sequence[KernelInfo] = ()) -> None:
    print(f"will {verb}:")
    for r in order:
        print(f"  {r.name}@{r.version}/{r.hash[:7]}  {r.prefix}")
    for k in kernels:
        print(f"  kernel '{k.name}' (\"{k.display_name}\"), which needs them")


def _confirm(question: str) -> bool:
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in {"y", "yes"}
