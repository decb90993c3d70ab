"""``GET /docs/troubleshooting``: the troubleshooting guide, for the panel to render.

Every error carries a code naming a section of ``docs/troubleshooting.md``; a point-and-click
user has no checkout to open that file in, so the server hands it to the panel, which renders
it in a Lab tab at that section. Wheels carry the page as package data; a source checkout
reads it from ``docs/``.
"""

from __future__ import annotations

from pathlib import Path

import tornado.web
from jupyter_server.auth.decorator import authorized

from .base import ApiError, SpackCacheHandler

_PACKAGE = Path(__file__).resolve().parents[2]
#: where the page is looked for: in the wheel, then in a source checkout
PLACES = (
    _PACKAGE / "_docs" / "troubleshooting.md",
    _PACKAGE.parent / "docs" / "troubleshooting.md",
)


def troubleshooting_page(places: tuple[Path, ...] = PLACES) -> str:
    for place in places:
        if place.is_file():
            return place.read_text(encoding="utf-8")
    raise ApiError(
        404,
        "not-found",
        "the troubleshooting guide is not installed",
        hint="reinstall jupyter-spackcache, or set the panel's troubleshooting URL",
    )


class TroubleshootingHandler(SpackCacheHandler):
    @tornado.web.authenticated
    @authorized
    def get(self) -> None:
        self.set_header("Content-Type", "text/markdown; charset=utf-8")
        self.finish(troubleshooting_page())
