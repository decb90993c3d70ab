"""``%spack``: the CLI in a notebook, attached to the running kernel.

``%load_ext jupyter_spackcache`` calls :func:`register`; kernels made by ``spackcache kernel
add`` load it at start. Errors show as the CLI's ``error:`` line and hint, with no traceback,
and still stop a "run all" like any failing cell.
"""

from __future__ import annotations

from typing import Any

from ..errors import SpackCacheError
from ..present import error_text
from .commands import KernelState, run


class SpackMagicError(Exception):
    """A failed ``%spack`` command: IPython shows :meth:`_render_traceback_` instead of a trace."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def _render_traceback_(self) -> list[str]:
        return self.text.splitlines()


def spack_line(line: str, state: KernelState) -> None:
    """Run one ``%spack`` line, turning user-facing failures into the CLI's wording."""
    try:
        run(line, state)
    except SpackCacheError as exc:
        raise SpackMagicError(error_text(exc)) from None


def register(ipython: Any) -> None:
    """Register ``%spack`` in ``ipython`` (an InteractiveShell)."""
    state = KernelState(user_ns=ipython.user_ns)

    def spack(line: str) -> None:
        spack_line(line, state)

    spack.__doc__ = "Install and use Spack binaries in this kernel; `%spack --help` for more."
    ipython.register_magic_function(spack, magic_kind="line", magic_name="spack")


__all__ = ["SpackMagicError", "register", "spack_line"]
