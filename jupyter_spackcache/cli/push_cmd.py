"""``spackcache push``: write installed packages into a (local) v3 build-cache mirror."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..config import MirrorConfig
from ..session import Session

if TYPE_CHECKING:  # imported when pushing: every other command starts faster without it
    from ..push.from_store import PushItem, PushResult, Stage
from ..present import human_size, print_json


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "push",
        help="push installed packages (and their runtime dependencies) to a mirror",
        description="Write installed specs into a Spack v3 build cache that Spack and "
        "spackcache can install from. Only local directories are supported for now.",
    )
    p.add_argument(
        "--mirror",
        required=True,
        metavar="URL_OR_DIR",
        help="destination: a directory, a file:// URL, or the name of a file:// mirror",
    )
    signing = p.add_mutually_exclusive_group()
    signing.add_argument("--key", metavar="FINGERPRINT", help="secret key to sign with")
    signing.add_argument("--unsigned", action="store_true", help="do not sign the manifests")
    p.add_argument("--force", action="store_true", help="overwrite packages already in the mirror")
    p.add_argument("--json", action="store_true")
    p.add_argument("specs", nargs="+", metavar="SPEC", help="installed specs to push")
    p.set_defaults(handler=_push)


def _destination(session: Session, text: str) -> str:
    """A configured mirror's name stands for its URL (like ``spack buildcache push``)."""
    if "/" in text or "://" in text:
        return text
    configured: dict[str, MirrorConfig] = {m.name: m for m in session.config.mirrors}
    mirror = configured.get(text)
    return mirror.url if mirror is not None else text


def _report(item: PushItem, stage: Stage) -> None:
    if stage == "pushing":
        print(f"pushing {item.short}", flush=True)
    elif stage == "skipped":
        print(f"skipped {item.short} (already in the mirror; --force replaces it)", flush=True)


def _push(session: Session, args: argparse.Namespace) -> int:
    from ..push.from_store import execute_push, plan_push

    plan = plan_push(
        args.specs,
        _destination(session, args.mirror),
        store=session.store,
        keyring=None if args.unsigned else session.keyring,
        key=args.key,
        unsigned=args.unsigned,
        force=args.force,
    )
    result = execute_push(plan, keyring=session.keyring, progress=None if args.json else _report)
    if args.json:
        print_json(_result_json(result))
    else:
        print(_summary(result))
    return 0


def _summary(result: PushResult) -> str:
    pushed = [n for n in result.nodes if n.action == "pushed"]
    skipped = len(result.nodes) - len(pushed)
    total = sum(n.size or 0 for n in pushed)
    how = f"signed with {result.signed_by}" if result.signed_by else "unsigned"
    kept = f", {skipped} already there" if skipped else ""
    return (
        f"pushed {len(pushed)} package{'' if len(pushed) == 1 else 's'} "
        f"({human_size(total)}, {how}{kept}) to {result.destination}; index updated"
    )


def _result_json(result: PushResult) -> dict[str, object]:
    return {
        "destination": str(result.destination),
        "signed_by": result.signed_by,
        "nodes": [
            {
                "name": n.name,
                "version": n.version,
                "hash": n.hash,
                "action": n.action,
                "size": n.size,
            }
            for n in result.nodes
        ],
    }
