"""Jupyter server front door: REST routes under ``<base_url>/spackcache/api/`` (:mod:`.routes`).

This package's own module stays light: the install child process
(``python -m jupyter_spackcache.server.tasks.worker``) imports it, and importing jupyter_server
and the handlers would delay the start of every install the panel runs (see BENCHMARKS.md).
The names below are loaded from :mod:`.routes` when first used.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["API_PREFIX", "ROUTES", "SpackCache", "load", "route_table", "setup_handlers"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module(".routes", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
