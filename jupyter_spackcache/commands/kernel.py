"""``spackcache kernel add|list|remove``: Jupyter kernels for installed stacks."""

from __future__ import annotations

import argparse

from ..kernels import list_kernels, remove_kernel
from ..ops.kernels import KernelRequest, add_kernel
from ..present import kernel_json, print_json, table
from ..session import Session


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("kernel", help="Jupyter kernels for installed packages")
    ksub = p.add_subparsers(dest="kernel_command", metavar="ACTION", required=True)

    add = ksub.add_parser("add", help="make a kernel whose environment has SPEC... loaded")
    add.add_argument("spec", nargs="+", help="installed packages (see `spackcache find`)")
    add.add_argument("--name", help="kernel name (default: spack-NAME-VERSION-HASH)")
    add.add_argument(
        "--display-name", help="name shown in Jupyter (default: 'NAME VERSION (TARGET)')"
    )
    add.add_argument("--json", action="store_true")
    add.set_defaults(handler=_add)

    ls = ksub.add_parser("list", help="kernels made by spackcache")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=_list)

    rm = ksub.add_parser("remove", help="remove a kernel made by spackcache")
    rm.add_argument("name")
    rm.set_defaults(handler=_remove)


def _split(words: list[str]) -> list[str]:
    from ..spec.parser import join_argv, parse_specs

    return [str(spec) for spec in parse_specs(join_argv(words))]


def _add(session: Session, args: argparse.Namespace) -> int:
    request = KernelRequest(tuple(_split(args.spec)), args.name, args.display_name)
    info = add_kernel(request, store=session.store, config=session.config)
    if args.json:
        print_json(kernel_json(info))
        return 0
    runs = "its own interpreter" if info.interpreter == "stack" else "Jupyter's Python"
    print(f"kernel '{info.name}' ready: \"{info.display_name}\" ({runs}, {info.language})")
    print(f"  kernelspec: {info.path}")
    return 0


def _list(session: Session, args: argparse.Namespace) -> int:
    kernels = list_kernels(session.config)
    store = session.store
    missing = {k.name: sum(1 for h in k.hashes if not store.has(h)) for k in kernels}
    if args.json:
        print_json([kernel_json(k, missing=missing[k.name]) for k in kernels])
        return 0
    if not kernels:
        print("no kernels made by spackcache; add one with `spackcache kernel add SPEC`")
        return 0
    rows = [
        [
            k.name,
            k.display_name,
            k.language,
            "ok" if not missing[k.name] else f"{missing[k.name]} package(s) missing",
        ]
        for k in kernels
    ]
    print(table(rows, ["name", "display name", "language", "status"]))
    return 0


def _remove(session: Session, args: argparse.Namespace) -> int:
    info = remove_kernel(args.name, session.config)
    print(f"removed kernel '{info.name}' (\"{info.display_name}\")")
    return 0
