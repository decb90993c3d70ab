"""Settings: one immutable object built from the site files, the user file and the environment.

Two kinds of setting, two rules (docs/admin-guide.md, "Where settings come from"):

* **Policy** — which mirrors exist, which keys may sign them, what users may add — comes only
  from site layers, and each layer can only make it stricter: the system files
  (``sys.prefix/etc/spackcache/config.yaml``, then ``/etc/spackcache/config.yaml``) always
  apply; ``$SPACKCACHE_SITE_CONFIG`` adds one more layer, never replaces them; the Jupyter
  server's ``c.SpackCache.*`` traitlets add one more (``server/site_policy.py``). Site
  mirrors cannot be removed or redefined by users.
* **Values** (``install_root``, ``upstreams``, ``auto_kernels``, ``host``): built-in defaults <
  site files < user ``config.yaml`` < environment variables (and, in the Jupyter server, the
  traitlets, which it exports to its terminals and kernels as the same variables).

Every key is validated (configschema.py); each value remembers where it came from, which
``spackcache config check`` prints.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from .configschema import (
    MODULE_FORMATS,
    Located,
    check_mirror_entry,
    expand_path,
    read_located,
    validate,
)
from .errors import ConfigError, PolicyError
from .fingerprint import Fingerprint, fingerprints
from .limits import DEFAULT_LIMITS, Limits
from .netconfig import AuthSpec, RetryPolicy, parse_auth
from .policy import DEFAULT_DENIED_HOSTS, Policy
from .presets import DEFAULT_PRESETS, MirrorPreset, preset_from_mapping

#: The site files that always apply, whatever the environment says. A module-level seam: tests
#: replace it (in-process) instead of writing system paths other test runs would see.
SYSTEM_SITE_FILES: tuple[Path, ...] = (
    Path(sys.prefix) / "etc" / "spackcache" / "config.yaml",
    Path("/etc/spackcache/config.yaml"),
)
DEFAULT_SITE_CONFIG = "/etc/spackcache/config.yaml"
_MIRROR_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_SCHEMES = ("file://", "http://", "https://", "s3://", "oci://", "oci+http://")
#: value settings and the environment variable that overrides each
ENV_VARIABLES = {
    "install_root": "SPACKCACHE_INSTALL_ROOT",
    "upstreams": "SPACKCACHE_UPSTREAMS",
    "host.platform": "SPACKCACHE_PLATFORM",
    "host.os": "SPACKCACHE_OS",
    "host.target": "SPACKCACHE_TARGET",
    "host.libc": "SPACKCACHE_LIBC",
}

__all__ = [
    "DEFAULT_SITE_CONFIG",
    "MODULE_FORMATS",
    "SYSTEM_SITE_FILES",
    "Config",
    "HostOverrides",
    "MirrorConfig",
    "ModulesConfig",
    "Policy",
    "load_config",
    "mirror_from_mapping",
    "normalize_url",
    "save_user_mirrors",
    "spackcache_home",
    "validate_new_mirror",
    "write_yaml_atomic",
]


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


def mirror_from_mapping(raw: Any, origin: str, where: str) -> MirrorConfig:
    """The one way a mirror entry (site file, user file, traitlet) becomes a MirrorConfig."""
    check_mirror_entry(raw, where)
    return MirrorConfig(
        name=str(raw["name"]),
        url=normalize_url(str(raw["url"])),
        unsigned=bool(raw.get("unsigned", False)),
        fingerprints=fingerprints(raw.get("fingerprints", ())),
        origin=origin,
        s3_endpoint=raw.get("s3_endpoint"),
        view=raw.get("view"),
        auth=parse_auth(raw["auth"], where) if raw.get("auth") else None,
        ca_bundle=str(raw["ca_bundle"]) if raw.get("ca_bundle") else None,
    )


@dataclass(frozen=True, slots=True)
class HostOverrides:
    """Pose as another host (tests, cross-installs). Any field left None is detected."""

    platform: str | None = None
    os: str | None = None
    target: str | None = None
    #: "glibc@2.36" or "glibc@2.36:/usr"; "none" disables the libc check
    libc: str | None = None


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
    #: the site files that were read, in the order they apply
    site_files: tuple[Path, ...] = ()
    #: where each setting came from ("install_root", "policy.allow_unsigned", "mirrors.NAME")
    sources: Mapping[str, str] = field(default_factory=dict)
    modules: ModulesConfig = field(default_factory=ModulesConfig)
    #: bounds on what untrusted input may cost (``limits:`` in config files)
    limits: Limits = DEFAULT_LIMITS
    #: timeouts, retries and the per-operation deadline for every mirror request
    network: RetryPolicy = field(default_factory=RetryPolicy)
    #: mirrors the panel offers a user who has none (site files only, presets.py)
    mirror_presets: tuple[MirrorPreset, ...] = DEFAULT_PRESETS
    #: whether the panel offers to build the demo mirror (site files only)
    offer_demo_mirror: bool = True

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

    @property
    def site_config(self) -> Path | None:
        """The last site file read (kept for callers that show one)."""
        return self.site_files[-1] if self.site_files else None

    def mirror(self, name: str) -> MirrorConfig:
        for m in self.mirrors:
            if m.name == name:
                return m
        known = ", ".join(m.name for m in self.mirrors) or "none configured"
        raise ConfigError(
            f"unknown mirror '{name}' (known: {known})",
            hint="list the configured mirrors, or add this one",
        )


def spackcache_home(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    raw = env.get("SPACKCACHE_HOME") or "~/.spackcache"
    return Path(os.path.expanduser(raw)).absolute()


@dataclass(frozen=True, slots=True)
class _Layer:
    """One validated file: where it is, what kind it is, its data with line numbers."""

    path: Path
    kind: str  # "site file" or "user file"
    data: Located

    def at(self, *keys: Any) -> str:
        node: Any = self.data
        line = None
        for key in keys:
            line = getattr(node, "lines", {}).get(key, line)
            node = node.get(key) if isinstance(node, dict) else None
        return f"{self.kind} {self.path}" + (f":{line}" if line else "")

    def section(self, key: str) -> Located:
        value = self.data.get(key)
        return value if isinstance(value, Located) else Located()


def site_layers(env: Mapping[str, str]) -> list[Path]:
    """The site files that apply, in order: the system ones, then ``$SPACKCACHE_SITE_CONFIG``."""
    paths = [p for p in SYSTEM_SITE_FILES if p.is_file()]
    extra = env.get("SPACKCACHE_SITE_CONFIG")
    if extra and Path(extra).is_file() and Path(extra) not in paths:
        paths.append(Path(extra))
    return paths


def config_stamp(env: Mapping[str, str] | None = None) -> tuple[Any, ...]:
    """What the configuration files look like now (identity, size, modification time).

    A long-running reader (the Jupyter server) compares stamps before each request and
    re-reads everything when one changed, so every route sees an edit at the same time.
    """
    env = os.environ if env is None else env
    paths = [*SYSTEM_SITE_FILES, spackcache_home(env) / "config.yaml"]
    if env.get("SPACKCACHE_SITE_CONFIG"):
        paths.append(Path(env["SPACKCACHE_SITE_CONFIG"]))
    stamp: list[Any] = []
    for path in paths:
        try:
            info = path.stat()
        except OSError:
            stamp.append((str(path), None))
            continue
        stamp.append((str(path), info.st_ino, info.st_size, info.st_mtime_ns))
    return tuple(stamp)


def load_config(env: Mapping[str, str] | None = None) -> Config:
    """Read the site files, the user file and the environment into one :class:`Config`."""
    env = os.environ if env is None else env
    home = spackcache_home(env)
    sites = [_read_layer(p, "site file") for p in site_layers(env)]
    system = [layer for layer in sites if layer.path in SYSTEM_SITE_FILES]
    user_path = home / "config.yaml"
    user = _read_layer(user_path, "user file") if user_path.is_file() else None
    sources: dict[str, str] = {}

    # site mirrors: the system files' own, and the extra layer's where the layers beneath it
    # would let a user add them (so the extra layer never opens anything)
    policy = Policy()
    mirrors: dict[str, MirrorConfig] = {}
    for layer in sites:
        for raw in layer.data.get("mirrors") or []:
            mirror = mirror_from_mapping(raw, "site", layer.at("mirrors"))
            if mirror.name in mirrors:
                continue
            if layer not in system and policy.refusal(mirror) is not None:
                continue
            mirrors[mirror.name] = mirror
            sources[f"mirrors.{mirror.name}"] = _mirror_at(layer, raw)
        policy = policy.tightened(_layer_policy(layer, sources, policy))
    for raw in (user.data.get("mirrors") or []) if user else []:
        mirror = mirror_from_mapping(raw, "user", user.at("mirrors") if user else "")
        if mirror.name not in mirrors and policy.refusal(mirror) is None:
            mirrors[mirror.name] = mirror
            sources[f"mirrors.{mirror.name}"] = _mirror_at(user, raw) if user else ""
    pins = _site_pins(sites)
    listed = tuple(_pinned(m, pins.get(m.name)) for m in mirrors.values())

    values: dict[str, tuple[Any, str]] = {}
    for layer in [*sites, *([user] if user else [])]:
        for key in ("install_root", "upstreams", "auto_kernels", *_OFFERS):
            if key in layer.data:
                values[key] = (layer.data[key], layer.at(key))
        for section in ("host", "modules", "limits", "network"):
            for key, value in layer.section(section).items():
                values[f"{section}.{key}"] = (value, layer.at(section, key))
    for key, variable in ENV_VARIABLES.items():
        if env.get(variable):
            raw_value: Any = env[variable]
            if key == "upstreams":
                raw_value = [p for p in raw_value.split(os.pathsep) if p]
            values[key] = (raw_value, f"environment ${variable}")
    return _build(home, listed, policy, values, env, tuple(s.path for s in sites), sources)


def _build(
    home: Path,
    mirrors: tuple[MirrorConfig, ...],
    policy: Policy,
    values: Mapping[str, tuple[Any, str]],
    env: Mapping[str, str],
    site_files: tuple[Path, ...],
    sources: dict[str, str],
) -> Config:
    for key, (_value, where) in values.items():
        sources[key] = where

    def value(key: str) -> Any:
        return values[key][0] if key in values else None

    install_root = value("install_root")
    return Config(
        home=home,
        mirrors=mirrors,
        policy=policy,
        host=HostOverrides(
            platform=value("host.platform"),
            os=value("host.os"),
            target=value("host.target"),
            libc=value("host.libc"),
        ),
        install_root=(
            expand_path(str(install_root), values["install_root"][1], env, key="install_root")
            if install_root
            else None
        ),
        upstreams=tuple(
            expand_path(str(p), values["upstreams"][1], env, key="upstreams")
            for p in value("upstreams") or ()
        ),
        auto_kernels=bool(value("auto_kernels")),
        modules=_modules(values, env),
        network=_network(values),
        site_files=site_files,
        sources=sources,
        limits=_limits(values),
        mirror_presets=_presets(values),
        offer_demo_mirror=value("offer_demo_mirror") is not False,
    )


#: what the site offers a new user; the schema keeps these keys out of user files
_OFFERS = ("mirror_presets", "offer_demo_mirror")


def _presets(values: Mapping[str, tuple[Any, str]]) -> tuple[MirrorPreset, ...]:
    """The last site layer's ``mirror_presets`` (checked by the schema), or the default."""
    if "mirror_presets" not in values:
        return DEFAULT_PRESETS
    return tuple(preset_from_mapping(entry, normalize_url) for entry in values["mirror_presets"][0])


def _limits(values: Mapping[str, tuple[Any, str]]) -> Limits:
    """The ``limits:`` section over the defaults, each key from the last layer that set it."""
    chosen = {
        key.split(".", 1)[1]: value
        for key, (value, _where) in values.items()
        if key.startswith("limits.")
    }
    return replace(DEFAULT_LIMITS, **chosen) if chosen else DEFAULT_LIMITS


_NETWORK_FIELDS = {
    "timeout": "timeout",
    "attempts": "attempts",
    "deadline": "deadline",
    "retry_after_max": "retry_after_cap",
    "min_bytes": "min_bytes",
}


def _network(values: Mapping[str, tuple[Any, str]]) -> RetryPolicy:
    """The ``network:`` section (checked by the schema), each key from the last layer."""
    chosen: dict[str, Any] = {}
    for key, name in _NETWORK_FIELDS.items():
        if f"network.{key}" in values:
            raw = values[f"network.{key}"][0]
            chosen[name] = int(raw) if key in ("attempts", "min_bytes") else float(raw)
    return replace(RetryPolicy(), **chosen)


def _modules(values: Mapping[str, tuple[Any, str]], env: Mapping[str, str]) -> ModulesConfig:
    """The ``modules:`` section, each key from the last layer that set it (user over site)."""
    out = ModulesConfig()
    if "modules.enable" in values:
        raw = values["modules.enable"][0]
        items = [] if raw in (None, False) else [raw] if isinstance(raw, str) else raw
        out = replace(out, enable=tuple(dict.fromkeys(items)))
    if "modules.roots" in values:
        raw, where = values["modules.roots"]
        roots = tuple(
            (fmt, expand_path(str(p), where, env, key=f"modules.roots.{fmt}"))
            for fmt, p in raw.items()
        )
        out = replace(out, roots=roots)
    for key in ("all_nodes", "jupyter_lmod"):
        if f"modules.{key}" in values:
            out = replace(out, **{key: values[f"modules.{key}"][0]})
    return out


def _read_layer(path: Path, kind: str) -> _Layer:
    data = read_located(path)
    validate(data, str(path), site=kind == "site file")
    return _Layer(path, kind, data)


def _layer_policy(layer: _Layer, sources: dict[str, str], before: Policy) -> Policy:
    raw = layer.section("policy")
    for key in raw:
        flag = key in ("allow_user_mirrors", "allow_unsigned", "allow_file_mirrors")
        # a flag's source is the first layer that forbids (a later "true" changes nothing)
        if not flag or f"policy.{key}" not in sources or (getattr(before, key) and not raw[key]):
            sources[f"policy.{key}"] = layer.at("policy", key)
    hosts = raw.get("allowed_hosts")
    schemes = raw.get("allowed_schemes")
    return Policy(
        allow_user_mirrors=raw.get("allow_user_mirrors", True),
        allow_unsigned=raw.get("allow_unsigned", True),
        allow_file_mirrors=raw.get("allow_file_mirrors", True),
        allowed_schemes=None if schemes is None else tuple(schemes),
        allowed_hosts=() if hosts is None else (tuple(hosts),),
        denied_hosts=(*DEFAULT_DENIED_HOSTS, *raw.get("denied_hosts", ())),
    )


def _mirror_at(layer: _Layer, raw: Any) -> str:
    line = getattr(raw, "line", 0)
    return f"{layer.kind} {layer.path}" + (f":{line}" if line else "")


def _site_pins(layers: Iterable[_Layer]) -> dict[str, frozenset[Fingerprint]]:
    """Per mirror name, the keys every site layer that pins it agrees on (stricter only)."""
    out: dict[str, frozenset[Fingerprint]] = {}
    for layer in layers:
        per_layer: dict[str, set[Fingerprint]] = {}
        for raw in layer.data.get("mirrors") or []:
            if raw.get("fingerprints"):
                per_layer.setdefault(str(raw["name"]), set()).update(
                    fingerprints(raw["fingerprints"])
                )
        for name, listed in layer.section("pinned_keys").items():
            per_layer.setdefault(str(name), set()).update(fingerprints(listed))
        for name, keys in per_layer.items():
            agreed = out[name] & keys if name in out else frozenset(keys)
            if not agreed:  # an empty pin list would mean "any key": refuse instead
                raise ConfigError(
                    f"{layer.path}: the keys pinned for mirror '{name}' share none with an "
                    "earlier site file",
                    hint="a later site layer may only narrow the pinned keys",
                )
            out[name] = agreed
    return out


def _pinned(mirror: MirrorConfig, site: frozenset[Fingerprint] | None) -> MirrorConfig:
    """Site pins replace a mirror's own list: for a user mirror of a pinned name too."""
    return mirror if site is None else replace(mirror, fingerprints=tuple(sorted(site)))


def validate_new_mirror(config: Config, mirror: MirrorConfig) -> None:
    """Refuse a user mirror that basic sanity (ConfigError) or the site (PolicyError) forbids."""
    if not _MIRROR_NAME.match(mirror.name):
        raise ConfigError(
            f"invalid mirror name '{mirror.name}'",
            hint="use letters, digits, '.', '_' or '-' (at most 64 characters)",
        )
    if any(m.name == mirror.name for m in config.mirrors):
        raise ConfigError(
            f"a mirror named '{mirror.name}' already exists",
            hint="pick another name, or remove the existing mirror first",
        )
    refusal = config.policy.refusal(mirror)
    if refusal is not None:
        first = (
            "use a signed mirror, or "
            if mirror.unsigned and config.policy.allow_user_mirrors
            else ""
        )
        raise PolicyError(
            refusal,
            hint=f"{first}ask your administrators to add the mirror to the site configuration",
        )


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
    data: dict[str, Any] = dict(read_located(path)) if path.is_file() else {}
    data["mirrors"] = [m.to_yaml() for m in mirrors if m.origin == "user"]
    write_yaml_atomic(path, data)


def write_yaml_atomic(path: Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".config-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            yaml.safe_dump(_plain(data), fh, sort_keys=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _plain(value: Any) -> Any:
    """Located mappings and Fingerprint strings as plain YAML types (safe_dump refuses them)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value
