"""``install``, ``find``, ``uninstall``, ``gc`` and ``load``.

``install`` always shows its plan first. On a terminal it asks before going on unless
``--yes``; without a terminal (scripts, CI) it proceeds, as Spack does, since nobody could
answer: the plan is still printed for the log, and ``--dry-run`` stops after it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TextIO

from ..env import apply, load_environment, render, root_variables
from ..errors import InstallCancelled
from ..install.installed import find_installed, one_installed
from ..install.plan import Plan
from ..install.procpool import UnpackerPool
from ..install.threadpool import default_jobs
from ..ops.environments import env_resolutions, read_env_file
from ..ops.install import InstallRequest, plan_install, plan_resolved, run_plan
from ..ops.removal import Removal, gc_order, remove, uninstall_order
from ..present import (
    install_json,
    installed_node_json,
    plan_json,
    plan_text,
    print_json,
    removal_text,
    result_text,
    table,
)
from ..session import Session
from ..spec.parser import join_argv, parse_specs
from .progress import BarProgress, LineProgress


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("install", help="install SPEC... and their runtime dependencies")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("spec", nargs="*", default=[])
    what.add_argument(
        "--from",
        dest="from_file",
        metavar="FILE",
        help="install a Spack environment: a spack.lock exactly (by hash), the "
        "specs of a spack.yaml, or a jupyter-spackcache notebook lock",
    )
    p.add_argument("--dry-run", action="store_true", help="show the plan and stop")
    p.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=default_jobs(),
        help="parallel downloads and installs (default: one per CPU, 2 to 8)",
    )
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--root",
        metavar="DIR",
        help="install into DIR instead of the configured install_root, and write DIR's Spack "
        "database so the tree can be an upstream (for other users and Spack 1.x)",
    )
    p.set_defaults(handler=_install)

    f = sub.add_parser("find", help="list installed packages (explicit ones first)")
    f.add_argument("spec", nargs="*")
    f.add_argument("--json", action="store_true")
    f.set_defaults(handler=_find)

    u = sub.add_parser("uninstall", help="remove an installed package")
    u.add_argument("spec", nargs="+")
    u.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    u.add_argument(
        "--dependents", action="store_true", help="also remove the installed packages that need it"
    )
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
    # the unpacking processes start up (their imports take a while) on a core that is idle
    # while this one resolves and plans, rather than when the downloads begin
    with UnpackerPool(args.jobs) as unpackers:
        return _install_with(session, args, unpackers)


def _plan_only(session: Session, args: argparse.Namespace) -> int:
    plan = _plan(session, args)
    if args.json:
        print_json(plan_json(plan))
    return 0 if plan.ok else 1


def plan_from_file(
    session: Session, path: str, *, out: TextIO | None = None, install_root: Path | None = None
) -> Plan:
    """``install --from FILE``: the plan of a spack.lock (exact), spack.yaml or notebook lock;
    what it says about the file goes to ``out`` (default: the current stdout)."""
    out = out or sys.stdout
    env = read_env_file(Path(path).expanduser())
    wanted = env_resolutions(
        env,
        catalog=session.catalog,
        store=session.store,
        host=session.host,
        upstreams=session.upstreams,
    )
    for note in wanted.notes:
        print(f"note: {note}", file=out)
    how = "exactly, by hash" if wanted.exact else "resolved from its specs"
    print(f"installing the {env.kind} {env.source} ({how})", file=out)
    return plan_resolved(
        wanted.resolutions,
        catalog=session.catalog,
        store=session.store,
        install_root=install_root or session.config.store_root,
        upstreams=session.upstreams,
    )


def plan_for(session: Session, args: argparse.Namespace, *, out: TextIO | None = None) -> Plan:
    """The plan of ``install``'s arguments: SPEC... or ``--from FILE``, into ``--root DIR`` or
    the configured root; what it says about a file goes to ``out`` (default: stdout)."""
    root = install_root_for(session, args)
    if args.from_file:  # argparse saw to it that it comes without SPEC...
        return plan_from_file(session, args.from_file, out=out, install_root=root)
    request = InstallRequest((join_argv(args.spec),), root)
    return plan_install(
        request,
        catalog=session.catalog,
        store=session.store,
        host=session.host,
        upstreams=session.upstreams,
    )


def _plan(session: Session, args: argparse.Namespace) -> Plan:
    plan = plan_for(session, args, out=sys.stderr if args.json else sys.stdout)
    if not args.json:
        print(plan_text(plan))
    return plan


def _install_with(session: Session, args: argparse.Namespace, unpackers: UnpackerPool) -> int:
    plan = _plan(session, args)
    if not args.yes and not args.json and sys.stdin.isatty() and not _confirm("Install?"):
        raise InstallCancelled("install cancelled; nothing was changed")
    renderer = _renderer(plan, quiet=args.json)
    try:
        result = run_plan(
            plan,
            catalog=session.catalog,
            store=session.store,
            config=session.config,
            jobs=args.jobs,
            progress=renderer,
            unpackers=unpackers,
        )
    finally:
        renderer.close()
    write_root_database(session, args, plan)
    if args.json:
        print_json(install_json(plan, result))
    else:
        print(result_text(result))
    return 0


def write_root_database(session: Session, args: argparse.Namespace, plan: Plan) -> None:
    """With ``--root`` (an admin building a site tree), make the tree an upstream at once."""
    if args.root:
        from ..store.spackdb import write_spack_db

        write_spack_db(plan.install_root, session.store.installed(plan.install_root))


def install_root_for(session: Session, args: argparse.Namespace) -> Path:
    """``--root DIR`` (absolute after expansion), else the configured install root."""
    if args.root:
        from ..configschema import expand_path

        return expand_path(args.root, "--root")
    return session.config.store_root


def _renderer(plan: Plan, *, quiet: bool) -> BarProgress | LineProgress:
    if quiet:
        return LineProgress(open(os.devnull, "w"))  # closed with the process
    if sys.stderr.isatty():
        return BarProgress(len(plan.downloads))
    return LineProgress()


def _find(session: Session, args: argparse.Namespace) -> int:
    records = find_installed(session.store, join_argv(args.spec) or None)
    if args.json:
        print_json([installed_node_json(r) for r in records])
        return 0
    if not records:
        print("nothing installed" + (f" matches '{' '.join(args.spec)}'" if args.spec else ""))
        return 0
    rows = [
        [r.name, r.version, r.hash[:7], "explicit" if r.explicit else "dependency", r.prefix]
        for r in records
    ]
    print(table(rows, ["name", "version", "hash", "installed as", "prefix"]))
    return 0


def _uninstall(session: Session, args: argparse.Namespace) -> int:
    store = session.store
    targets = [one_installed(store, text) for text in _split(args.spec)]
    removal = uninstall_order(
        targets, store=store, config=session.config, dependents=args.dependents
    )
    return _remove(session, removal, yes=args.yes, verb="uninstall", done="uninstalled")


def _gc(session: Session, args: argparse.Namespace) -> int:
    removal = gc_order(store=session.store, config=session.config)
    if not removal.packages:
        print("nothing to remove: every installed package is needed")
        return 0
    return _remove(session, removal, yes=args.yes, verb="remove", done="removed", what="gc")


def _remove(
    session: Session,
    removal: Removal,
    *,
    yes: bool,
    verb: str,
    done: str,
    what: str | None = None,
    gc: bool = False,
) -> int:
    """Show what goes (packages and the kernels that need them), confirm on a TTY, remove."""
    print(removal_text(removal, verb))
    if not yes and sys.stdin.isatty() and not _confirm(f"{verb.capitalize()}?"):
        raise InstallCancelled(f"{what or verb} cancelled; nothing was changed")
    removed = remove(removal, store=session.store, config=session.config)
    print(
        f"{done} {len(removed.packages)} package(s)"
        + (f" and {len(removed.kernels)} kernel(s)" if removed.kernels else "")
    )
    if removed.warning:
        print(f"warning: {removed.warning}", file=sys.stderr)
    return 0


def _load(session: Session, args: argparse.Namespace) -> int:
    store = session.store
    records = [one_installed(store, text) for text in _split(args.spec)]
    values = apply(load_environment(records, store=store), os.environ)
    values.update(root_variables(records))
    print(render(values, args.shell))
    return 0


def _split(argv: list[str]) -> list[str]:
    """The separate specs in the words ``argv`` (``zlib @1.3 cmake`` is two specs)."""
    return [str(spec) for spec in parse_specs(join_argv(argv))]


def _confirm(question: str) -> bool:
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in {"y", "yes"}
