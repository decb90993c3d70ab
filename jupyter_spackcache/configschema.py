"""Every key of the site and user YAML files, checked before anything is used.

A typo in a site file must not silently drop a key pin (``fingerprint:`` for
``fingerprints:``), and ``$WORK/spack`` with ``$WORK`` unset must not become a relative install
root baked into binaries. So each file is read with the line of every key, each key is checked
against the schema below, and the first problem is one :class:`ConfigError` naming the file,
the line and the key, with the closest valid key when it looks like a typo.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError
from .fingerprint import Fingerprint, FingerprintError
from .policy import SCHEMES, check_host_rule

#: the modulefile formats this project writes, by the names Spack uses for them
MODULE_FORMATS = ("lmod", "tcl")
_VARIABLE = re.compile(r"\$(\w+)|\$\{([^}]*)\}")


class Located(dict[Any, Any]):
    """A YAML mapping that remembers the line (1-based) of each of its keys."""

    line: int = 0
    lines: dict[Any, int]


class _Loader(yaml.SafeLoader):
    pass


def _mapping(loader: _Loader, node: yaml.MappingNode) -> Located:
    loader.flatten_mapping(node)
    out = Located()
    out.line = node.start_mark.line + 1
    out.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def read_located(path: Path) -> Located:
    """The file's top-level mapping with line numbers (empty when the file is empty)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    return parse_located(text, str(path))


def parse_located(text: str, where: str) -> Located:
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(
            f"{where}{at}: not valid YAML ({problem})", hint="fix the file's syntax"
        ) from None
    if data is None:
        empty = Located()
        empty.lines = {}
        return empty
    if not isinstance(data, Located):
        raise ConfigError(f"{where}:1: the top level must be a mapping of settings")
    return data


# ---- the schema -------------------------------------------------------------------------------

Check = Callable[[Any], str | None]


def _is_bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _is_str(value: Any) -> str | None:
    return None if isinstance(value, str) and value.strip() else "must be a non-empty string"


def _is_mapping(value: Any) -> str | None:
    return None if isinstance(value, dict) else "must be a mapping"


def _is_str_list(value: Any) -> str | None:
    if isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value):
        return None
    return "must be a list of strings"


def _fingerprint_list(value: Any) -> str | None:
    if not isinstance(value, list):
        return "must be a list of key fingerprints"
    for item in value:
        try:
            Fingerprint(item)
        except FingerprintError as exc:
            return str(exc)
    return None


def _schemes(value: Any) -> str | None:
    problem = _is_str_list(value)
    if problem is None:
        unknown = [v for v in value if v not in SCHEMES]
        if unknown:
            return f"has unknown scheme '{unknown[0]}' (known: {', '.join(SCHEMES)})"
    return problem


def _host_rules(value: Any) -> str | None:
    problem = _is_str_list(value)
    if problem is None:
        for rule in value:
            why = check_host_rule(rule)
            if why:
                return f"entry '{rule}' {why}"
    return problem


MIRROR_KEYS: dict[str, Check] = {
    "name": _is_str,
    "url": _is_str,
    "unsigned": _is_bool,
    "fingerprints": _fingerprint_list,
    "s3_endpoint": _is_str,
    "view": _is_str,
    "auth": _is_mapping,
    "ca_bundle": _is_str,
}
#: one ``mirror_presets:`` entry: a mirror the site offers new users, and how it is shown
PRESET_KEYS: dict[str, Check] = {
    "name": _is_str,
    "url": _is_str,
    "title": _is_str,
    "description": _is_str,
    "unsigned": _is_bool,
    "s3_endpoint": _is_str,
    "view": _is_str,
}
_PRESET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
POLICY_KEYS: dict[str, Check] = {
    "allow_user_mirrors": _is_bool,
    "allow_unsigned": _is_bool,
    "allow_file_mirrors": _is_bool,
    "allowed_schemes": _schemes,
    "allowed_hosts": _host_rules,
    "denied_hosts": _host_rules,
}


def _positive(value: Any) -> str | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
    return None if ok else "must be a positive number"


#: ``network:`` (see mirrors/retry.py RetryPolicy)
NETWORK_KEYS: dict[str, Check] = {
    "timeout": _positive,
    "attempts": _positive,
    "deadline": _positive,
    "retry_after_max": _positive,
    "min_bytes": _positive,
}


def _module_formats(value: Any) -> str | None:
    if value is None or value is False:
        return None  # modules off
    items = [value] if isinstance(value, str) else value
    if isinstance(items, list) and all(i in MODULE_FORMATS for i in items):
        return None
    return f"must list formats among {', '.join(MODULE_FORMATS)} (or be [] for none)"


def _module_roots(value: Any) -> str | None:
    if not isinstance(value, dict) or any(k not in MODULE_FORMATS for k in value):
        return f"must map {' or '.join(MODULE_FORMATS)} to a directory"
    if not all(isinstance(v, str) and v.strip() for v in value.values()):
        return "must map each format to a directory path"
    return None


MODULES_KEYS: dict[str, Check] = {
    "enable": _module_formats,
    "roots": _module_roots,
    "all_nodes": _is_bool,
    "jupyter_lmod": _is_bool,
}
HOST_KEYS: dict[str, Check] = {
    "platform": _is_str,
    "os": _is_str,
    "target": _is_str,
    "libc": _is_str,
}


def _positive_int(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return "must be a positive whole number"
    return None


#: ``limits:`` (bounds on what a mirror may cost, see limits.py): every key a positive number
LIMITS_KEYS: dict[str, Check] = {
    "max_index_bytes": _positive_int,
    "max_unpack_bytes": _positive_int,
    "max_unpack_ratio": _positive_int,
    "min_unpack_allowance": _positive_int,
    "max_unsigned_download_bytes": _positive_int,
}
#: top-level keys; the second item says whether a user file may set it
TOP_KEYS: dict[str, bool] = {
    "mirrors": True,
    "policy": False,
    "pinned_keys": False,
    "install_root": True,
    "upstreams": True,
    "auto_kernels": True,
    "host": True,
    "modules": True,
    "limits": True,
    "network": True,
    "mirror_presets": False,
    "offer_demo_mirror": False,
}


def validate(data: Located, where: str, *, site: bool) -> None:
    """Raise a :class:`ConfigError` for the first key of ``data`` that is not right."""
    for key, value in data.items():
        at = _at(where, data, key)
        if key not in TOP_KEYS:
            raise _unknown(at, key, TOP_KEYS)
        if not site and not TOP_KEYS[key]:
            raise ConfigError(
                f"{at}: '{key}' may only be set in the site configuration",
                hint="remove it from your config file; ask your administrators to change it",
            )
        if key == "mirrors":
            _check_mirrors(value, at, where)
        elif key == "policy":
            _check_section(value, at, where, POLICY_KEYS, key)
        elif key == "host":
            _check_section(value, at, where, HOST_KEYS, key)
        elif key == "modules":
            _check_section(value, at, where, MODULES_KEYS, key)
        elif key == "limits":
            _check_section(value, at, where, LIMITS_KEYS, key)
        elif key == "network":
            _check_section(value, at, where, NETWORK_KEYS, key)
        elif key == "pinned_keys":
            _check_pins(value, at, where)
        elif key == "mirror_presets":
            _check_presets(value, at, where)
        elif key in ("auto_kernels", "offer_demo_mirror"):
            _raise_if(_is_bool(value), at, key)
        elif key == "install_root":
            _raise_if(_is_str(value), at, key)
        elif key == "upstreams":
            _raise_if(_is_str_list(value), at, key)


def check_mirror_entry(raw: Any, where: str) -> None:
    """One mirror mapping (from a file or a traitlet): known keys, right types, name and url."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: each mirror must be a mapping with a name and a url")
    for key, value in raw.items():
        at = _at(where, raw, key)
        if key not in MIRROR_KEYS:
            raise _unknown(at, key, MIRROR_KEYS)
        _raise_if(MIRROR_KEYS[key](value), at, key)
    missing = [k for k in ("name", "url") if k not in raw]
    if missing:
        line = getattr(raw, "line", 0)
        raise ConfigError(f"{where}{f':{line}' if line else ''}: a mirror needs a '{missing[0]}'")


def _check_mirrors(value: Any, at: str, where: str) -> None:
    if not isinstance(value, list):
        raise ConfigError(f"{at}: 'mirrors' must be a list of mirrors")
    for raw in value:
        check_mirror_entry(raw, where)


def _check_presets(value: Any, at: str, where: str) -> None:
    """``mirror_presets:``: a list (``[]`` offers none) of named mirrors with distinct names."""
    if not isinstance(value, list):
        raise ConfigError(
            f"{at}: 'mirror_presets' must be a list of mirrors to offer (or [] for none)"
        )
    seen: set[str] = set()
    for raw in value:
        line = getattr(raw, "line", 0)
        entry = f"{where}:{line}" if line else at
        if not isinstance(raw, dict):
            raise ConfigError(f"{entry}: each preset must be a mapping with a name and a url")
        for key, item in raw.items():
            inner = _at(where, raw, key)
            if key not in PRESET_KEYS:
                raise _unknown(inner, key, PRESET_KEYS, "mirror_presets")
            _raise_if(PRESET_KEYS[key](item), inner, f"mirror_presets.{key}")
        missing = [k for k in ("name", "url") if k not in raw]
        if missing:
            raise ConfigError(f"{entry}: a preset needs a '{missing[0]}'")
        url = str(raw["url"])
        if "://" in url and url.split("://", 1)[0] not in SCHEMES:
            raise ConfigError(
                f"{_at(where, raw, 'url')}: 'mirror_presets.url' has unknown scheme "
                f"'{url.split('://', 1)[0]}://' (known: {', '.join(SCHEMES)})"
            )
        name = str(raw["name"])
        if not _PRESET_NAME.match(name):
            raise ConfigError(
                f"{_at(where, raw, 'name')}: 'mirror_presets.name' '{name}' is not a mirror name",
                hint="use letters, digits, '.', '_' or '-' (at most 64 characters)",
            )
        if name in seen:
            raise ConfigError(f"{_at(where, raw, 'name')}: preset '{name}' is listed twice")
        seen.add(name)


def _check_section(
    value: Any, at: str, where: str, keys: Mapping[str, Check], section: str = ""
) -> None:
    if not isinstance(value, dict):
        raise ConfigError(f"{at}: '{section}' must be a mapping")
    for key, item in value.items():
        inner = _at(where, value, key)
        if key not in keys:
            raise _unknown(inner, key, keys, section)
        _raise_if(keys[key](item), inner, f"{section}.{key}")


def _check_pins(value: Any, at: str, where: str) -> None:
    if not isinstance(value, dict):
        raise ConfigError(f"{at}: 'pinned_keys' must map mirror names to fingerprint lists")
    for name, fprs in value.items():
        _raise_if(_fingerprint_list(fprs), _at(where, value, name), f"pinned_keys.{name}")


def _at(where: str, mapping: Any, key: Any) -> str:
    line = getattr(mapping, "lines", {}).get(key)
    return f"{where}:{line}" if line else where


def _raise_if(problem: str | None, at: str, key: str) -> None:
    if problem:
        raise ConfigError(f"{at}: '{key}' {problem}")


def _unknown(at: str, key: Any, known: Mapping[str, Any], section: str = "") -> ConfigError:
    close = difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'?" if close else f"valid keys: {', '.join(known)}"
    name = f"{section}.{key}" if section else str(key)
    return ConfigError(f"{at}: unknown key '{name}'", hint=hint)


# ---- paths ------------------------------------------------------------------------------------


def expand_path(
    raw: str, where: str, env: Mapping[str, str] | None = None, *, key: str = ""
) -> Path:
    """``~`` and ``$VARS`` expanded; refused when a variable is unset or the result relative.

    A relative install root would be baked into relocated binaries and the database, and
    resolved against whatever directory a command happens to run in.
    """
    env = os.environ if env is None else env
    named = f"{key} " if key else ""  # a file's line alone does not say which key
    for match in _VARIABLE.finditer(raw):
        name = match.group(1) or match.group(2)
        if name not in env:
            raise ConfigError(
                f"{where}: {named}'{raw}' uses ${name}, which is not set",
                hint=f"set {name} in the environment that starts this program, or write the path "
                "out",
            )
    expanded = _VARIABLE.sub(lambda m: env[m.group(1) or m.group(2)], raw)
    home = env.get("HOME")
    if home and (expanded == "~" or expanded.startswith("~/")):
        expanded = home + expanded[1:]
    else:
        expanded = os.path.expanduser(expanded)
    path = Path(expanded)
    if not path.is_absolute():
        raise ConfigError(
            f"{where}: {named}'{raw}' is a relative path",
            hint="give an absolute path (it may start with ~ or $VARIABLE)",
        )
    return path
