"""The environment that makes installed packages usable: ``spackcache load``, kernels, magics.

Pure functions: installed records (and the current environment) in, variable values out, then
rendered for one shell. Only directories that exist are added, each at the front of its
variable (the requested package first, then its dependencies), and an entry already present is
moved rather than repeated, so loading twice changes nothing.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .spec.concrete import RUNTIME_DEPTYPES
from .store.db import InstalledRecord, StoreDB

#: variable -> prefix-relative directories that belong in it, in order
LAYOUT: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("PATH", ("bin",)),
    ("MANPATH", ("share/man", "man")),
    ("PKG_CONFIG_PATH", ("lib/pkgconfig", "lib64/pkgconfig", "share/pkgconfig")),
    ("CMAKE_PREFIX_PATH", (".",)),
    # where Spack's R packages put their libraries (Spack prepends the same to R_LIBS)
    ("R_LIBS", ("rlib/R/library",)),
)
#: where Python packages put their modules; the version part varies
_SITE_PACKAGES = ("lib/python3*/site-packages", "lib64/python3*/site-packages")


@dataclass(frozen=True, slots=True)
class EnvChange:
    """Directories to put in front of one ``:``-separated variable."""

    name: str
    prepend: tuple[str, ...]


def closure(records: Iterable[InstalledRecord], *, store: StoreDB) -> list[InstalledRecord]:
    """The records and their installed link/run dependencies, requested ones first."""
    out: dict[str, InstalledRecord] = {}
    queue = list(records)
    while queue:
        record = queue.pop(0)
        if record.hash in out:
            continue
        out[record.hash] = record
        for edge in record.node.edges:
            if edge.deptypes.isdisjoint(RUNTIME_DEPTYPES) or edge.hash in out:
                continue
            dep = store.get(edge.hash)
            if dep is not None:  # externals are not in the store; the system provides them
                queue.append(dep)
    return list(out.values())


def load_environment(records: Sequence[InstalledRecord], *, store: StoreDB) -> dict[str, EnvChange]:
    """The changes that make ``records`` and their runtime dependencies usable."""
    return environment_for([Path(r.prefix) for r in closure(records, store=store)])


def environment_for(prefixes: Sequence[Path]) -> dict[str, EnvChange]:
    """Existing standard directories of ``prefixes``, grouped by variable."""
    found: dict[str, list[str]] = {}
    for prefix in prefixes:
        for name, subdirs in LAYOUT:
            for sub in subdirs:
                path = prefix if sub == "." else prefix / sub
                if path.is_dir():
                    found.setdefault(name, []).append(str(path))
        for pattern in _SITE_PACKAGES:
            for path in sorted(prefix.glob(pattern)):
                if path.is_dir():
                    found.setdefault("PYTHONPATH", []).append(str(path))
    return {name: EnvChange(name, tuple(dict.fromkeys(dirs))) for name, dirs in found.items()}


def root_variable(package: str) -> str:
    """``<NAME>_ROOT``, the variable naming a package's prefix (``py-numpy`` → ``PY_NUMPY_ROOT``).

    Build systems (CMake's ``find_package``) and users' scripts look for it, and Spack's modules
    set it the same way.
    """
    return re.sub(r"[^A-Za-z0-9_]", "_", package).upper() + "_ROOT"


def root_variables(records: Iterable[InstalledRecord]) -> dict[str, str]:
    """``<NAME>_ROOT`` for each of the requested ``records`` (not their dependencies)."""
    return {root_variable(r.name): r.prefix for r in records}


def apply(changes: Mapping[str, EnvChange], env: Mapping[str, str]) -> dict[str, str]:
    """The new values of the changed variables, given the current environment ``env``."""
    out: dict[str, str] = {}
    for name, change in changes.items():
        current = env.get(name)
        old = [p for p in (current or "").split(":") if p and p not in change.prepend]
        if current is None and name == "MANPATH":
            old = [""]  # a trailing ':' keeps man's default search path
        out[name] = ":".join([*change.prepend, *old]) if old else ":".join(change.prepend)
    return out


# ---- rendering for shells ------------------------------------------------------------------


def render(values: Mapping[str, str], shell: str) -> str:
    """Commands that set ``values`` in ``shell`` (sh, csh, fish) or a JSON object (json)."""
    renderers: dict[str, Callable[[str, str], str]] = {
        "sh": lambda k, v: f"export {k}={shlex.quote(v)};",
        "csh": lambda k, v: f"setenv {k} {csh_quote(v)};",
        "fish": lambda k, v: f"set -gx {k} {fish_quote(v)};",
    }
    if shell == "json":
        return json.dumps(dict(values), indent=2)
    if shell not in renderers:
        raise ValueError(f"unknown shell {shell!r}")
    line = renderers[shell]
    return "\n".join(line(k, v) for k, v in values.items())


def csh_quote(value: str) -> str:
    """Single-quoted for csh: no escapes inside quotes, and ``!`` is history even there."""
    if value and re.fullmatch(r"[A-Za-z0-9_@%+=:,./-]+", value):
        return value
    return "'" + value.replace("'", "'\\''").replace("!", "\\!") + "'"


def fish_quote(value: str) -> str:
    """Single-quoted for fish, where only ``\\\\`` and ``\\'`` are escapes."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
