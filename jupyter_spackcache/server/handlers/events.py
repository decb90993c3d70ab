"""``GET /events[?task=ID]``: task events as Server-Sent Events (the hub is :mod:`..events`)."""

from __future__ import annotations

import asyncio

import tornado.web
from jupyter_server.auth.decorator import authorized
from tornado.iostream import StreamClosedError

from ..events import StreamEvent, replay
from .base import SpackCacheHandler
from .tasks import task_or_404

#: seconds between keep-alive comments, so proxies do not close an idle stream
KEEPALIVE = 15.0


class EventsHandler(SpackCacheHandler):
    """``GET /events[?task=ID][&kind=K]``: an SSE stream; with ``task`` it ends when the task
    does; ``kind=changed`` follows only the changes made elsewhere (from now on, or after
    ``Last-Event-ID``)."""

    _kind: str | None = None

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        task_id = self.get_query_argument("task", None)
        self._kind = self.get_query_argument("kind", None)
        if task_id is not None:  # 404 for an unknown task, before streaming starts
            task_or_404(self.state.tasks.get(task_id), task_id)
        last = self.request.headers.get("Last-Event-ID")
        after = int(last) if last and last.isdigit() else None
        self.set_header("Content-Type", "text/event-stream")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")  # nginx in front of JupyterHub: do not buffer
        hub = self.state.events
        backlog, queue = hub.subscribe()
        try:
            if self._kind is not None and after is None:
                backlog = []  # past changes are already in what the client loaded
            for event in replay(backlog, task=task_id, after=after):
                if self._kind is not None and event.kind != self._kind:
                    continue
                if not await self._send(event) or (task_id and event.ends_task):
                    return
            if task_id and after is None:
                task = task_or_404(self.state.tasks.get(task_id), task_id)
                if task.state.finished:  # ended before the backlog we kept: GET /tasks has it
                    return
            await self._stream(queue, task_id)
        finally:
            hub.unsubscribe(queue)

    async def _stream(self, queue: asyncio.Queue[StreamEvent], task_id: str | None) -> None:
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), KEEPALIVE)
            except TimeoutError:
                if not await self._write(b": keep-alive\n\n"):
                    return
                continue
            if task_id is not None and event.task != task_id:
                continue
            if self._kind is not None and event.kind != self._kind:
                continue
            if not await self._send(event) or (task_id and event.ends_task):
                return

    async def _send(self, event: StreamEvent) -> bool:
        return await self._write(event.encode())

    async def _write(self, chunk: bytes) -> bool:
        try:
            self.write(chunk)
            await self.flush()
        except StreamClosedError:
            return False
        return True
