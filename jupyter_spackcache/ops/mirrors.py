"""Mirror add, remove and list: the user's mirror configuration, checked and saved.

Adding probes the mirror (it must be a readable build cache) before anything is saved, and the
site policy is applied by :func:`~jupyter_spackcache.config.validate_new_mirror`; both return
the new :class:`~jupyter_spackcache.config.Config`, which the caller adopts (the server drops
its session, the CLI's ends with the command).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..config import (
    Config,
    MirrorConfig,
    mirror_from_mapping,
    save_user_mirrors,
    validate_new_mirror,
)
from ..errors import PolicyError
from ..mirrors.catalog import Catalog

if TYPE_CHECKING:
    from ..trust import Keyring


@dataclass(frozen=True, slots=True)
class MirrorRequest:
    """A mirror the user wants to add."""

    name: str
    url: str
    unsigned: bool = False
    #: read the mirror once before saving it (off only for a mirror that is not up yet)
    check: bool = True
    s3_endpoint: str | None = None
    view: str | None = None


@dataclass(frozen=True, slots=True)
class MirrorChange:
    """The mirror added or removed, and the configuration that now holds."""

    mirror: MirrorConfig
    config: Config


@dataclass(frozen=True, slots=True)
class MirrorStatus:
    """A configured mirror and what its cached index says (None before the first read)."""

    mirror: MirrorConfig
    layout: str | None
    nodes: int | None


def add_mirror(request: MirrorRequest, *, config: Config, keyring: Keyring | None) -> MirrorChange:
    raw: dict[str, object] = {"name": request.name, "url": request.url}
    raw["unsigned"] = request.unsigned
    raw.update(
        {k: v for k, v in (("s3_endpoint", request.s3_endpoint), ("view", request.view)) if v}
    )
    mirror = mirror_from_mapping(raw, "user", "the new mirror")
    validate_new_mirror(config, mirror)
    candidate = replace(config, mirrors=(*config.mirrors, mirror))
    if request.check:  # prove it is a readable build cache before saving anything
        probe = Catalog(candidate, keyring)
        try:
            probe.reader(mirror)
        finally:
            probe.close()
    save_user_mirrors(config, candidate.mirrors)
    return MirrorChange(mirror, candidate)


def remove_mirror(name: str, *, config: Config, catalog: Catalog) -> MirrorChange:
    """Remove a user mirror and its cached index; site mirrors stay."""
    mirror = config.mirror(name)
    if mirror.origin == "site":
        raise PolicyError(
            f"mirror '{name}' is defined by the site configuration and cannot be removed",
            hint="ask your administrators, or simply ignore it",
        )
    remaining = tuple(m for m in config.mirrors if m.name != name)
    save_user_mirrors(config, remaining)
    catalog.forget(mirror)
    return MirrorChange(mirror, replace(config, mirrors=remaining))


def mirror_statuses(*, config: Config, catalog: Catalog) -> list[MirrorStatus]:
    """Every configured mirror, site ones first; reads only the local index cache."""
    out = []
    for m in config.mirrors:
        meta = catalog.cache.meta(m)
        out.append(MirrorStatus(m, meta.layout if meta else None, meta.nodes if meta else None))
    return out
