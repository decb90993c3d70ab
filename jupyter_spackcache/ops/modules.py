"""Environment modules, once for every front door: rewrite them all, say which to ``module
use``, name each installed package's module, and show them to jupyter-lmod.

Installs and removals keep the modulefiles in step themselves (:func:`.install.run_plan`,
:func:`.removal.remove`); these are the explicit requests around that.
"""

from __future__ import annotations

import importlib.util
import shlex
from collections.abc import Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError
from ..modules import ModuleSync, installed_module_names, sync_modules
from ..modules.use import preferred_format, prepend_modulepath

if TYPE_CHECKING:
    from ..config import Config
    from ..store.db import InstalledRecord, StoreDB


def refresh(*, store: StoreDB, config: Config) -> ModuleSync:
    """Rewrite every modulefile from what is installed (after a settings change)."""
    return sync_modules(config, store)


def use_line(config: Config, env: Mapping[str, str], fmt: str | None = None) -> str:
    """``module use ROOT`` for ``fmt``, by default the format this shell's module system reads."""
    if fmt is not None and fmt not in config.modules.enable:  # its tree is not kept up to date
        enabled = ", ".join(config.modules.enable) or "none"
        raise ConfigError(
            f"{fmt} modules are not written here (modules.enable: {enabled})",
            hint=f"add {fmt} to modules.enable in config.yaml, then `spackcache module refresh`",
        )
    root = config.module_root(fmt or preferred_format(config, env))
    return f"module use {shlex.quote(str(root))}"


def module_names(records: Sequence[InstalledRecord], config: Config) -> dict[str, str]:
    """DAG hash -> module name of every record that has a module (for listings)."""
    return installed_module_names(list(records), config)


def expose_to_jupyter_lmod(config: Config, env: MutableMapping[str, str]) -> Path | None:
    """With jupyter-lmod importable and ``modules.jupyter_lmod`` on, put the user's module root
    first in ``env["MODULEPATH"]``; the root added, or None."""
    if not config.modules.jupyter_lmod or importlib.util.find_spec("jupyterlmod") is None:
        return None
    return prepend_modulepath(config, env)
