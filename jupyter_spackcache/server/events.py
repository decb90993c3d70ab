"""Task events pushed to the panel as Server-Sent Events: smooth progress without polling.

Install threads publish; the hub hands each event to the event loop, keeps a short backlog
(so a client that subscribes late, or reconnects with ``Last-Event-ID``, misses nothing) and
fans it out to subscribers. ``GET /spackcache/api/events[?task=ID]`` is the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized
from tornado.iostream import StreamClosedError

from .handlers.base import SpackCacheHandler
from .handlers.tasks import task_or_404

#: seconds between keep-alive comments, so proxies do not close an idle stream
KEEPALIVE = 15.0


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One event: ``kind`` is "task" (a state change, with the task summary) or "progress"."""

    id: int
    kind: str
    task: str
    data: dict[str, Any]

    def encode(self) -> bytes:
        payload = json.dumps({"task": self.task, **self.data}, separators=(",", ":"))
        return f"id: {self.id}\nevent: {self.kind}\ndata: {payload}\n\n".encode()

    @property
    def ends_task(self) -> bool:
        return self.kind == "task" and self.data.get("state") not in {"queued", "running"}


class EventHub:
    """Thread-safe publish, loop-side fan-out to ``asyncio.Queue`` subscribers."""

    def __init__(self, loop: asyncio.AbstractEventLoop, backlog: int = 2000) -> None:
        self._loop = loop
        self._ids = itertools.count(1)
        self._id_lock = threading.Lock()
        self._backlog: deque[StreamEvent] = deque(maxlen=backlog)
        self._subscribers: set[asyncio.Queue[StreamEvent]] = set()

    def publish(self, kind: str, task: str, data: dict[str, Any]) -> None:
        """Callable from any thread; events keep their publish order."""
        with self._id_lock:
            event = StreamEvent(next(self._ids), kind, task, data)
            with contextlib.suppress(RuntimeError):  # a closed loop: the server is stopping
                self._loop.call_soon_threadsafe(self._fan_out, event)

    def _fan_out(self, event: StreamEvent) -> None:
        self._backlog.append(event)
        for queue in self._subscribers:
            queue.put_nowait(event)

    def subscribe(self) -> tuple[list[StreamEvent], asyncio.Queue[StreamEvent]]:
        """The backlog so far and a queue of every later event (call on the loop)."""
        queue: asyncio.Queue[StreamEvent] = asyncio.Queue()
        self._subscribers.add(queue)
        return list(self._backlog), queue

    def unsubscribe(self, queue: asyncio.Queue[StreamEvent]) -> None:
        self._subscribers.discard(queue)


def replay(
    backlog: Iterable[StreamEvent], *, task: str | None, after: int | None
) -> list[StreamEvent]:
    """Backlog events a (re)connecting client should get first."""
    return [
        e for e in backlog
        if (task is None or e.task == task) and (after is None or e.id > after)
    ]


class EventsHandler(SpackCacheHandler):
    """``GET /events[?task=ID][&kind=K]``: an SSE stream; with ``task`` it ends when the task
    does; ``kind=changed`` follows only the changes made elsewhere (from now on, or after
    ``Last-Event-ID``)."""

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
