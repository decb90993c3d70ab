"""Kernel add: a Jupyter kernel for installed stacks (``spackcache kernel add``, the server's
``kernel: true`` installs and ``auto_kernels``).

Listing and removing kernels need no more than :mod:`jupyter_spackcache.kernels` offers.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..env import closure, load_environment
from ..install.installed import one_installed
from ..kernels import (
    KernelInfo,
    choose_launcher,
    default_display_name,
    default_name,
    kernel_env,
    kernel_spec,
    validate_name,
    write_kernel,
)

if TYPE_CHECKING:
    from ..config import Config
    from ..store.db import StoreDB


@dataclass(frozen=True, slots=True)
class KernelRequest:
    """A kernel for installed packages; each spec must name exactly one of them."""

    specs: tuple[str, ...]
    name: str | None = None
    display_name: str | None = None
    #: the interpreter of kernels whose stack brings none (default: Jupyter's own)
    python: str = sys.executable


def add_kernel(request: KernelRequest, *, store: StoreDB, config: Config) -> KernelInfo:
    """Write the kernelspec; the stack's environment is baked into it."""
    if request.name is not None:
        validate_name(request.name)
    found = (one_installed(store, text) for text in request.specs)
    roots = list({r.hash: r for r in found}.values())
    records = closure(roots, store=store)
    launcher = choose_launcher(records, python=request.python)
    env = kernel_env(load_environment(roots, store=store), launcher.python)
    env["SPACKCACHE_HOME"] = str(config.home)  # the kernel's magics see the same store
    doc = kernel_spec(
        roots,
        records,
        launcher,
        env,
        display_name=request.display_name or default_display_name(roots),
    )
    return write_kernel(request.name or default_name(roots), doc, config)
