"""Results as JSON and as text: the one place the three front doors take their output from.

The CLI's ``--json``, the REST responses (documented by ``docs/openapi.yaml``, and checked
against it by the tests) and the magics' output are all made here, so a shape means the same
everywhere. Pure functions of core values and :mod:`~jupyter_spackcache.ops` results; no
logic beyond presentation.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

from .config import Config, MirrorConfig
from .errors import SpackCacheError, SpecSyntaxError
from .host import Host
from .netconfig import redact_url
from .resolve import Candidate, Resolution
from .spec.concrete import ConcreteNode

if TYPE_CHECKING:
    from .install.pipeline import InstallResult
    from .install.plan import Plan, PlannedNode
    from .kernels import KernelInfo
    from .mirrors.base import SpecRecord
    from .modules import ModuleSync
    from .nomatch import NoMatch
    from .ops.query import Build, Listing
    from .ops.removal import Removal
    from .policy import Policy
    from .store.db import InstalledRecord
    from .trust import KeyInfo
    from .trust.mirrortrust import MirrorTrust


def print_json(data: Any, out: IO[str] | None = None) -> None:
    out = out or sys.stdout
    json.dump(data, out, indent=2, sort_keys=False)
    out.write("\n")


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def error_text(exc: SpackCacheError) -> str:
    lines = [f"error: {exc.message}"]
    if isinstance(exc, SpecSyntaxError):
        caret = getattr(exc, "caret", None)
        if callable(caret):
            lines.extend("  " + line for line in str(caret()).splitlines())
    if exc.hint:
        lines.append(f"  hint: {exc.hint}")
    lines.append(f"  see: {exc.docs_anchor}")
    return "\n".join(lines)


def rest_hint(error: SpackCacheError) -> str | None:
    """The hint for the REST API: unless it quotes a CLI command (a panel or API user has no
    terminal at hand), then where the troubleshooting guide explains this kind of failure."""
    hint = error.hint
    if hint and "`spackcache" in hint:
        return f"see the troubleshooting guide, section '{error.code}'"
    return hint


def human_size(n: int | None) -> str:
    if n is None:
        return "?"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"


def variants_text(node: ConcreteNode, *, limit: int = 6) -> str:
    parts = node.variant_words()
    if len(parts) > limit:
        parts = [*parts[:limit], "…"]
    return " ".join(parts)


def variants_json(node: ConcreteNode) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in node.variants}


def node_json(node: ConcreteNode) -> dict[str, Any]:
    return {
        "name": node.name,
        "version": node.version,
        "hash": node.hash,
        "platform": node.platform,
        "os": node.os,
        "target": node.target,
        "namespace": node.namespace,
        "compiler": f"{node.compiler[0]}@{node.compiler[1]}" if node.compiler else None,
        "variants": variants_json(node),
        "external": node.external,
        "dependencies": [
            {
                "name": e.name,
                "hash": e.hash,
                "deptypes": sorted(e.deptypes),
                "virtuals": list(e.virtuals),
            }
            for e in node.edges
        ],
    }


def policy_json(policy: Policy) -> dict[str, bool]:
    """The mirror permissions the panel needs to offer only what the site allows."""
    return {
        "user_mirrors": policy.allow_user_mirrors,
        "unsigned_mirrors": policy.allow_unsigned,
        "file_mirrors": policy.allow_file_mirrors,
    }


def mirror_json(
    m: MirrorConfig,
    layout: str | None,
    nodes: int | None,
    trust: MirrorTrust | None = None,
) -> dict[str, Any]:
    """A mirror; the REST API adds its ``trust`` (the CLI's ``mirror list`` has no keyring
    look-up per mirror, so there it is left out)."""
    out: dict[str, Any] = {
        "name": m.name,
        "url": redact_url(m.url),
        "signed": not m.unsigned,
        "origin": m.origin,
        "pinned_keys": list(m.fingerprints),
        "credentials": m.auth is not None,
        "layout": layout,
        "nodes": nodes,
    }
    if trust is not None:
        out["trust"] = mirror_trust_json(trust)
    return out


def mirror_trust_json(t: MirrorTrust) -> dict[str, Any]:
    return {
        "state": t.state,
        "keys": list(t.keys),
        "trusted_keys": list(t.trusted_keys),
        "problem": t.problem,
    }


def host_json(host: Host) -> dict[str, Any]:
    return {
        "platform": host.platform,
        "os": host.os,
        "target": host.target,
        "family": host.family,
        "compatible_targets": list(host.compatible_targets),
        "libc": None
        if host.libc is None
        else {"name": host.libc.name, "version": host.libc.version, "path": host.libc.path},
    }


Metadata = Mapping[str, "SpecRecord | SpackCacheError"]


def candidate_json(c: Candidate, metadata: Metadata | None = None) -> dict[str, Any]:
    metadata = metadata or {}
    nodes = []
    for n in c.runtime:
        item = node_json(n)
        meta = metadata.get(n.hash)
        if meta is not None:
            item.update(_metadata_json(meta))
        nodes.append(item)
    return {
        "mirror": c.source,
        "root": node_json(c.root),
        "nodes": nodes,
        "to_download": [n.hash for n in c.to_download],
        "download_bytes": _total(c, metadata),
        "target_distance": c.target_distance,
    }


def _metadata_json(meta: SpecRecord | SpackCacheError) -> dict[str, Any]:
    """A node's tarball size and signer, or why its metadata could not be verified."""
    if isinstance(meta, SpackCacheError):
        return {"size": None, "signed_by": None, "problem": meta.message}
    return {"size": meta.tarball.size, "signed_by": meta.signed_by}


def _total(c: Candidate, metadata: Metadata) -> int | None:
    sizes = [getattr(metadata.get(n.hash), "tarball", None) for n in c.to_download]
    known = [t.size for t in sizes if t is not None and t.size is not None]
    return sum(known) if len(known) == len(c.to_download) else None


def resolution_json(r: Resolution, metadata: Metadata | None = None) -> dict[str, Any]:
    return {
        "request": str(r.request),
        "chosen": candidate_json(r.chosen, metadata) if r.chosen else None,
        "alternatives": len(r.candidates) - (1 if r.chosen else 0),
        "considered": r.considered,
        "rejected": [{"reason": reason, "count": n} for reason, n in r.rejections],
        "available_versions": list(r.available_versions),
        "explanation": None if r.chosen else r.explain(),
    }


def resolution_text(
    r: Resolution, metadata: Metadata | None = None, description: str | None = None
) -> str:
    """``spackcache info``; ``description`` is what the package is, when an installed build
    of it says (mirrors carry no descriptions)."""
    metadata = metadata or {}
    lines: list[str] = []
    c = r.chosen
    if c is not None:
        root = c.root
        lines.append(f"{root.name}@{root.version}/{root.hash[:7]}  from mirror '{c.source}'")
        if description:
            lines.append(f"  {description}")
        lines.append(f"  target {root.target} ({root.platform}-{root.os})  {variants_text(root)}")
        total = _total(c, metadata)
        size = f" ({human_size(total)})" if total is not None else ""
        lines.append(f"  {len(c.runtime)} runtime nodes, {len(c.to_download)} to download{size}:")
        rows = []
        problems: list[str] = []
        for n in reversed(c.runtime):
            meta = metadata.get(n.hash)
            if n.is_external:
                note = "external " + (n.external or "")
            elif isinstance(meta, SpackCacheError):
                note = "not verified"
                problems.append(f"{n.name}: {meta.message}")
            elif meta is not None:
                note = human_size(meta.tarball.size) + (", signed" if meta.signed_by else "")
            else:
                note = ""
            name = ("  " if n.hash != root.hash else "") + n.name
            rows.append([name, n.version, n.hash[:7], n.target, note])
        lines.append(_indent(table(rows, ["node", "version", "hash", "target", "note"]), 4))
        for problem in problems[:3]:
            lines.append(f"  warning: {problem}")
        others = len(r.candidates) - 1
        if others:
            lines.append(f"  {others} other compatible build(s) ranked lower")
    if r.rejections:
        lines.append(("rejected: " if c else "") + r.explain())
    elif c is None:
        lines.append(r.explain())
    if c is None and r.available_versions:
        lines.append("available versions: " + ", ".join(r.available_versions[:20]))
    return "\n".join(lines)


def _indent(text: str, n: int) -> str:
    pad = " " * n
    return "\n".join(pad + line for line in text.splitlines())


def join(items: Iterable[str]) -> str:
    return ", ".join(items)


# ---- keys and kernels ------------------------------------------------------------------------


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


def kernel_json(k: KernelInfo, *, missing: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": k.name,
        "display_name": k.display_name,
        "path": str(k.path),
        "language": k.language,
        "interpreter": k.interpreter,
        "argv": list(k.argv),
        "roots": list(k.roots),
        "hashes": list(k.hashes),
    }
    if missing is not None:
        out["missing"] = missing
    return out


# ---- listings --------------------------------------------------------------------------------


def listing_json(item: Listing) -> dict[str, Any]:
    """``spackcache list --json``: the whole node, where it is and whether it runs here."""
    return {
        **node_json(item.node),
        "mirror": item.mirror,
        "compatible": item.compatible,
        "reason": item.reason,
    }


def build_json(item: Listing) -> dict[str, Any]:
    n = item.node
    return {
        "hash": n.hash,
        "version": n.version,
        "target": n.target,
        "os": n.os,
        "platform": n.platform,
        "variants": variants_json(n),
        "mirror": item.mirror,
        # binary indices do not record tarball sizes; POST /plan reads them from the metadata
        "size": None,
    }


def group_listing(
    items: Iterable[Listing],
    best: Mapping[str, str | None] | None = None,
    linked: Collection[str] = (),
) -> list[dict[str, Any]]:
    """Builds grouped by package name (A-Z), newest version first within a group; ``best``
    maps a name to the hash the resolver would install for it (null when none is listed);
    a name in ``linked`` is a library (other packages of the mirrors link to it), any other
    an application."""
    best = best or {}
    groups: dict[str, list[Listing]] = {}
    for item in items:
        groups.setdefault(item.node.name, []).append(item)
    out = []
    for name in sorted(groups):
        builds = groups[name]
        versions = list(dict.fromkeys(b.node.version for b in builds))
        targets = sorted({b.node.target for b in builds})
        out.append(
            {
                "name": name,
                "versions": versions,
                "targets": targets,
                "mirrors": sorted({b.mirror for b in builds}),
                "builds": [build_json(b) for b in builds],
                "best": best.get(name),
                "role": "library" if name in linked else "application",
            }
        )
    return out


def described(
    groups: Iterable[Mapping[str, Any]], descriptions: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Package groups, each with the description known locally for its name (null when no
    installed build of it, here or upstream, has a recipe snapshot saying what it is)."""
    return [{**g, "description": descriptions.get(g["name"])} for g in groups]


def unrunnable_json(item: Listing) -> dict[str, Any]:
    n = item.node
    return {
        "name": n.name,
        "hash": n.hash,
        "version": n.version,
        "target": n.target,
        "mirror": item.mirror,
        "reason": item.reason,
    }


def nomatch_json(why: NoMatch) -> dict[str, Any]:
    """Why ``GET /specs`` found nothing (``NoMatch`` in docs/openapi.yaml)."""
    return {
        "kind": why.kind,
        "message": why.message,
        "host_target": why.host_target,
        "suggestions": list(why.suggestions),
        "targets": list(why.targets),
        "versions": list(why.versions),
        "unrunnable": [unrunnable_json(i) for i in why.unrunnable],
    }


def dag_json(root: ConcreteNode, nodes: Iterable[ConcreteNode], mirror: str) -> dict[str, Any]:
    return {"mirror": mirror, "root": node_json(root), "nodes": [node_json(n) for n in nodes]}


def build_detail_json(build: Build) -> dict[str, Any]:
    """``GET /specs/{hash}``: the DAG's runtime nodes with sizes; the total when all are known."""
    nodes: list[dict[str, Any]] = []
    total: int | None = 0
    for node in build.nodes:
        meta = build.metadata.get(node.hash)
        item = {**node_json(node), **(_metadata_json(meta) if meta is not None else {"size": None})}
        if meta is not None:
            size = item["size"]
            total = None if total is None or size is None else total + size
        nodes.append(item)
    return {
        "mirror": build.mirror,
        "root": node_json(build.dag.root),
        "nodes": nodes,
        "download_bytes": total,
        "compatible": build.problem is None,
        "reason": build.problem,
    }


# ---- plans and installs ----------------------------------------------------------------------


def planned_json(p: PlannedNode) -> dict[str, Any]:
    """One node of a plan; an external's ``prefix`` is where the system provides it, and a
    node reused from an upstream tree names that tree's root in ``upstream``."""
    return {
        "hash": p.hash,
        "name": p.node.name,
        "version": p.node.version,
        "target": p.node.target,
        "action": p.action,
        "prefix": str(p.prefix) if p.prefix is not None else p.node.external,
        "size": p.size,
        "mirror": p.mirror,
        "explicit": p.explicit,
        "upstream": p.mirror.removeprefix("upstream:") if p.upstream and p.mirror else None,
    }


def plan_json(plan: Plan) -> dict[str, Any]:
    """``POST /plan``, ``spackcache install --dry-run --json`` and ``%spack install --json``."""
    return {
        "install_root": str(plan.install_root),
        "roots": list(plan.roots),
        "nodes": [planned_json(p) for p in plan.nodes],
        "download_bytes": plan.download_bytes,
        "ok": plan.ok,
        "checks": [
            {"name": c.name, "ok": c.ok, "message": c.message, "hint": c.hint} for c in plan.checks
        ],
    }


def result_json(result: InstallResult) -> dict[str, Any]:
    return {
        "installed": [r.hash for r in result.installed],
        "reused": list(result.reused),
        "external": list(result.external),
        "warnings": list(result.warnings),
        "retries": result.retry_count,
        "retries_by_kind": dict(sorted(result.retries.items())),
    }


def install_json(plan: Plan, result: InstallResult) -> dict[str, Any]:
    """``spackcache install --json`` and ``%spack install --json``: the plan and what it did."""
    return {**plan_json(plan), "result": result_json(result)}


def plan_text(plan: Plan) -> str:
    rows = [
        [
            p.action,
            p.node.name,
            p.node.version,
            p.hash[:7],
            human_size(p.size) if p.action == "download" else "",
            str(p.prefix) if p.prefix is not None else (p.node.external or ""),
        ]
        for p in plan.nodes
    ]
    lines = [table(rows, ["action", "name", "version", "hash", "size", "prefix"])]
    downloads = len(plan.downloads)
    total = human_size(plan.download_bytes) if plan.download_bytes is not None else "unknown size"
    lines.append(f"download: {downloads} package(s), {total}")
    lines.append(f"install root: {plan.install_root}")
    shared: dict[str, list[str]] = {}
    for p in plan.nodes:
        if p.upstream and p.mirror:
            shared.setdefault(p.mirror.removeprefix("upstream:"), []).append(p.node.name)
    for tree, names in shared.items():
        lines.append(f"reused from the upstream tree {tree}: {join(names)}")
    for c in plan.checks:
        lines.append(f"check {c.name}: {'ok' if c.ok else 'FAILED'} - {c.message}")
    return "\n".join(lines)


def result_text(result: InstallResult) -> str:
    done = f"installed {len(result.installed)} package(s), {len(result.reused)} already installed"
    if result.retry_count:
        done += f" ({result.retry_count} network retries)"
    return "\n".join([done, *(f"warning: {w}" for w in result.warnings)])


# ---- what is installed -----------------------------------------------------------------------


def installed_json(
    r: InstalledRecord, module: str | None = None, description: str | None = None
) -> dict[str, Any]:
    """An installed package as the REST API lists it (``Installed`` in docs/openapi.yaml).

    Dependencies are hashes: the panel folds them under their root by hash. ``module`` is the
    name of its environment module, if it has one; ``description`` what its recipe snapshot
    says it is.
    """
    return {
        "hash": r.hash,
        "name": r.name,
        "version": r.version,
        "prefix": r.prefix,
        "install_root": r.root,
        "target": r.node.target,
        "variants": variants_json(r.node),
        "mirror": r.mirror,
        "explicit": r.explicit,
        "installed_at": r.installed_at,
        "dependencies": [e.hash for e in r.node.runtime_edges()],
        "module": module,
        "description": description,
    }


def installed_node_json(r: InstalledRecord) -> dict[str, Any]:
    """``spackcache find --json``: the whole concrete node (dependency edges with their types)
    plus where and how it is installed, under the same keys as :func:`installed_json`."""
    return {
        **node_json(r.node),
        "prefix": r.prefix,
        "install_root": r.root,
        "mirror": r.mirror,
        "explicit": r.explicit,
        "installed_at": r.installed_at,
    }


def removal_json(removal: Removal) -> dict[str, Any]:
    return {
        "removed": [installed_json(r) for r in removal.packages],
        "kernels_removed": [k.name for k in removal.kernels],
        "warning": removal.warning,
    }


def removal_text(removal: Removal, verb: str) -> str:
    lines = [f"will {verb}:"]
    lines += [f"  {r.name}@{r.version}/{r.hash[:7]}  {r.prefix}" for r in removal.packages]
    lines += [
        f"  kernel '{k.name}' (\"{k.display_name}\"), which needs them" for k in removal.kernels
    ]
    return "\n".join(lines)


# ---- environment modules ------------------------------------------------------------------------


def module_sync_json(result: ModuleSync, config: Config) -> dict[str, Any]:
    """``spackcache module refresh --json``."""
    return {
        "formats": {fmt: str(config.module_root(fmt)) for fmt in config.modules.enable},
        "modules": sorted(result.names.values()),
        "written": [str(p) for p in result.written],
        "removed": [str(p) for p in result.removed],
    }


def module_sync_text(result: ModuleSync, config: Config) -> str:
    lines = [] if config.modules.enable else ["modules are turned off (modules.enable is empty)"]
    lines += [
        f"{fmt}: {len(result.names)} module(s) in {config.module_root(fmt)}"
        for fmt in config.modules.enable
    ]
    lines.append(f"{len(result.written)} file(s) written, {len(result.removed)} removed")
    return "\n".join(lines)
