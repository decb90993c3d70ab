"""``POST /installs/from-file``: install a spack.lock / spack.yaml / notebook lock from the
Jupyter file tree (the file browser's "Install from spack.lock / spack.yaml").

The file is read through the server's contents manager, so the path is relative to the server
root and the manager's own rules (root confinement, hidden files) apply. It is parsed and checked
against the mirrors on the core thread *before* a task starts: a damaged file or a locked build
missing from every mirror is a one-line error and no task. The task then installs the locked
roots by their full DAG hash (``/<hash>``, which fixes the whole DAG) or the ``spack.yaml`` specs,
exactly as ``spackcache install --from`` does.
"""

from __future__ import annotations

from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import ensure_async, url_path_join

from ...ops.environments import EnvFile, env_resolutions, parse_env_text, task_specs
from ...session import Session
from .base import ApiError, SpackCacheHandler, optional_bool, require_str

#: the largest environment file read (a lock of thousands of nodes is a few MiB)
MAX_FILE_CHARS = 64 * 1024 * 1024


def checked_specs(session: Session, env: EnvFile) -> dict[str, Any]:
    """The task's specs and what to tell the user, once the mirrors proved they can do it."""
    wanted = env_resolutions(
        env,
        catalog=session.catalog,
        store=session.store,
        host=session.host,
        upstreams=session.upstreams,
    )
    return {"specs": task_specs(env, wanted), "exact": wanted.exact, "notes": wanted.notes}


class InstallFromFileHandler(SpackCacheHandler):
    """``POST /installs/from-file {path, kernel}`` → 202 with the task and ``file`` details."""

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        path = require_str(body, "path").lstrip("/")
        kernel = optional_bool(body, "kernel")
        text = await self._read(path)
        env = parse_env_text(text, path)
        checked = await self.state.core.run(lambda s: checked_specs(s, env))
        root = await self.state.core.run(lambda s: str(s.config.store_root))
        task = self.state.tasks.submit(checked["specs"], kernel=kernel, root=root)
        base = self.settings.get("base_url", "/")
        self.set_header("Location", url_path_join(base, "spackcache", "api", "tasks", task.id))
        about = {
            "path": path,
            "kind": env.kind,
            "exact": checked["exact"],
            "notes": checked["notes"],
        }
        self.write_json({**task.to_json(), "file": about}, status=202)

    async def _read(self, path: str) -> str:
        try:
            model = await ensure_async(
                self.contents_manager.get(path, content=True, type="file", format="text")  # type: ignore[no-untyped-call]
            )
        except tornado.web.HTTPError as exc:
            status = 404 if exc.status_code == 404 else 400
            reason = exc.log_message or exc.reason or "cannot be read"
            raise ApiError(
                status,
                "not-found" if status == 404 else "bad-request",
                f"cannot read '{path}': {reason}",
            ) from None
        content = model.get("content")
        if not isinstance(content, str):
            raise ApiError(400, "bad-request", f"'{path}' is not a text file")
        if len(content) > MAX_FILE_CHARS:
            raise ApiError(400, "bad-request", f"'{path}' is too large for an environment file")
        return content
