"""The ``.spack/binary_distribution`` file: what the build machine knew about its own paths.

Spack writes it as a YAML flow mapping when it creates a tarball. It names the old store root,
the old prefix of every runtime dependency and the files that mention any of them, which is
everything relocation needs besides the new prefixes. Read with :func:`parse_buildinfo`,
written with :func:`dump_buildinfo`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import yaml

from jupyter_spackcache.errors import InstallError

#: where the file lies inside an install prefix
BUILDINFO_PARTS = (".spack", "binary_distribution")
BUILDINFO_PATH = "/".join(BUILDINFO_PARTS)

#: the C loader (when libyaml is there): the file lists of big packages are long
_Loader: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)


@dataclass(frozen=True)
class BuildInfo:
    """Parsed ``binary_distribution``; paths are the build machine's, lists prefix-relative."""

    buildpath: str
    relative_prefix: str | None
    sbang_install_path: str | None
    hash_to_prefix: Mapping[str, str]
    relocate_textfiles: tuple[str, ...]
    relocate_binaries: tuple[str, ...]
    relocate_links: tuple[str, ...]
    hardlinks_deduped: bool

    @property
    def old_prefix(self) -> str | None:
        """The package's own prefix on the build machine, when the file says."""
        if self.relative_prefix is None:
            return None
        return f"{self.buildpath.rstrip('/')}/{self.relative_prefix}"


def parse_buildinfo(text: str) -> BuildInfo:
    """Parse the YAML text of a ``binary_distribution`` file, validating every field's type."""
    try:
        raw = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise InstallError(f"binary_distribution is not valid YAML: {_first_line(exc)}") from exc
    if not isinstance(raw, dict):
        raise InstallError("binary_distribution is not a YAML mapping")

    buildpath = _optional_str(raw, "buildpath")
    if not buildpath:
        raise InstallError("binary_distribution has no buildpath")
    return BuildInfo(
        buildpath=buildpath,
        relative_prefix=_optional_str(raw, "relative_prefix"),
        sbang_install_path=_optional_str(raw, "sbang_install_path"),
        hash_to_prefix=MappingProxyType(_hash_to_prefix(raw)),
        relocate_textfiles=_str_tuple(raw, "relocate_textfiles"),
        relocate_binaries=_str_tuple(raw, "relocate_binaries"),
        relocate_links=_str_tuple(raw, "relocate_links"),
        hardlinks_deduped=bool(raw.get("hardlinks_deduped", False)),
    )


def _hash_to_prefix(raw: dict[Any, Any]) -> dict[str, str]:
    """``hash_to_prefix`` (0.20+), else the legacy ``prefix_to_hash`` turned around."""
    if "hash_to_prefix" in raw:
        return _str_map(raw, "hash_to_prefix")
    if "prefix_to_hash" in raw:
        return {h: p for p, h in _str_map(raw, "prefix_to_hash").items()}
    raise InstallError(
        "binary_distribution has neither hash_to_prefix nor prefix_to_hash, "
        "so the package cannot be relocated"
    )


def _optional_str(raw: dict[Any, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InstallError(f"binary_distribution field {key} is not a string")
    return value


def _str_tuple(raw: dict[Any, Any], key: str) -> tuple[str, ...]:
    value = raw.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InstallError(f"binary_distribution field {key} is not a list of paths")
    return tuple(value)


def _str_map(raw: dict[Any, Any], key: str) -> dict[str, str]:
    value = raw.get(key) or {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InstallError(f"binary_distribution field {key} is not a mapping of strings")
    return dict(value)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def dump_buildinfo(buildinfo: Mapping[str, Any]) -> bytes:
    """The ``binary_distribution`` text: one YAML flow mapping on one line, like Spack's."""
    text = yaml.safe_dump(
        dict(buildinfo), default_flow_style=True, sort_keys=False, width=2**31 - 1
    )
    return text.encode("utf-8")


def prefix_reference_regex(prefixes: Sequence[bytes]) -> re.Pattern[bytes]:
    """Spack's rule for where text refers to a prefix (format doc §6.2), as a regex.

    A prefix counts where it starts a path: it may be glued to a run of ``[A-Za-z0-9_-]``
    (``-I``, ``-L``...), but the byte before that run must not be a word character, ``-`` or
    ``/``, so ``/opt/x`` is referred to in ``-I/opt/x/include`` but not in ``/data/opt/x``.
    Groups: the glued run, the prefix, the path tail after it. Alternatives are tried in the
    order given, so the most specific prefix should come first. Which text files a buildinfo
    lists and what relocation replaces in them follow this one rule.
    """
    if not prefixes:
        raise ValueError("no prefixes to look for")
    alternation = b"|".join(re.escape(prefix) for prefix in prefixes)
    return re.compile(rb"(?<![\w\-/])([\w\-]*?)(" + alternation + rb")([\w\-/]*)")
