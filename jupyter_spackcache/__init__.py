"""jupyter-spackcache: install software from Spack binary build caches, without Spack.

This module is imported by the CLI, by the Jupyter server and inside kernels (``%load_ext``),
so it must stay light: nothing here may import jupyter_server, tornado or IPython at import
time. The Jupyter hooks below import their front door lazily, when they are called.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["__version__"]

# a library logs, the application decides where it goes (the server routes it to its own log;
# the CLI prints warnings itself, so nothing falls through to Python's last-resort handler)
logging.getLogger(__name__).addHandler(logging.NullHandler())


def _read_version() -> str:
    """The version written at build time, or the installed metadata's, or a marker."""
    try:
        from ._version import __version__ as built
    except ImportError:  # a plain source checkout that was never built or pip-installed
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("jupyter-spackcache")
        except PackageNotFoundError:
            return "0+unknown"
    return str(built)


__version__ = _read_version()


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where ``jupyter labextension develop`` finds the built frontend in a source checkout.

    Installed wheels do not use this: they ship the same files as shared-data.
    """
    return [{"src": "../labextension", "dest": "jupyter-spackcache"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """The server extension is an ExtensionApp (it needs a shutdown hook); imported lazily."""
    from .server.extension import SpackCacheExtension

    return [{"module": "jupyter_spackcache", "app": SpackCacheExtension}]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_spackcache``: register the ``%spack`` magics in this kernel."""
    from importlib import import_module

    import_module(f"{__name__}.magics").register(ipython)
