"""Which module root a shell or a server should ``module use``: the format its module system
reads best. Lmod reads Lua and Tcl files, Environment Modules only Tcl."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from pathlib import Path

from ..config import Config
from ..errors import ConfigError


def preferred_format(config: Config, env: Mapping[str, str]) -> str:
    """``lmod`` under Lmod (``LMOD_CMD`` set) when enabled, else ``tcl`` when enabled."""
    enabled = config.modules.enable
    if not enabled:
        raise ConfigError(
            "modules are turned off (modules.enable is empty)",
            hint="enable a format in config.yaml, e.g. `modules: {enable: [lmod]}`",
        )
    if ("LMOD_CMD" in env or "LMOD_VERSION" in env) and "lmod" in enabled:
        return "lmod"
    return "tcl" if "tcl" in enabled else enabled[0]


def prepend_modulepath(config: Config, env: MutableMapping[str, str]) -> Path | None:
    """Put the user's module root first in ``env["MODULEPATH"]`` (no-op when modules are off).

    For jupyter-lmod, which lists and loads modules from the server process's ``MODULEPATH``;
    the kernels it starts inherit it.
    """
    if not config.modules.enable:
        return None
    root = config.module_root(preferred_format(config, env))
    root.mkdir(parents=True, exist_ok=True)  # Lmod warns about a MODULEPATH entry that is absent
    current = [p for p in env.get("MODULEPATH", "").split(":") if p and p != str(root)]
    env["MODULEPATH"] = ":".join([str(root), *current])
    return root
