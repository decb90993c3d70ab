"""Uninstall and gc: what goes, which kernels go with it, then removal.

Working out the removal (:func:`uninstall_order`, :func:`gc_order`) is separate from doing it
(:func:`remove`), so a front door can show it and ask first. Removal is the one place that ties
kernels and modulefiles to uninstalls, so no front door leaves a kernel or a module pointing at
a deleted prefix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..install.installed import garbage, removal_order, uninstall
from ..kernels import KernelInfo, kernels_using, remove_kernel
from ..modules import sync_after_change
from ..store.db import InstalledRecord

if TYPE_CHECKING:
    from ..config import Config
    from ..store.db import StoreDB


@dataclass(frozen=True, slots=True)
class Removal:
    """Packages (dependents first) and the kernels that need them: to remove, or removed."""

    packages: tuple[InstalledRecord, ...]
    kernels: tuple[KernelInfo, ...]
    #: after removal: why the modulefiles could not follow (the packages are gone all the same)
    warning: str | None = None
    #: garbage collection: a package that became needed while waiting for installs is kept
    gc: bool = False


def uninstall_order(
    targets: Sequence[InstalledRecord], *, store: StoreDB, config: Config, dependents: bool
) -> Removal:
    """What uninstalling ``targets`` removes; a package others still need is refused unless
    ``dependents`` takes them too."""
    return _with_kernels(removal_order(store, targets, dependents=dependents), config)


def gc_order(*, store: StoreDB, config: Config) -> Removal:
    """The implicitly installed packages no explicitly installed one needs."""
    return _with_kernels(garbage(store), config, gc=True)


def _with_kernels(order: Sequence[InstalledRecord], config: Config, *, gc: bool = False) -> Removal:
    return Removal(tuple(order), tuple(kernels_using([r.hash for r in order], config)), gc=gc)


def remove(removal: Removal, *, store: StoreDB, config: Config) -> Removal:
    """Uninstall the packages and remove the kernels that needed them; what was removed."""
    from ..store.spackdb import refresh_spack_db

    try:
        removed = uninstall(store, removal.packages, gc=removal.gc)
    finally:  # modulefiles follow the store, even when only part of the removal happened
        warning = sync_after_change(config, store)
        for root in sorted({Path(r.root) for r in removal.packages}):
            warning = refresh_spack_db(root, store) or warning
    gone = {r.hash for r in removed}
    kernels = tuple(k for k in removal.kernels if gone.intersection(k.hashes))
    for kernel in kernels:
        remove_kernel(kernel.name, config)
    return Removal(tuple(removed), kernels, warning, removal.gc)
