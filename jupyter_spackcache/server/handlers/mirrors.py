"""Mirrors and their keys: ``/mirrors``, ``/mirrors/{name}``, ``/keys``, ``/keys/trust``.

Adding a mirror goes through :func:`jupyter_spackcache.ops.mirrors.add_mirror` (the site
policy check, a probe of the mirror, the atomic rewrite of the user config); a refusal by
policy is a 403, any other bad input a 400, both with the core's one-line message.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized

from ...config import MirrorConfig
from ...errors import SpackCacheError
from ...ops.keys import TrustRequest, mirror_keys, trust_keys, untrust_key
from ...ops.mirrors import MirrorRequest, add_mirror, mirror_statuses, remove_mirror
from ...present import key_json, mirror_json
from ...session import Session
from ...trust.mirrortrust import MirrorTrust, mirror_trust
from ..querythread import QueryThread
from .base import ApiError, SpackCacheHandler, optional_bool, require_str, require_str_list
from .firstrun import preset_request


def published_keys(
    session: Session, mirror: MirrorConfig
) -> tuple[tuple[str, ...] | None, str | None]:
    """Fingerprints the mirror publishes (None and the reason when they cannot be read)."""
    config = session.config
    if mirror not in config.mirrors:  # just added: the session's config predates it
        config = replace(config, mirrors=(*config.mirrors, mirror))
    try:
        keys = mirror_keys(
            mirror.name, config=config, catalog=session.catalog, keyring=session.keyring
        )
    except SpackCacheError as exc:
        return None, exc.message
    return tuple(k.fingerprint for k in keys), None


def trust_of(session: Session, mirror: MirrorConfig, core: QueryThread | None) -> MirrorTrust:
    """The mirror's own trust state, from its keys and this user's keyring (read now, so a key
    untrusted from a terminal shows at once); the published keys are remembered per URL."""
    if mirror.unsigned:
        return mirror_trust(unsigned=True, pinned=(), published=(), trusted=())
    read = partial(published_keys, session, mirror)
    published, problem = (
        core.memo(("mirror-keys", mirror.name, mirror.url), read) if core else read()
    )
    trusted = {k.fingerprint for k in session.keyring.list_keys()}
    return mirror_trust(
        unsigned=False,
        pinned=mirror.fingerprints,
        published=published,
        trusted=trusted,
        problem=problem,
    )


def mirrors_payload(session: Session, core: QueryThread | None = None) -> list[dict[str, Any]]:
    statuses = mirror_statuses(config=session.config, catalog=session.catalog)
    return [
        mirror_json(s.mirror, s.layout, s.nodes, trust_of(session, s.mirror, core))
        for s in statuses
    ]


def add_payload(session: Session, request: MirrorRequest) -> dict[str, Any]:
    """A malformed mirror is a 400 (ConfigError), one the site forbids a 403 (PolicyError)."""
    mirror = add_mirror(request, config=session.config, keyring=session.keyring).mirror
    meta = session.catalog.cache.meta(mirror)
    return mirror_json(
        mirror,
        meta.layout if meta else None,
        meta.nodes if meta else None,
        trust_of(session, mirror, None),
    )


def remove_payload(session: Session, name: str) -> dict[str, Any]:
    if all(m.name != name for m in session.config.mirrors):
        raise ApiError(404, "not-found", f"unknown mirror '{name}'")
    change = remove_mirror(name, config=session.config, catalog=session.catalog)
    return mirror_json(change.mirror, None, None)


class MirrorsHandler(SpackCacheHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        core = self.state.core
        self.write_json(await core.run(lambda s: mirrors_payload(s, core)))

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        if "preset" in body:  # one the site offers (GET /host first_run.presets)
            preset = require_str(body, "preset")
            added = await self.state.core.run(
                lambda s: add_payload(s, preset_request(s.config, preset)), invalidate=True
            )
            name = added["name"]
        else:
            name, url = require_str(body, "name"), require_str(body, "url")
            request = MirrorRequest(name, url, unsigned=optional_bool(body, "unsigned"))
            added = await self.state.core.run(lambda s: add_payload(s, request), invalidate=True)
        self.set_header("Location", self.request.path.rstrip("/") + "/" + name)
        self.write_json(added, status=201)


class MirrorHandler(SpackCacheHandler):
    @tornado.web.authenticated
    @authorized
    async def delete(self, name: str) -> None:
        removed = await self.state.core.run(lambda s: remove_payload(s, name), invalidate=True)
        self.write_json(removed)


def trusted_keys(session: Session) -> list[dict[str, Any]]:
    return [key_json(k, trusted=True) for k in session.keyring.list_keys()]


def preview_keys(session: Session, mirror: str) -> list[dict[str, Any]]:
    """The mirror's keys (fingerprints, user IDs), marked trusted or not.

    Imports nothing the user did not ask for, except a site mirror's pinned keys, which opening
    the mirror trusts: so the trusted set is read after that.
    """
    offered = mirror_keys(
        mirror, config=session.config, catalog=session.catalog, keyring=session.keyring
    )
    trusted = {k.fingerprint for k in session.keyring.list_keys()}
    return [key_json(k, trusted=k.fingerprint in trusted) for k in offered]


def trust_payload(session: Session, mirror: str, fingerprints: list[str]) -> list[dict[str, Any]]:
    request = TrustRequest(mirror, tuple(fingerprints))
    imported = trust_keys(
        request, config=session.config, catalog=session.catalog, keyring=session.keyring
    )
    return [key_json(k, trusted=True) for k in imported]


class KeysHandler(SpackCacheHandler):
    """``GET /keys``: the keys this user trusts to verify packages."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json(await self.state.core.run(trusted_keys))


class KeyHandler(SpackCacheHandler):
    """``DELETE /keys/{fingerprint}``: stop trusting a key (as ``spackcache keys untrust``)."""

    @tornado.web.authenticated
    @authorized
    async def delete(self, fingerprint: str) -> None:
        def untrust(session: Session) -> dict[str, Any]:
            known = {k.fingerprint: k for k in session.keyring.list_keys()}
            key = known.get(fingerprint.upper())
            if key is None:
                raise ApiError(404, "not-found", f"no trusted key {fingerprint}")
            untrust_key(key.fingerprint, keyring=session.keyring)
            return key_json(key, trusted=False)

        self.write_json(await self.state.core.run(untrust, invalidate=True))


class TrustHandler(SpackCacheHandler):
    """``POST /keys/trust``: preview a mirror's keys, or trust the fingerprints named."""

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        mirror = require_str(body, "mirror")
        if optional_bool(body, "preview"):
            keys = await self.state.core.run(lambda s: preview_keys(s, mirror))
            self.write_json({"mirror": mirror, "keys": keys})
            return
        fingerprints = require_str_list(body, "fingerprints", allow_empty=True)
        if not fingerprints:  # the explicit list is the user's confirmation
            raise ApiError(
                400,
                "bad-request",
                "name the fingerprints to trust",
                hint="ask with preview: true first, check them, then send them back",
            )
        imported = await self.state.core.run(
            lambda s: trust_payload(s, mirror, fingerprints), invalidate=True
        )
        self.write_json({"mirror": mirror, "keys": imported})
