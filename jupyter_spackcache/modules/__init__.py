"""Environment modules for installed stacks: Lmod (Lua) and Tcl modulefiles.

On an HPC system the same software must work in a terminal and in batch jobs, where people use
``module load``. Each installed root (or, by a setting, each node) gets a modulefile named
``name/version`` that makes the same changes as ``spackcache load``.

* :mod:`.names` — the projection from installed nodes to module names (pure).
* :mod:`.content` — the :class:`ModuleFile` value, built from installed records.
* :mod:`.lmod`, :mod:`.tcl` — render a :class:`ModuleFile` as text (pure).
* :mod:`.writer` — keep the module roots in step with the store (atomic writes).
* :mod:`.use` — which root a shell or jupyter-lmod should ``module use``.
"""

from __future__ import annotations

from .content import ModuleFile
from .names import module_names
from .writer import ModuleSync, installed_module_names, sync_after_change, sync_modules

__all__ = [
    "ModuleFile",
    "ModuleSync",
    "installed_module_names",
    "module_names",
    "sync_after_change",
    "sync_modules",
]
