"""Settings: one immutable object built from the site file, the user file and the environment.

Precedence (later wins, except where the site *forbids*): built-in defaults < site config
(``$SPACKCACHE_SITE_CONFIG``, default ``/etc/spackcache/config.yaml``) < user config
(``$SPACKCACHE_HOME/config.yaml``) < environment variables. Site mirrors cannot be removed or
redefined by users, and site policy flags (``allow_user_mirrors``, ``allow_unsigned``,
``allow_file_mirrors``) are never loosened by user settings.

All per-user state lives under one root, ``$SPACKCACHE_HOME`` (default ``~/.spackcache``).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError
from .mirrors.auth import AuthSpec, parse_auth
from .mirrors.retry import RetryPolicy

DEFAULT_SITE_CONFIG = "/etc/spackcache/config.yaml"
_MIRROR_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_FINGERPRINT = re.compile(r"^[0-9A-F]{40}$")
_SCHEMES = ("file://", "http://", "https://", "s3://", "oci://", "oci+http://")


@dataclass(frozen=True, slots=True)
class MirrorConfig:
    """A configured mirror. ``origin`` is "site" or "user"; site mirrors are read-only."""

    name: str
    url: str
    unsigned: bool = False
    #: pinned key fingerprints: when non-empty, only these keys may sign this mirror's packages
    fingerprints: tuple[str, ...] = ()
    origin: str = "user"
    #: S3-compatible endpoint for s3:// URLs (None: AWS)
    s3_endpoint: str | None = None
    #: Spack 1.2 named index view (v3 only)
    view: str | None = None
    #: where this mirror's credentials are (None: anonymous, or ~/.netrc)
    auth: AuthSpec | None = None
    #: PEM file of the CAs this mirror's certificate chains to (a site CA)
    ca_bundle: str | None = None

    def to_yaml(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "url": self.url}
        if self.unsigned:
            out["unsigned"] = True
        if self.fingerprints:
            out["fingerprints"] = list(self.fingerprints)
        if self.s3_endpoint:
            out["s3_endpoint"] = self.s3_endpoint
        if self.view:
            out["view"] = self.view
        if self.auth is not None:
            out["auth"] = self.auth.to_yaml()
        if self.ca_bundle:
            out["ca_bundle"] = self.ca_bundle
        return out


@dataclass(frozen=True, slots=True)
class Policy:
    """What the site allows users to do."""

    allow_user_mirrors: bool = True
    allow_unsigned: bool = True
    allow_file_mirrors: bool = True


@dataclass(frozen=True, slots=True)
class HostOverrides:
    """Pose as another host (tests, cross-installs). Any field left None is detected."""

    platform: str | None = None
    os: str | None = None
    target: str | None = None
    #: "glibc@2.36" or "glibc@2.36:/usr"; "none" disables the libc check
    libc: str | None = None


#: the modulefile formats this project writes, by the names Spack uses for them
MODULE_FORMATS = ("lmod", "tcl")


@dataclass(frozen=True, slots=True)
class ModulesConfig:
    """Environment modules for installed stacks (the ``modules:`` section).

    ``enable`` lists the formats written ("lmod", "tcl"; empty turns modules off); ``roots``
    overrides where a format's files go (default ``$SPACKCACHE_HOME/modules/<format>``).
    """

    enable: tuple[str, ...] = MODULE_FORMATS
    roots: tuple[tuple[str, Path], ...] = ()
    #: a modulefile for every installed node, not only the explicitly installed ones
    all_nodes: bool = False
    #: add the Lmod root to the Jupyter server's MODULEPATH when jupyter-lmod is installed
    jupyter_lmod: bool = True


@dataclass(frozen=True, slots=True)
class Config:
    home: Path
    mirrors: tuple[MirrorConfig, ...] = ()
    policy: Policy = field(default_factory=Policy)
    host: HostOverrides = field(default_factory=HostOverrides)
    install_root: Path | None = None
    #: read-only Spack stores whose installs are reused but never written
    upstreams: tuple[Path, ...] = ()
    #: whether installed stacks become Jupyter kernels automatically
    auto_kernels: bool = False
    site_config: Path | None = None
    modules: ModulesConfig = field(default_factory=ModulesConfig)
    #: timeouts, retries and the per-operation deadline for every mirror request
    network: RetryPolicy = field(default_factory=RetryPolicy)

    # state locations, all under ``home``
    @property
    def user_config_path(self) -> Path:
        return self.home / "config.yaml"

    @property
    def gnupg_home(self) -> Path:
        return self.home / "gnupg"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def store_root(self) -> Path:
        return self.install_root or self.home / "opt"

    def module_root(self, fmt: str) -> Path:
        """Where modulefiles of format ``fmt`` ("lmod" or "tcl") are written."""
        return dict(self.modules.roots).get(fmt) or self.home / "modules" / fmt

    def mirror(self, name: str) -> MirrorConfig:
        for m in self.mirrors:
            if m.name == name:
                return m
        known = ", ".join(m.name for m in self.mirrors) or "none configured"
        raise ConfigError(
            f"unknown mirror '{name}' (known: {known})",
            hint="see `spackcache mirror list`, or add one with `spackcache mirror add NAME URL`",
        )


def spackcache_home(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    raw = env.get("SPACKCACHE_HOME") or "~/.spackcache"
    return Path(os.path.expanduser(raw)).absolute()


def load_config(env: Mapping[str, str] | None = None) -> Config:
    """Read site + user config and the environment into one :class:`Config`."""
    env = os.environ if env is None else env
    home = spackcache_home(env)
    site_path = Path(env.get("SPACKCACHE_SITE_CONFIG") or DEFAULT_SITE_CONFIG)
    site = _read_yaml(site_path) if site_path.is_file() else {}
    user = _read_yaml(home / "config.yaml") if (home / "config.yaml").is_file() else {}

    policy = _policy(site.get("policy", {}), site_path)
    site_mirrors = [_mirror(m, "site", site_path) for m in _list(site, "mirrors", site_path)]
    user_mirrors = [_mirror(m, "user", home / "config.yaml") for m in _list(user, "mirrors", home)]
    site_names = {m.name for m in site_mirrors}
    mirrors = site_mirrors + [
        m for m in user_mirrors if m.name not in site_names and _allowed(m, policy)
    ]
    # site pins apply to user-defined mirrors of the same URL too
    pins = _dict(site, "pinned_keys", site_path)
    mirrors = [
        replace(m, fingerprints=tuple(_fpr(f) for f in pins[m.name])) if m.name in pins else m
        for m in mirrors
    ]

    merged: dict[str, Any] = {**site, **{k: v for k, v in user.items() if k != "policy"}}
    host_raw = {**_dict(site, "host", site_path), **_dict(user, "host", home)}
    host = HostOverrides(
        platform=env.get("SPACKCACHE_PLATFORM") or host_raw.get("platform"),
        os=env.get("SPACKCACHE_OS") or host_raw.get("os"),
        target=env.get("SPACKCACHE_TARGET") or host_raw.get("target"),
        libc=env.get("SPACKCACHE_LIBC") or host_raw.get("libc"),
    )
    install_root = env.get("SPACKCACHE_INSTALL_ROOT") or merged.get("install_root")
    upstreams = tuple(
        Path(os.path.expandvars(os.path.expanduser(str(p))))
        for p in merged.get("upstreams", []) or []
    )
    return Config(
        home=home,
        mirrors=tuple(mirrors),
        policy=policy,
        host=host,
        install_root=(
            Path(os.path.expandvars(os.path.expanduser(str(install_root))))
            if install_root
            else None
        ),
        upstreams=upstreams,
        auto_kernels=bool(merged.get("auto_kernels", False)),
        site_config=site_path if site else None,
        modules=_modules(
            _dict(site, "modules", site_path), site_path, _dict(user, "modules", home), home
        ),
        network=_network(
            {**_dict(site, "network", site_path), **_dict(user, "network", home)},
            home / "config.yaml" if _dict(user, "network", home) else site_path,
        ),
    )


def validate_new_mirror(config: Config, mirror: MirrorConfig) -> None:
    """Refuse a user mirror that the site policy or basic sanity forbids."""
    if not _MIRROR_NAME.match(mirror.name):
        raise ConfigError(
            f"invalid mirror name '{mirror.name}'",
            hint="use letters, digits, '.', '_' or '-' (at most 64 characters)",
        )
    if any(m.name == mirror.name for m in config.mirrors):
        raise ConfigError(
            f"a mirror named '{mirror.name}' already exists",
            hint=f"remove it first with `spackcache mirror remove {mirror.name}`",
        )
    if not config.policy.allow_user_mirrors:
        raise ConfigError(
            "this site does not allow user-defined mirrors",
            hint="ask your administrators to add the mirror to the site configuration",
        )
    url = normalize_url(mirror.url)
    if url.startswith("file://") and not config.policy.allow_file_mirrors:
        raise ConfigError(
            "this site does not allow file:// mirrors",
            hint="use an http(s), s3 or oci mirror",
        )
    if mirror.unsigned and not config.policy.allow_unsigned:
        raise ConfigError(
            "this site does not allow unsigned mirrors",
            hint="use a signed mirror and trust its key with `spackcache keys trust`",
        )


def _allowed(mirror: MirrorConfig, policy: Policy) -> bool:
    """Whether the site lets a user-defined mirror take effect (added before a policy change)."""
    if not policy.allow_user_mirrors:
        return False
    if mirror.unsigned and not policy.allow_unsigned:
        return False
    return policy.allow_file_mirrors or not mirror.url.startswith("file://")


def normalize_url(url: str) -> str:
    """Plain paths become absolute ``file://`` URLs; other schemes are checked, not changed."""
    url = url.strip()
    if url.startswith(_SCHEMES):
        return url.rstrip("/") if not url.endswith("://") else url
    if "://" in url:
        scheme = url.split("://", 1)[0]
        raise ConfigError(
            f"unsupported mirror URL scheme '{scheme}://'",
            hint="use file://, http(s)://, s3://, oci:// or oci+http://",
        )
    return "file://" + str(Path(os.path.expanduser(url)).absolute())


def save_user_mirrors(config: Config, mirrors: Sequence[MirrorConfig]) -> None:
    """Rewrite the user config file's mirror list atomically, keeping its other settings."""
    path = config.user_config_path
    data = _read_yaml(path) if path.is_file() else {}
    data["mirrors"] = [m.to_yaml() for m in mirrors if m.origin == "user"]
    write_yaml_atomic(path, data)


def write_yaml_atomic(path: Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".config-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            yaml.safe_dump(dict(data), fh, sort_keys=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ---- parsing helpers ------------------------------------------------------------------------


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"cannot read config file {path}: {first}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must be a mapping at the top level")
    return data


def _list(data: Mapping[str, Any], key: str, where: Path) -> list[Any]:
    value = data.get(key) or []
    if not isinstance(value, list):
        raise ConfigError(f"'{key}' in {where} must be a list")
    return value


def _dict(data: Mapping[str, Any], key: str, where: Path) -> dict[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"'{key}' in {where} must be a mapping")
    return value


def _policy(raw: Any, where: Path) -> Policy:
    if not isinstance(raw, dict):
        raise ConfigError(f"'policy' in {where} must be a mapping")
    known = {"allow_user_mirrors", "allow_unsigned", "allow_file_mirrors"}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"unknown policy setting(s) in {where}: {', '.join(sorted(unknown))}")
    return Policy(**{k: bool(v) for k, v in raw.items()})


def _fpr(value: Any) -> str:
    fpr = str(value).replace(" ", "").upper()
    if not _FINGERPRINT.match(fpr):
        raise ConfigError(
            f"'{value}' is not a key fingerprint",
            hint="give the full 40-hex-digit fingerprint (see `spackcache keys list`)",
        )
    return fpr


def _mirror(raw: Any, origin: str, where: Path) -> MirrorConfig:
    if not isinstance(raw, dict) or "name" not in raw or "url" not in raw:
        raise ConfigError(f"each mirror in {where} needs a 'name' and a 'url'")
    return MirrorConfig(
        name=str(raw["name"]),
        url=normalize_url(str(raw["url"])),
        unsigned=bool(raw.get("unsigned", False)),
        fingerprints=tuple(_fpr(f) for f in raw.get("fingerprints", []) or []),
        origin=origin,
        s3_endpoint=raw.get("s3_endpoint"),
        view=raw.get("view"),
        auth=parse_auth(raw["auth"], str(where)) if raw.get("auth") else None,
        ca_bundle=str(raw["ca_bundle"]) if raw.get("ca_bundle") else None,
    )


def _modules(
    site: Mapping[str, Any], site_path: Path, user: Mapping[str, Any], home: Path
) -> ModulesConfig:
    """The ``modules:`` section, the user's keys over the site's, each checked where it is."""
    known = {"enable", "roots", "all_nodes", "jupyter_lmod"}
    merged: dict[str, Any] = {}
    where: dict[str, Path] = {}
    for raw, path in ((site, site_path), (user, home / "config.yaml")):
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(
                f"unknown setting 'modules.{unknown[0]}' in {path}",
                hint=f"the modules section knows: {', '.join(sorted(known))}",
            )
        for key, value in raw.items():
            merged[key], where[key] = value, path
    out = ModulesConfig()
    if "enable" in merged:
        out = replace(out, enable=_module_formats(merged["enable"], where["enable"]))
    if "roots" in merged:
        out = replace(out, roots=_module_roots(merged["roots"], where["roots"]))
    for key in ("all_nodes", "jupyter_lmod"):
        if key in merged:
            if not isinstance(merged[key], bool):
                raise ConfigError(f"'modules.{key}' in {where[key]} must be true or false")
            out = replace(out, **{key: merged[key]})
    return out


def _module_formats(value: Any, where: Path) -> tuple[str, ...]:
    if value is None or value is False:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or any(i not in MODULE_FORMATS for i in items):
        raise ConfigError(
            f"'modules.enable' in {where} must list formats among {', '.join(MODULE_FORMATS)}",
            hint="e.g. `enable: [lmod]` for Lmod only, `enable: []` for no modulefiles",
        )
    return tuple(dict.fromkeys(items))


def _module_roots(value: Any, where: Path) -> tuple[tuple[str, Path], ...]:
    if not isinstance(value, dict) or any(k not in MODULE_FORMATS for k in value):
        raise ConfigError(
            f"'modules.roots' in {where} must map {' or '.join(MODULE_FORMATS)} to a directory"
        )
    out: list[tuple[str, Path]] = []
    for fmt, raw in value.items():
        path = Path(os.path.expandvars(os.path.expanduser(str(raw))))
        if not path.is_absolute():
            raise ConfigError(f"'modules.roots.{fmt}' in {where} must be an absolute path")
        out.append((fmt, path))
    return tuple(out)


_NETWORK_KEYS = {
    "timeout": "timeout",
    "attempts": "attempts",
    "deadline": "deadline",
    "retry_after_max": "retry_after_cap",
    "min_bytes": "min_bytes",
}


def _network(raw: Mapping[str, Any], where: Path) -> RetryPolicy:
    """The ``network:`` settings: ``timeout`` (s), ``attempts``, ``deadline`` (s),
    ``retry_after_max`` (s), ``min_bytes`` (per ``timeout``); each a positive number."""
    values: dict[str, float | int] = {}
    for key, value in raw.items():
        if key not in _NETWORK_KEYS:
            known = ", ".join(sorted(_NETWORK_KEYS))
            raise ConfigError(f"{where}: unknown key network.{key} (known: {known})")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ConfigError(f"{where}: network.{key} must be a positive number, not {value!r}")
        whole = key in ("attempts", "min_bytes")
        values[_NETWORK_KEYS[key]] = int(value) if whole else float(value)
    return replace(RetryPolicy(), **values)  # type: ignore[arg-type]
