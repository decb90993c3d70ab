"""What this host can install: ``/specs``, ``/specs/{hash}``, and ``POST /plan``.

Queries are parsed by the core's spec parser before anything else happens (a bad string is a
400 with the parser's one-line message); listings are memoised per query until the mirror set
changes or ``refresh=true`` is asked for, which keeps a 50k-node index responsive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized

from ...install.plan import Plan
from ...nomatch import explain_no_match
from ...ops.install import InstallRequest, plan_install
from ...ops.query import describe_build, listing
from ...present import build_detail_json, described, group_listing, nomatch_json, plan_json
from ...resolve import resolve
from ...session import Session
from ...spec.parser import parse_spec
from ...store.recipes import descriptions_named
from ..querythread import QueryThread
from .base import ApiError, SpackCacheHandler, require_str_list

MAX_PER_PAGE = 500


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
            "items": list(items[self.start : end]),
        }


def listing_groups(session: Session, query: str, *, exact: bool = False) -> list[dict[str, Any]]:
    items, _problems = listing(
        query, catalog=session.catalog, checks=session.host_checks, refresh=False, exact=exact
    )
    listed: dict[str, set[str]] = {}
    for item in items:
        listed.setdefault(item.node.name, set()).add(item.node.hash)
    indices, _problems = session.indices(refresh=False)
    linked = {name for index in indices for name in index.linked_names(listed)}
    return group_listing(
        items,
        {name: best_build(session, name, hashes) for name, hashes in listed.items()},
        linked,
    )


def best_build(session: Session, name: str, listed: set[str]) -> str | None:
    """The build ``spackcache install NAME`` would choose, among those listed (a query may
    have filtered the resolver's first choice out: then its best remaining one)."""
    indices, _problems = session.indices(refresh=False)
    resolution = resolve(parse_spec(name), indices, session.host)
    return next((c.root.hash for c in resolution.candidates if c.root.hash in listed), None)


def why_empty(session: Session, query: str) -> dict[str, Any]:
    """Why ``query`` lists nothing: no mirror, no such package, other targets or versions."""
    request = parse_spec(query)
    indices, _problems = session.indices(refresh=False)
    names = sorted({name for index in indices for name in index.names()})
    any_target, _ = listing(
        query,
        catalog=session.catalog,
        checks=session.host_checks,
        all_targets=True,
        refresh=False,
    )
    resolution = None
    if request.name is not None and request.name in names:
        resolution = resolve(request, indices, session.host)
    why = explain_no_match(
        request,
        mirrors=len(session.config.mirrors),
        host_target=session.host.target,
        names=names,
        any_target=any_target,
        resolution=resolution,
    )
    return nomatch_json(why)


def all_names(session: Session) -> list[str]:
    indices, _problems = session.indices(refresh=False)
    return sorted({name for index in indices for name in index.names()})


def browse(session: Session, core: QueryThread, page: Page) -> dict[str, Any]:
    """Without a query: groups in name order, worked out only as far as the page needs.

    Checking every build of a 50k-node index against the host takes minutes, so the first
    pages come back long before the last one is known (``total`` stays null until then).
    """
    names = core.memo(("names",), partial(all_names, session))
    groups: list[dict[str, Any]] = []
    scanned = 0
    for name in names:
        if len(groups) >= page.needs:
            break
        groups.extend(
            core.memo(("package", name), partial(listing_groups, session, name, exact=True))
        )
        scanned += 1
    return page.slice(groups, complete=scanned == len(names))


def search(session: Session, core: QueryThread, query: str | None, page: Page) -> dict[str, Any]:
    if query is None:
        out = browse(session, core, page)
    else:
        out = page.slice(core.memo(("specs", query), partial(listing_groups, session, query)))
    empty = out["total"] == 0
    if empty and query is None and not session.config.mirrors:
        out["why"] = nomatch_json(
            explain_no_match(
                None,
                mirrors=0,
                host_target=session.host.target,
                names=(),
                any_target=(),
                resolution=None,
            )
        )
    elif empty and query is not None:
        out["why"] = core.memo(("why", query), partial(why_empty, session, query))
    else:
        out["why"] = None
    # looked up per answer, not memoised with the listing: an install elsewhere adds one
    names = [group["name"] for group in out["items"]]
    known = descriptions_named(names, store=session.store, upstreams=session.upstreams)
    out["items"] = described(out["items"], known)
    return out


def spec_payload(session: Session, hash_prefix: str) -> dict[str, Any]:
    """One DAG (by full hash or unique prefix) with its runtime nodes, from the first mirror."""
    indices, _problems = session.indices(refresh=False)
    for index in indices:
        hashes = index.hashes_with_prefix(hash_prefix)
        if len(hashes) > 1:
            raise ApiError(
                400,
                "ambiguous",
                f"hash prefix '{hash_prefix}' matches {len(hashes)} builds",
                hint="give more characters of the hash",
            )
        if hashes:
            build = describe_build(index, hashes[0], catalog=session.catalog, host=session.host)
            return build_detail_json(build)
    raise ApiError(404, "not-found", f"no build with hash '{hash_prefix}' in any mirror")


def int_argument(raw: str | None, name: str, default: int, *, high: int) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= high:
        raise ApiError(400, "bad-request", f"'{name}' must be a whole number from 1 to {high}")
    return int(raw)


class SpecsHandler(SpackCacheHandler):
    """``GET /specs?q=SPEC&page=&per_page=&refresh=``: installable builds, grouped by name."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        query = (self.get_query_argument("q", "") or "").strip() or None
        if query is not None:
            parse_spec(query)  # SpecSyntaxError -> 400 before the core thread is bothered
        page = Page(
            int_argument(self.get_query_argument("page", None), "page", 1, high=10**6),
            int_argument(
                self.get_query_argument("per_page", None), "per_page", 50, high=MAX_PER_PAGE
            ),
        )
        refresh = self.get_query_argument("refresh", "false").lower() in {"1", "true", "yes"}
        core = self.state.core
        if refresh:
            await core.run(lambda s: s.indices(refresh=True), invalidate=True)
        self.write_json({"query": query, **await core.run(lambda s: search(s, core, query, page))})


class SpecHandler(SpackCacheHandler):
    """``GET /specs/{hash}``: one DAG with its nodes."""

    @tornado.web.authenticated
    @authorized
    async def get(self, hash_prefix: str) -> None:
        self.write_json(await self.state.core.run(lambda s: spec_payload(s, hash_prefix)))


def validated_specs(body: dict[str, Any]) -> list[str]:
    """Each entry must parse as exactly one spec: it is checked here, never handed to a shell."""
    specs = require_str_list(body, "specs")
    for text in specs:
        parse_spec(text)
    return specs


def plan_for(session: Session, specs: Sequence[str]) -> Plan:
    """What installing ``specs`` would do, with its prechecks (cached indices: a preview)."""
    request = InstallRequest(tuple(specs), session.config.store_root, refresh=False)
    return plan_install(
        request,
        catalog=session.catalog,
        store=session.store,
        host=session.host,
        upstreams=session.upstreams,
    )


class PlanHandler(SpackCacheHandler):
    """``POST /plan {specs}``: reuse/download/external per node, bytes, prechecks."""

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        specs = validated_specs(self.json_body())
        plan: Plan = await self.state.core.run(lambda s: plan_for(s, specs))
        self.write_json(plan_json(plan))


__all__ = ["PlanHandler", "SpecHandler", "SpecsHandler"]
