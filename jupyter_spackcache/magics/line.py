"""One ``%spack ...`` line: the command set the CLI runs, with kernel-aware install and load.

The sub-commands are registered by the ``register(sub)`` functions of
:mod:`jupyter_spackcache.commands` that the CLI uses too, so the arguments, help and messages
are identical. Four handlers differ because a kernel is not a shell: ``install`` shows widget
bars and then attaches the software to this kernel, ``load`` attaches instead of printing
shell code, and ``lock``/``restore`` exist only here (the lock goes to a file beside the
notebook and, through JupyterLab, into the notebook's metadata).
"""

from __future__ import annotations

import argparse
import os
import shlex
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, NoReturn, cast

from ..commands import Handler, install, kernel, keys, mirror, module, query
from ..errors import ConfigError, SpackCacheError
from ..formats.notebook_lock import METADATA_KEY, lock_to_json
from ..install.installed import one_installed
from ..install.pipeline import InstallResult
from ..install.plan import Plan
from ..install.threadpool import default_jobs
from ..ops.environments import export_lock, spack_env_file, write_text_atomic
from ..ops.install import run_plan
from ..ops.lock import lock_roots, missing_mirrors, plan_restore, write_lock
from ..ops.modules import module_names
from ..present import install_json, plan_json, plan_text, print_json, result_text
from ..session import Session
from ..spec.parser import join_argv, parse_specs
from ..store.db import InstalledRecord
from . import hotattach, lockfile
from .lockbridge import LockBridge
from .widgets import progress_for


class UsageError(SpackCacheError):
    """A ``%spack`` command line argparse refused (the usage is printed with it)."""


class HelpShown(Exception):
    """``--help`` was printed; nothing else to do."""


class MagicParser(argparse.ArgumentParser):
    """argparse that raises instead of exiting the kernel."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}", hint=self.format_usage().strip())

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            print(message, end="")
        raise HelpShown


@dataclass
class KernelState:
    """What this kernel has installed or loaded through ``%spack`` (for ``%spack lock``)."""

    used: dict[str, str] = field(default_factory=dict)  # root hash -> "name@version"
    user_ns: Mapping[str, Any] = field(default_factory=dict)
    #: the comm that offers locks to the notebook's frontend (JupyterLab keeps them in metadata)
    bridge: LockBridge = field(default_factory=LockBridge)

    def remember(self, records: Sequence[InstalledRecord]) -> None:
        for r in records:
            self.used[r.hash] = f"{r.name}@{r.version}"


def build_parser(state: KernelState) -> MagicParser:
    parser = MagicParser(prog="%spack", description="Spack binaries in this kernel.")
    sub = cast(
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        parser.add_subparsers(dest="command", metavar="COMMAND", required=True),
    )
    for group in (mirror, keys, query, install, kernel, module):
        group.register(sub)
    sub.choices["install"].set_defaults(handler=partial(_install, state))
    load = sub.choices["load"]
    load.set_defaults(handler=partial(_load, state, load.get_default("handler")), shell=None)

    lk = sub.add_parser("lock", help="record the exact builds this notebook uses")
    lk.add_argument("spec", nargs="*", help="installed packages (default: those used here)")
    lk.add_argument("--file", help="lock file (default: NOTEBOOK.spack-lock.json beside it)")
    lk.add_argument(
        "--spack-lock",
        metavar="FILE",
        help="also write the locked roots as a spack.lock for Spack users",
    )
    lk.set_defaults(handler=partial(_lock, state))

    rs = sub.add_parser("restore", help="install the builds a notebook lock records")
    rs.add_argument(
        "--file",
        help="lock file (default: the notebook's metadata, else "
        "NOTEBOOK.spack-lock.json beside it); a spack.lock or "
        "spack.yaml is installed as `install --from` does",
    )
    rs.add_argument("--dry-run", action="store_true", help="show the plan and stop")
    rs.add_argument("-j", "--jobs", type=int, default=default_jobs())
    rs.set_defaults(handler=partial(_restore, state))
    return parser


def run(line: str, state: KernelState, *, session_factory: Callable[[], Session] = Session) -> int:
    """Parse and run one ``%spack`` line; raises :class:`SpackCacheError` for the user."""
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise UsageError(f"%spack: {exc}") from None
    parser = build_parser(state)
    if not words:
        parser.print_help()
        return 0
    try:
        args = parser.parse_args(words)
    except HelpShown:
        return 0
    handler: Handler = args.handler
    with session_factory() as session:  # fresh each time: the user may change config between cells
        return handler(session, args)


# ---- install and load: attach to this kernel -----------------------------------------------------


def _install(state: KernelState, session: Session, args: argparse.Namespace) -> int:
    plan = install.plan_for(session, args)
    code = install_and_attach(
        state, session, plan, dry_run=args.dry_run, jobs=args.jobs, json_out=args.json
    )
    if code == 0 and not args.dry_run:
        install.write_root_database(session, args, plan)
    return code


def install_and_attach(
    state: KernelState,
    session: Session,
    plan: Plan,
    *,
    dry_run: bool = False,
    jobs: int | None = None,
    json_out: bool = False,
) -> int:
    """Show ``plan``, install it (unless ``dry_run``) and attach its roots to this kernel."""
    if not json_out:
        print(plan_text(plan))
    if dry_run:
        if json_out:
            print_json(plan_json(plan))
        return 0 if plan.ok else 1
    result = install_in_thread(session, plan, jobs=jobs or default_jobs())
    if json_out:
        print_json(install_json(plan, result))
    else:
        print(result_text(result))
    roots = [r for r in (session.store.get(h) for h in plan.roots) if r is not None]
    _attach(state, session, roots)
    return 0


def install_in_thread(session: Session, plan: Plan, *, jobs: int) -> InstallResult:
    """Install on a worker thread so widgets keep updating; a kernel interrupt cancels it."""
    progress = progress_for(plan.downloads)
    cancel = threading.Event()
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["result"] = run_plan(
                plan,
                catalog=session.catalog,
                store=session.store,
                config=session.config,
                jobs=jobs,
                progress=progress,
                cancel=cancel,
            )
        except BaseException as exc:  # handed to the kernel's thread below
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="spackcache-magic-install", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.1)
    except KeyboardInterrupt:  # the kernel's interrupt button: stop cleanly, then report
        cancel.set()
        worker.join()
    finally:
        progress.close()
    if "error" in outcome:
        raise outcome["error"]
    result: InstallResult = outcome["result"]
    return result


def _load(
    state: KernelState, shell_code: Handler, session: Session, args: argparse.Namespace
) -> int:
    if args.shell is not None:  # explicitly asked for shell code: behave like the CLI
        return shell_code(session, args)
    records = [one_installed(session.store, str(s)) for s in parse_specs(join_argv(args.spec))]
    _attach(state, session, records)
    return 0


def _attach(state: KernelState, session: Session, roots: Sequence[InstalledRecord]) -> None:
    if not roots:
        return
    attachment = hotattach.attach(roots, store=session.store)
    state.remember(roots)
    print(hotattach.describe(attachment, [f"{r.name}@{r.version}" for r in roots]))
    modules = module_names(session.store.installed(), config=session.config)
    named = [modules[r.hash] for r in roots if r.hash in modules]
    if named:  # the same software outside the notebook: terminals, batch jobs
        print(f"in a terminal or a batch job: module load {' '.join(named)}")


# ---- lock and restore ----------------------------------------------------------------------------


def _lock(state: KernelState, session: Session, args: argparse.Namespace) -> int:
    store = session.store
    if args.spec:
        roots = [one_installed(store, str(s)) for s in parse_specs(join_argv(args.spec))]
    else:
        roots = [r for r in (store.get(h) for h in state.used) if r is not None]
    if not roots:
        raise ConfigError(
            "this notebook has not installed or loaded anything with %spack yet",
            hint="run `%spack install SPEC` or `%spack load SPEC` first, or name them: "
            "`%spack lock SPEC...`",
        )
    try:
        path: Path | None = lockfile.resolve_lock_file(args.file, os.environ, state.user_ns)
    except ConfigError:
        if not args.spack_lock:
            raise
        path = None  # outside a notebook (IPython, nbclient) the spack.lock alone was asked for
    notebook_lock = lock_roots(
        roots, store=store, mirrors=session.config.mirrors, host=session.host
    )
    if path is not None:
        write_lock(path, notebook_lock)
    if args.spack_lock:
        spack_lock = Path(args.spack_lock).expanduser().absolute()
        text = export_lock(
            notebook_lock,
            catalog=session.catalog,
            store=session.store,
            host=session.host,
            upstreams=session.upstreams,
        )
        write_text_atomic(spack_lock, text)
        print(f"wrote the Spack lockfile {spack_lock}")
    # a frontend's answer is only handled after this cell: report what an earlier answer showed
    in_metadata = state.bridge.confirmed
    state.bridge.offer(lock_to_json(notebook_lock))
    names = ", ".join(f"{n.name}@{n.version}/{n.hash[:7]}" for n in notebook_lock.roots)
    where = f"in {path}" if path is not None else f"in {args.spack_lock} only"
    if in_metadata:
        where = f"recorded in the notebook's metadata ({METADATA_KEY}.lock) and {where}"
    print(f"locked {len(notebook_lock.nodes)} build(s) ({names}) {where}")
    return 0


def _restore(state: KernelState, session: Session, args: argparse.Namespace) -> int:
    env = spack_env_file(Path(args.file).expanduser().absolute()) if args.file else None
    if env is not None:  # a spack.lock or spack.yaml: as `install --from` does
        plan = install.plan_from_file(session, env.source)
        return install_and_attach(state, session, plan, dry_run=args.dry_run, jobs=args.jobs)
    notebook_lock, source = lockfile.find_lock(args.file, os.environ, state.user_ns)
    for note in missing_mirrors(notebook_lock, session.config.mirrors):
        print(f"note: {note}")
    restore = plan_restore(
        notebook_lock,
        catalog=session.catalog,
        store=session.store,
        host=session.host,
        install_root=session.config.store_root,
        upstreams=session.upstreams,
    )
    for s in restore.substitutions:
        print(f"substituted {s.text()}")
    if not restore.substitutions:
        print(f"restoring exactly the {len(notebook_lock.nodes)} locked build(s) from {source}")
    return install_and_attach(state, session, restore.plan, dry_run=args.dry_run, jobs=args.jobs)
