"""``spackcache doctor [--repair]``: check (and fix) the install database against the disk."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..install.doctor import examine
from ..present import print_json
from ..session import Session


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "doctor", help="check the install database against the prefixes and their spec files"
    )
    p.add_argument(
        "--repair",
        action="store_true",
        help="fix what is found (never deletes an installed prefix)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_doctor)


def _doctor(session: Session, args: argparse.Namespace) -> int:
    store = session.store
    roots = {Path(session.config.store_root)}
    roots.update(Path(r.root) for r in store.installed())
    findings = examine(store, sorted(roots), repair=args.repair)
    if args.json:
        print_json(
            [
                {"kind": f.kind, "subject": f.subject, "detail": f.detail, "repaired": f.repaired}
                for f in findings
            ]
        )
    elif not findings:
        print(
            "everything is consistent: "
            f"{len(store.installed())} package(s) in {', '.join(map(str, sorted(roots)))}"
        )
    for f in findings if not args.json else ():
        print(f.line())
    left = [f for f in findings if not f.repaired]
    if left and not args.json:
        print(
            "run `spackcache doctor --repair` to fix what can be fixed"
            if not args.repair
            else f"{len(left)} problem(s) need a decision: see above"
        )
    return 1 if left else 0
