"""The Jupyter server extension app: load the routes at start, stop the workers at shutdown.

An ``ExtensionApp`` rather than a bare ``_load_jupyter_server_extension`` function because
only extension apps get a shutdown hook, and a running install must be cancelled (and rolled
back by the installer) when the server stops, not cut off mid-rename.
"""

from __future__ import annotations

import asyncio

from jupyter_server.extension.application import ExtensionApp

from .. import __version__
from .routes import load
from .state import ServerState


class SpackCacheExtension(ExtensionApp):
    name = "jupyter_spackcache"
    description = "Install HPC software from Spack binary build caches"
    load_other_extensions = True

    _state: ServerState | None = None

    def initialize_handlers(self) -> None:
        self._state = load(self.serverapp)
        self.log.info("jupyter_spackcache %s: server extension loaded", __version__)

    async def stop_extension(self) -> None:
        state, self._state = self._state, None
        if state is not None:
            state.stop_watching()
        if state is not None:  # blocking joins run off the loop; events still get delivered
            await asyncio.to_thread(state.shutdown)
