"""Core values as REST JSON: pure functions, shared shapes with the CLI's ``--json``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..cli.render import node_json
from ..install.plan import Plan, PlannedNode
from ..session import Listing
from ..spec.concrete import ConcreteNode
from ..store.db import InstalledRecord


def variants_json(node: ConcreteNode) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in node.variants}


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


def group_listing(items: Iterable[Listing]) -> list[dict[str, Any]]:
    """Builds grouped by package name (A-Z), newest version first within a group."""
    groups: dict[str, list[Listing]] = {}
    for item in items:
        groups.setdefault(item.node.name, []).append(item)
    out = []
    for name in sorted(groups):
        builds = groups[name]
        versions = list(dict.fromkeys(b.node.version for b in builds))
        targets = sorted({b.node.target for b in builds})
        out.append({
            "name": name,
            "versions": versions,
            "targets": targets,
            "mirrors": sorted({b.mirror for b in builds}),
            "builds": [build_json(b) for b in builds],
        })
    return out


@dataclass(frozen=True, slots=True)
class Page:
    number: int
    per_page: int

    @property
    def start(self) -> int:
        return (self.number - 1) * self.per_page

    @property
    def needs(self) -> int:
        """Items to know before this page can be cut (one more tells if another follows)."""
        return self.start + self.per_page + 1

    def slice(self, items: Sequence[Any], *, complete: bool = True) -> dict[str, Any]:
        """This page of ``items``; totals only when ``items`` is everything there is."""
        end = self.start + self.per_page
        return {
            "page": self.number,
            "per_page": self.per_page,
            "total": len(items) if complete else None,
            "pages": max(1, -(-len(items) // self.per_page)) if complete else None,
            "has_more": len(items) > end,
            "items": list(items[self.start:end]),
        }


def planned_json(p: PlannedNode) -> dict[str, Any]:
    return {
        "hash": p.hash,
        "name": p.node.name,
        "version": p.node.version,
        "target": p.node.target,
        "action": p.action,
        "prefix": str(p.prefix) if p.prefix else None,
        "size": p.size,
        "mirror": p.mirror,
        "explicit": p.explicit,
    }


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "install_root": str(plan.install_root),
        "roots": list(plan.roots),
        "nodes": [planned_json(p) for p in plan.nodes],
        "download_bytes": plan.download_bytes,
        "ok": plan.ok,
        "checks": [
            {"name": c.name, "ok": c.ok, "message": c.message, "hint": c.hint}
            for c in plan.checks
        ],
    }


def record_json(r: InstalledRecord, module: str | None = None) -> dict[str, Any]:
    """An installed node; ``module`` is its environment module's name, if it has one."""
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
    }


def dag_json(root: ConcreteNode, nodes: Iterable[ConcreteNode], mirror: str) -> dict[str, Any]:
    return {"mirror": mirror, "root": node_json(root), "nodes": [node_json(n) for n in nodes]}
