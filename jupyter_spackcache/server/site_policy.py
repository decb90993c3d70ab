"""Site policy for JupyterHub deployments: the ``SpackCache`` configurable and its mapping.

Admins set ``c.SpackCache.*`` in a system Jupyter config file (``/etc/jupyter/…`` or
``sys.prefix/etc/jupyter/…``). The values are one more layer over the core's
:class:`~jupyter_spackcache.config.Config`, by the same two rules as the YAML files: policy flags
only tighten; values (``install_root``, ``upstreams``, ``auto_kernels``) sit at the level of
environment variables, and the server exports them to the terminals and kernels it starts, so a
terminal's ``spackcache`` installs where the panel does.

Mirrors set in a user-writable Jupyter config (``~/.jupyter``, ``$JUPYTER_CONFIG_DIR``) are the
user's own: labelled ``user`` and checked by the site policy like any mirror a user adds.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from traitlets import Bool, Dict, List, TraitError, Unicode, validate
from traitlets.config import Configurable

from ..config import Config, MirrorConfig, Policy, load_config, mirror_from_mapping
from ..configschema import expand_path
from ..errors import ConfigError

_WHERE = "c.SpackCache.mirrors"


@dataclass(frozen=True, slots=True)
class SiteSettings:
    """What the admin set through traitlets; ``None`` means "not set, keep the YAML value"."""

    mirrors: tuple[MirrorConfig, ...] = ()
    allow_user_mirrors: bool | None = None
    allow_unsigned: bool | None = None
    allow_file_mirrors: bool | None = None
    #: raw, expanded per user (``$WORK/spack``) when the config is built
    install_root: str | None = None
    upstreams: tuple[str, ...] | None = None
    auto_kernels: bool | None = None
    #: mirrors from the user's own Jupyter config: never site mirrors
    user_mirrors: tuple[MirrorConfig, ...] = ()


def _flag(admin: bool | None) -> bool:
    return True if admin is None else admin


def _decides(value: bool, before: bool, key: str, sources: Mapping[str, str]) -> bool:
    """Whether a layer's flag ``value`` is what the tightened policy shows for ``key``.

    Flags only tighten, so the first layer to forbid is the source, and a later "true" is not.
    """
    return f"policy.{key}" not in sources or (before and not value)


def apply_site_settings(
    config: Config, site: SiteSettings, env: Mapping[str, str] | None = None
) -> Config:
    """``config`` (site YAML + user YAML + environment) with the traitlets laid over it."""
    env = os.environ if env is None else env
    sources = dict(config.sources)
    policy = config.policy.tightened(
        Policy(
            allow_user_mirrors=_flag(site.allow_user_mirrors),
            allow_unsigned=_flag(site.allow_unsigned),
            allow_file_mirrors=_flag(site.allow_file_mirrors),
        )
    )
    for key, value in (
        ("allow_user_mirrors", site.allow_user_mirrors),
        ("allow_unsigned", site.allow_unsigned),
        ("allow_file_mirrors", site.allow_file_mirrors),
    ):
        # the traitlet is the source only where it decided: a True cannot re-allow
        if value is not None and _decides(value, getattr(config.policy, key), key, sources):
            sources[f"policy.{key}"] = "server traitlet c.SpackCache"
    admin = {m.name: m for m in site.mirrors}
    for name in admin:
        sources[f"mirrors.{name}"] = "server traitlet c.SpackCache.mirrors"
    kept = [
        m
        for m in config.mirrors
        if m.name not in admin and (m.origin == "site" or policy.refusal(m) is None)
    ]
    taken = {*admin, *(m.name for m in kept)}
    extra = [m for m in site.user_mirrors if m.name not in taken and policy.refusal(m) is None]
    for m in extra:
        sources[f"mirrors.{m.name}"] = "user's Jupyter config c.SpackCache.mirrors"
    values: dict[str, Any] = {}
    if site.install_root:
        where = "server traitlet c.SpackCache.install_root"
        values["install_root"] = expand_path(site.install_root, where, env)
        sources["install_root"] = where
    if site.upstreams is not None:
        where = "server traitlet c.SpackCache.upstreams"
        values["upstreams"] = tuple(expand_path(p, where, env) for p in site.upstreams)
        sources["upstreams"] = where
    if site.auto_kernels is not None:
        values["auto_kernels"] = site.auto_kernels
        sources["auto_kernels"] = "server traitlet c.SpackCache.auto_kernels"
    return replace(
        config,
        mirrors=(*admin.values(), *kept, *extra),
        policy=policy,
        sources=sources,
        **values,
    )


def admin_mirror(raw: Mapping[str, Any], origin: str = "site") -> MirrorConfig:
    """One ``c.SpackCache.mirrors`` entry; raises ConfigError when malformed."""
    return mirror_from_mapping(dict(raw), origin, _WHERE)


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
        Unicode(),
        default_value=None,
        allow_none=True,
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

    def site_settings(self, user_entries: Iterable[Mapping[str, Any]] = ()) -> SiteSettings:
        """The settings; ``user_entries`` are mirror dicts that came from user-writable files."""
        users = [dict(e) for e in user_entries]
        return SiteSettings(
            mirrors=tuple(admin_mirror(raw) for raw in self.mirrors if dict(raw) not in users),
            user_mirrors=tuple(
                admin_mirror(raw, "user") for raw in self.mirrors if dict(raw) in users
            ),
            allow_user_mirrors=self.allow_user_mirrors,
            allow_unsigned=self.allow_unsigned_mirrors,
            allow_file_mirrors=self.allow_file_mirrors,
            install_root=self.install_root or None,
            upstreams=None if self.upstreams is None else tuple(self.upstreams),
            auto_kernels=self.auto_kernels,
        )


def user_config_mirrors(config_files: Iterable[str], system_dirs: Iterable[str]) -> list[Any]:
    """``c.SpackCache.mirrors`` entries set by config files outside the system directories.

    Jupyter reads ``~/.jupyter`` (and ``$JUPYTER_CONFIG_DIR``) as well as the system
    directories; whatever those user-writable files say is the user's, not the site's. With
    JupyterHub, ``c.Spawner.disable_user_config = True`` stops them being read at all.
    """
    from traitlets.config.loader import JSONFileConfigLoader, PyFileConfigLoader

    trusted = {Path(d).resolve() for d in system_dirs}
    found: list[Any] = []
    for name in config_files:
        path = Path(name)
        if path.parent.resolve() in trusted:
            continue
        loader_type = JSONFileConfigLoader if path.suffix == ".json" else PyFileConfigLoader
        try:
            loaded = loader_type(path.name, str(path.parent)).load_config()
        except Exception:  # it loaded once already; a second failure only loses the label
            continue
        section = loaded.get("SpackCache", {})
        found.extend(section.get("mirrors", []) if hasattr(section, "get") else [])
    return found


def export_settings(site: SiteSettings, environ: MutableMapping[str, str]) -> None:
    """Pass the traitlet values on to the terminals and kernels this server starts.

    They read the same variables as the CLI, so ``spackcache`` in a JupyterLab terminal and
    ``%spack`` in a kernel install where the panel does.
    """
    if site.install_root:
        environ["SPACKCACHE_INSTALL_ROOT"] = str(
            expand_path(site.install_root, "c.SpackCache.install_root", environ)
        )
    if site.upstreams is not None:
        environ["SPACKCACHE_UPSTREAMS"] = os.pathsep.join(
            str(expand_path(p, "c.SpackCache.upstreams", environ)) for p in site.upstreams
        )


def effective_config(site: SiteSettings, env: Mapping[str, str] | None = None) -> Config:
    """The core Config the server uses right now (user YAML may have changed since)."""
    return apply_site_settings(load_config(env), site, env)


__all__: Sequence[str] = (
    "SiteSettings",
    "SpackCache",
    "admin_mirror",
    "apply_site_settings",
    "effective_config",
    "export_settings",
    "user_config_mirrors",
)
