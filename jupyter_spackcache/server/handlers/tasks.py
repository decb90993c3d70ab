"""Installs as background tasks: ``POST /installs``, ``GET /tasks``, ``/tasks/{id}``."""

from __future__ import annotations

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join

from ..tasks.model import Task
from .base import ApiError, SpackCacheHandler, optional_bool
from .specs import int_argument, validated_specs


class InstallsHandler(SpackCacheHandler):
    """``POST /installs {specs, kernel}`` → 202, ``Location: .../tasks/{id}``."""

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        specs = validated_specs(body)
        kernel = optional_bool(body, "kernel")
        root = await self.state.core.run(lambda s: str(s.config.store_root))
        task = self.state.tasks.submit(specs, kernel=kernel, root=root)
        base = self.settings.get("base_url", "/")
        self.set_header("Location", url_path_join(base, "spackcache", "api", "tasks", task.id))
        self.write_json(task.to_json(), status=202)


class TasksHandler(SpackCacheHandler):
    """``GET /tasks?limit=``: recent tasks, newest first (without their logs)."""

    @tornado.web.authenticated
    @authorized
    def get(self) -> None:
        limit = int_argument(self.get_query_argument("limit", None), "limit", 50, high=1000)
        self.write_json([t.to_json(with_log=False) for t in self.state.tasks.recent(limit)])


def task_or_404(task: Task | None, task_id: str) -> Task:
    if task is None:
        raise ApiError(404, "not-found", f"no task '{task_id}'")
    return task


class TaskHandler(SpackCacheHandler):
    """``GET /tasks/{id}``: state, per-node stage and bytes, log, error; ``DELETE`` cancels."""

    @tornado.web.authenticated
    @authorized
    def get(self, task_id: str) -> None:
        self.write_json(task_or_404(self.state.tasks.get(task_id), task_id).to_json())

    @tornado.web.authenticated
    @authorized
    def delete(self, task_id: str) -> None:
        task = task_or_404(self.state.tasks.cancel(task_id), task_id)
        self.write_json(task.to_json(), status=202 if not task.state.finished else 200)
