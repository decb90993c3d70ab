"""Site policy for JupyterHub deployments: the ``SpackCache`` configurable and its mapping.

Admins set ``c.SpackCache.*`` in ``jupyter_server_config.py``; the values are laid over the
core's :class:`~jupyter_spackcache.config.Config` (site YAML + user YAML) with
``dataclasses.replace``, so the server and the CLI share one set of rules. Precedence:
traitlets > site YAML > user config, and a policy flag can only ever be made *stricter*.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from traitlets import Bool, Dict, List, TraitError, Unicode, validate
from traitlets.config import Configurable

from ..config import Config, MirrorConfig, Policy, load_config, normalize_url
from ..errors import ConfigError

_FINGERPRINT = re.compile(r"^[0-9A-F]{40}$")


@dataclass(frozen=True, slots=True)
class SiteSettings:
    """What the admin set through traitlets; ``None`` means "not set, keep the YAML value"."""

    mirrors: tuple[MirrorConfig, ...] = ()
    allow_user_mirrors: bool | None = None
    allow_unsigned: bool | None = None
    allow_file_mirrors: bool | None = None
    install_root: Path | None = None
    upstreams: tuple[Path, ...] | None = None
    auto_kernels: bool | None = None


def _stricter(current: bool, admin: bool | None) -> bool:
    """A permission stays granted only if every site source grants it."""
    return current if admin is None else current and admin


def apply_site_settings(config: Config, site: SiteSettings) -> Config:
    """``config`` (site YAML + user YAML) with the traitlets settings laid over it."""
    policy = Policy(
        allow_user_mirrors=_stricter(config.policy.allow_user_mirrors, site.allow_user_mirrors),
        allow_unsigned=_stricter(config.policy.allow_unsigned, site.allow_unsigned),
        allow_file_mirrors=_stricter(config.policy.allow_file_mirrors, site.allow_file_mirrors),
    )
    admin_names = {m.name for m in site.mirrors}
    kept = [m for m in config.mirrors if m.name not in admin_names and _allowed(m, policy)]
    return replace(
        config,
        mirrors=(*site.mirrors, *kept),
        policy=policy,
        install_root=site.install_root or config.install_root,
        upstreams=config.upstreams if site.upstreams is None else site.upstreams,
        auto_kernels=config.auto_kernels if site.auto_kernels is None else site.auto_kernels,
    )


def _allowed(mirror: MirrorConfig, policy: Policy) -> bool:
    """Whether a configured mirror survives the (possibly stricter) policy."""
    if mirror.origin == "site":
        return True
    if not policy.allow_user_mirrors:
        return False
    if mirror.unsigned and not policy.allow_unsigned:
        return False
    return policy.allow_file_mirrors or not mirror.url.startswith("file://")


def admin_mirror(raw: Mapping[str, Any]) -> MirrorConfig:
    """One ``c.SpackCache.mirrors`` entry as a site mirror; raises ConfigError when malformed."""
    if "name" not in raw or "url" not in raw:
        raise ConfigError("each c.SpackCache.mirrors entry needs a 'name' and a 'url'")
    fingerprints = tuple(str(f).replace(" ", "").upper() for f in raw.get("fingerprints", ()))
    bad = [f for f in fingerprints if not _FINGERPRINT.match(f)]
    if bad:
        raise ConfigError(f"'{bad[0]}' in c.SpackCache.mirrors is not a key fingerprint")
    return MirrorConfig(
        name=str(raw["name"]),
        url=normalize_url(str(raw["url"])),
        unsigned=bool(raw.get("unsigned", False)),
        fingerprints=fingerprints,
        origin="site",
        s3_endpoint=raw.get("s3_endpoint"),
        view=raw.get("view"),
    )


def _expand(path: str) -> Path:
    """``$WORK/spack`` and ``~/spack`` are expanded in the single-user server's environment."""
    return Path(os.path.expandvars(os.path.expanduser(path)))


class SpackCache(Configurable):
    """Site policy of the jupyter-spackcache server extension (``c.SpackCache.*``)."""

    mirrors = List(
        Dict(),
        help="Admin-defined mirrors: dicts with name, url and optionally fingerprints (pinned "
        "signing keys), unsigned, s3_endpoint, view. Users cannot remove or redefine them.",
    ).tag(config=True)
    allow_user_mirrors = Bool(
        None, allow_none=True, help="Whether users may add their own mirrors (None: site YAML)."
    ).tag(config=True)
    allow_unsigned_mirrors = Bool(
        None, allow_none=True, help="Whether users may add unsigned mirrors (None: site YAML)."
    ).tag(config=True)
    allow_file_mirrors = Bool(
        None, allow_none=True, help="Whether users may add file:// mirrors (None: site YAML)."
    ).tag(config=True)
    install_root = Unicode(
        None, allow_none=True, help="Install root, e.g. '$WORK/spack' (None: config/default)."
    ).tag(config=True)
    upstreams = List(
        Unicode(), default_value=None, allow_none=True,
        help="Read-only Spack install trees whose packages are reused, never written.",
    ).tag(config=True)
    auto_kernels = Bool(
        None, allow_none=True, help="Whether installed stacks become Jupyter kernels."
    ).tag(config=True)

    @validate("mirrors")
    def _check_mirrors(self, proposal: Any) -> list[dict[str, Any]]:
        value: list[dict[str, Any]] = proposal["value"]
        try:
            for raw in value:
                admin_mirror(raw)
        except ConfigError as exc:
            raise TraitError(str(exc)) from exc
        return value

    def site_settings(self) -> SiteSettings:
        return SiteSettings(
            mirrors=tuple(admin_mirror(raw) for raw in self.mirrors),
            allow_user_mirrors=self.allow_user_mirrors,
            allow_unsigned=self.allow_unsigned_mirrors,
            allow_file_mirrors=self.allow_file_mirrors,
            install_root=_expand(self.install_root) if self.install_root else None,
            upstreams=None if self.upstreams is None else tuple(map(_expand, self.upstreams)),
            auto_kernels=self.auto_kernels,
        )


def effective_config(site: SiteSettings, env: Mapping[str, str] | None = None) -> Config:
    """The core Config the server uses right now (user YAML may have changed since)."""
    return apply_site_settings(load_config(env), site)


__all__: Sequence[str] = (
    "SiteSettings",
    "SpackCache",
    "admin_mirror",
    "apply_site_settings",
    "effective_config",
)
