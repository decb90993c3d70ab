"""What a user with no mirror is offered: the site's presets and the demo mirror.

``GET /host`` carries :func:`first_run_payload`, so the panel, which loads the host first,
knows what to offer before anything is clicked. Each offer says whether the site policy lets
this user add it (and why not): the panel shows no button the server would refuse. Adding a
preset is ``POST /mirrors {"preset": name}``; building the demo mirror takes a while (gcc,
a signing key), so ``POST /demo-mirror`` starts a background task like an install.
"""

from __future__ import annotations

from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join

from ...config import Config, MirrorConfig, validate_new_mirror
from ...ops.demo import DemoRequest, demo_destination, demo_mirror_config, demo_missing_tool
from ...ops.mirrors import MirrorRequest
from ...presets import MirrorPreset
from ...session import Session
from .base import ApiError, SpackCacheHandler

DEMO_KIND = "demo-mirror"


def preset_json(preset: MirrorPreset, config: Config) -> dict[str, Any]:
    offered = MirrorConfig(preset.name, preset.url, unsigned=preset.unsigned)
    return {
        "name": preset.name,
        "url": preset.url,
        "title": preset.title,
        "description": preset.description,
        "signed": not preset.unsigned,
        "refusal": config.policy.refusal(offered),
    }


def first_run_payload(config: Config) -> dict[str, Any]:
    """The offers for ``GET /host``: presets (site order) and the demo (None: site hides it)."""
    demo: dict[str, Any] | None = None
    if config.offer_demo_mirror:
        request = DemoRequest()
        demo = {
            "name": request.name,
            "url": demo_destination(config, request).as_uri(),
            "refusal": config.policy.refusal(demo_mirror_config(config, request)),
            "unavailable": demo_missing_tool(),
        }
    return {"presets": [preset_json(p, config) for p in config.mirror_presets], "demo": demo}


def preset_request(config: Config, name: str) -> MirrorRequest:
    """The mirror a preset adds, exactly as the site file describes it."""
    preset = next((p for p in config.mirror_presets if p.name == name), None)
    if preset is None:
        known = ", ".join(p.name for p in config.mirror_presets) or "none"
        raise ApiError(404, "not-found", f"no mirror preset '{name}' (offered: {known})")
    return MirrorRequest(
        preset.name,
        preset.url,
        unsigned=preset.unsigned,
        s3_endpoint=preset.s3_endpoint,
        view=preset.view,
    )


class DemoMirrorHandler(SpackCacheHandler):
    """``POST /demo-mirror`` → 202 with the task that builds, adds and trusts the demo mirror.

    A second request while one runs gets that task back; once the mirror is configured a new
    task finds nothing to do and ends at once.
    """

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        def check(session: Session) -> str:
            config = session.config
            if not config.offer_demo_mirror:
                raise ApiError(
                    403, "policy", "this site does not offer the demo mirror",
                    hint="ask your administrators for a mirror to use",
                )  # fmt: skip
            request = DemoRequest()
            if all(m.name != request.name for m in config.mirrors):  # the site may forbid it
                validate_new_mirror(config, demo_mirror_config(config, request))
            return str(demo_destination(config, request))

        dest = await self.state.core.run(check)
        tasks = self.state.tasks
        task = tasks.active(DEMO_KIND) or tasks.submit((), kernel=False, root=dest, kind=DEMO_KIND)
        base = self.settings.get("base_url", "/")
        self.set_header("Location", url_path_join(base, "spackcache", "api", "tasks", task.id))
        self.write_json(task.to_json(), status=202)
